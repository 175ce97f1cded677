/** A quick check before asking the server, which has the final word on addresses. */
export function looksLikeAddress(text: string): boolean {
  return /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]{2,}$/.test(text);
}

/** A typed address with the name to show ("Urs Brunner <urs@example.ch>"), as the server's
 * core/addresses.py `split_named` reads it; a bare address has no name. */
export function splitNamed(text: string): { name: string; email: string } {
  const found = /^\s*(?:"([^"]*)"|([^<>"]*?))\s*<([^<>]*)>\s*$/.exec(text);
  if (!found) return { name: "", email: text.trim() };
  return { name: (found[1] ?? found[2] ?? "").trim(), email: (found[3] ?? "").trim() };
}

/** A typed address (with or without a name) worth asking the server about. */
export function looksLikeTyped(text: string): boolean {
  return looksLikeAddress(splitNamed(text).email);
}
