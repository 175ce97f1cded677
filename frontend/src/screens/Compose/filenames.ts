/** "Work report 4711.pdf" → stem "Work report 4711", extension ".pdf". The extension is
 * fixed by the server (it follows the file's kind); only the stem is the person's. */
export function splitFilename(filename: string): { stem: string; extension: string } {
  const dot = filename.lastIndexOf(".");
  if (dot <= 0 || dot < filename.length - 6 || /\s/.test(filename.slice(dot))) {
    return { stem: filename, extension: "" };
  }
  return { stem: filename.slice(0, dot), extension: filename.slice(dot) };
}
