import { describe, expect, it } from "vitest";
import type { DraftAttachment } from "../../lib/api";
import { move, readPhotoSet, toggle, writePhotoSet } from "./photoSet";

const report: DraftAttachment = { kind: "work_report", filename: "Rapport 4711.pdf" };
const name = (id: number) => `Foto ${id}`;

describe("the photo set of a draft", () => {
  it("reads photos sent as images, in their order", () => {
    const set = readPhotoSet([
      report,
      { kind: "photo", filename: "Brenner.jpg", photo_ids: [5] },
      { kind: "photo", filename: "Kessel.jpg", photo_ids: [3] },
    ]);
    expect(set.mode).toBe("images");
    expect(set.ids).toEqual([5, 3]);
    expect(set.names.get(3)).toBe("Kessel.jpg");
  });

  it("reads one PDF of photos", () => {
    const set = readPhotoSet([{ kind: "photos_pdf", filename: "Fotos.pdf", photo_ids: [2, 1] }, report]);
    expect(set).toEqual({ mode: "pdf", ids: [2, 1], names: new Map([[0, "Fotos.pdf"]]) });
  });

  it("writes the photos after the other attachments", () => {
    const written = writePhotoSet([{ kind: "photo", filename: "a.jpg", photo_ids: [1] }, report], {
      mode: "images",
      ids: [2, 1],
      names: new Map([[1, "a.jpg"]]),
    }, name, "Fotos");
    expect(written).toEqual([
      report,
      { kind: "photo", filename: "Foto 2", photo_ids: [2] },
      { kind: "photo", filename: "a.jpg", photo_ids: [1] },
    ]);
  });

  it("writes one PDF, or nothing when no photo is chosen", () => {
    expect(writePhotoSet([report], { mode: "pdf", ids: [4, 2], names: new Map() }, name, "Fotos 4711")).toEqual([
      report,
      { kind: "photos_pdf", filename: "Fotos 4711", photo_ids: [4, 2] },
    ]);
    expect(writePhotoSet([report, { kind: "photos_pdf", filename: "x", photo_ids: [1] }], { mode: "pdf", ids: [], names: new Map() }, name, "x")).toEqual([report]);
  });

  it("moves and toggles photos within bounds", () => {
    expect(move([1, 2, 3], 2, -1)).toEqual([1, 3, 2]);
    expect(move([1, 2, 3], 0, -1)).toEqual([1, 2, 3]);
    expect(move([1, 2, 3], 0, 5)).toEqual([2, 3, 1]);
    expect(toggle([1, 2], 2)).toEqual([1]);
    expect(toggle([1], 3)).toEqual([1, 3]);
  });
});
