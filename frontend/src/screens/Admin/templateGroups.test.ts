import { describe, expect, it } from "vitest";
import type { Template } from "../../lib/api";
import { groupTemplates } from "./templateGroups";

function template(id: number, kind: Template["kind"], language: string): Template {
  return {
    id,
    kind,
    language,
    name: `T${id}`,
    subject: "",
    greeting: "",
    motivation: "",
    closing: "",
    signature: "",
    attachment_filename: "",
    attachments: [],
    photos_as_pdf: false,
    read_receipt: false,
    roles: [],
    created_at: "2026-11-24T08:00:00Z",
    modified_at: "2026-11-24T08:00:00Z",
    last_used_at: null,
  };
}

// As the server lists them: by kind's name, then by name.
const templates = [
  template(1, "general", "fr"),
  template(2, "offer", "de"),
  template(3, "work_report", "en"),
  template(4, "work_report", "de"),
  template(5, "work_report", "de"),
];

function shape(groups: ReturnType<typeof groupTemplates>) {
  return groups.map((g) => [g.kind, g.count, g.languages.map((l) => [l.language, l.templates.map((x) => x.id)])]);
}

describe("the template list's groups", () => {
  it("puts the work report first, each kind's languages in the screens' order", () => {
    expect(shape(groupTemplates(templates, null, null))).toEqual([
      ["work_report", 3, [["de", [4, 5]], ["en", [3]]]],
      ["offer", 1, [["de", [2]]]],
      ["general", 1, [["fr", [1]]]],
    ]);
  });

  it("shows only what the filters let through", () => {
    expect(shape(groupTemplates(templates, "work_report", null))).toEqual([
      ["work_report", 3, [["de", [4, 5]], ["en", [3]]]],
    ]);
    expect(shape(groupTemplates(templates, null, "de"))).toEqual([
      ["work_report", 2, [["de", [4, 5]]]],
      ["offer", 1, [["de", [2]]]],
    ]);
    expect(groupTemplates(templates, "offer", "fr")).toEqual([]);
  });
});
