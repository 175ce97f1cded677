/** A quick check before asking the server, which has the final word on addresses. */
export function looksLikeAddress(text: string): boolean {
  return /^[^\s@<>",;]+@[^\s@<>",;]+\.[^\s@<>",;]{2,}$/.test(text);
}
