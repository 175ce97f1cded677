/**
 * The photos of a draft, as the attachments carry them: one "photo" attachment per photo (sent
 * as images), or one "photos_pdf" attachment with every photo id (one PDF, a photo and its
 * caption per page). The other attachments (work report, documents) come first and stay as
 * they are.
 */
import type { DraftAttachment } from "../../lib/api";

export type PhotoMode = "images" | "pdf";

export function isPhotoAttachment(a: DraftAttachment): boolean {
  return a.kind === "photo" || a.kind === "photos_pdf";
}

export interface PhotoSet {
  mode: PhotoMode;
  /** Photo ids in the order they go out. */
  ids: number[];
  /** Images: each photo's file name; PDF: the one PDF's name under key 0. */
  names: Map<number, string>;
}

export function readPhotoSet(attachments: DraftAttachment[], fallback: PhotoMode = "images"): PhotoSet {
  const pdf = attachments.find((a) => a.kind === "photos_pdf");
  if (pdf) {
    return { mode: "pdf", ids: [...(pdf.photo_ids ?? [])], names: new Map([[0, pdf.filename]]) };
  }
  const photos = attachments.filter((a) => a.kind === "photo");
  const names = new Map<number, string>();
  const ids: number[] = [];
  for (const a of photos) {
    const id = a.photo_ids?.[0];
    if (id === undefined || names.has(id)) continue;
    ids.push(id);
    names.set(id, a.filename);
  }
  return { mode: photos.length ? "images" : fallback, ids, names };
}

/** The draft's attachments with the photo set written in after the others. */
export function writePhotoSet(
  attachments: DraftAttachment[],
  set: PhotoSet,
  defaultName: (id: number) => string,
  pdfName: string,
): DraftAttachment[] {
  const others = attachments.filter((a) => !isPhotoAttachment(a));
  if (set.ids.length === 0) return others;
  if (set.mode === "pdf") {
    return [...others, { kind: "photos_pdf", filename: set.names.get(0) || pdfName, photo_ids: [...set.ids] }];
  }
  return [
    ...others,
    ...set.ids.map((id) => ({
      kind: "photo" as const,
      filename: set.names.get(id) || defaultName(id),
      photo_ids: [id],
    })),
  ];
}

/** `ids` with the one at `index` moved by `by` places (kept inside the list). */
export function move(ids: number[], index: number, by: number): number[] {
  const target = Math.max(0, Math.min(ids.length - 1, index + by));
  if (target === index || index < 0 || index >= ids.length) return ids;
  const next = [...ids];
  const [id] = next.splice(index, 1);
  next.splice(target, 0, id as number);
  return next;
}

/** Add the photo if it is not chosen yet, else take it out. */
export function toggle(ids: number[], id: number): number[] {
  return ids.includes(id) ? ids.filter((x) => x !== id) : [...ids, id];
}
