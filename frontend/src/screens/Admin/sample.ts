/**
 * The placeholders of a template's text that no example knows: likely typos, named while
 * typing. Only plain placeholders (`{{ order.number }}`) are looked at, and the names a loop
 * binds are not placeholders; the server fills in everything else for the sample preview and
 * has the last word on saving.
 */

const TAG = /\{\{\s*([\s\S]*?)\s*\}\}|\{%[\s\S]*?%\}|\{#[\s\S]*?#\}/g;
const PATH = /^[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)*$/;
const LOOP = /\{%-?\s*for\s+([\w\s,]+?)\s+in\s/g;

export function unknownPlaceholders(source: string, examples: ReadonlyMap<string, string>): string[] {
  const bound = new Set(["loop"]);
  for (const match of source.matchAll(LOOP)) {
    for (const name of (match[1] ?? "").split(",")) bound.add(name.trim());
  }
  const unknown = [...source.matchAll(TAG)]
    .map((match) => match[1])
    .filter((name): name is string => name !== undefined && PATH.test(name))
    .filter((name) => !examples.has(name) && !bound.has(name.split(".")[0] ?? ""));
  return [...new Set(unknown)];
}
