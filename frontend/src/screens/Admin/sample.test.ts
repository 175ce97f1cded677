import { describe, expect, it } from "vitest";
import { samplePieces, unknownPlaceholders } from "./sample";

const examples = new Map([
  ["order.number", "2026-4711"],
  ["greeting", "Sehr geehrte Frau Meier,"],
]);

describe("the sample preview", () => {
  it("fills in known placeholders and marks unknown ones", () => {
    expect(samplePieces("Rapport {{ order.number }} / {{order.numbr}}", examples)).toEqual([
      { kind: "text", text: "Rapport " },
      { kind: "value", text: "2026-4711", name: "order.number" },
      { kind: "text", text: " / " },
      { kind: "unknown", text: "{{order.numbr}}", name: "order.numbr" },
    ]);
  });

  it("leaves filters and logic to the server", () => {
    expect(samplePieces("{% if x %}{{ order.number | upper }}{% endif %}", examples).map((p) => p.kind)).toEqual([
      "logic",
      "logic",
      "logic",
    ]);
  });

  it("lists each unknown placeholder once", () => {
    expect(unknownPlaceholders("{{ a.b }} {{ greeting }} {{ a.b }} {{ c }}", examples)).toEqual(["a.b", "c"]);
  });
});
