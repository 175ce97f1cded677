/**
 * A template's text with the placeholders' example values filled in, as pieces, for the live
 * preview while typing. Only plain placeholders (`{{ order.number }}`) are filled; filters and
 * `{% … %}` logic are shown as written and left to the server, whose check on saving (and the
 * preview with a real order) has the last word.
 */

export type Piece =
  | { kind: "text"; text: string }
  | { kind: "value"; text: string; name: string }
  | { kind: "unknown"; text: string; name: string }
  | { kind: "logic"; text: string };

const TAG = /\{\{\s*([\s\S]*?)\s*\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/g;
const PATH = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;

export function samplePieces(source: string, examples: ReadonlyMap<string, string>): Piece[] {
  const pieces: Piece[] = [];
  let last = 0;
  for (const match of source.matchAll(TAG)) {
    const at = match.index ?? 0;
    if (at > last) pieces.push({ kind: "text", text: source.slice(last, at) });
    const expression = match[1];
    if (expression === undefined) {
      pieces.push({ kind: "logic", text: match[0] });
    } else if (PATH.test(expression)) {
      const example = examples.get(expression);
      pieces.push(
        example === undefined
          ? { kind: "unknown", text: match[0], name: expression }
          : { kind: "value", text: example, name: expression },
      );
    } else {
      pieces.push({ kind: "logic", text: match[0] });
    }
    last = at + match[0].length;
  }
  if (last < source.length) pieces.push({ kind: "text", text: source.slice(last) });
  return pieces;
}

/** The placeholders in `source` that no example knows: likely typos, shown before saving. */
export function unknownPlaceholders(source: string, examples: ReadonlyMap<string, string>): string[] {
  return [
    ...new Set(
      samplePieces(source, examples)
        .filter((p): p is Extract<Piece, { kind: "unknown" }> => p.kind === "unknown")
        .map((p) => p.name),
    ),
  ];
}
