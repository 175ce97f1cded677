/** Calendar days as the API takes them ("2026-11-24"). */

/** The day `date` is in the device's time zone. */
export function isoDay(date: Date): string {
  const y = date.getFullYear();
  const m = String(date.getMonth() + 1).padStart(2, "0");
  const d = String(date.getDate()).padStart(2, "0");
  return `${y}-${m}-${d}`;
}

/** The calendar day `now` is in `timeZone` (the device's when not given), as the API takes it. */
function dayIn(now: Date, timeZone?: string): string {
  const parts = new Intl.DateTimeFormat("en", {
    timeZone: timeZone || undefined,
    year: "numeric",
    month: "2-digit",
    day: "2-digit",
  }).formatToParts(now);
  const part = (type: string) => parts.find((p) => p.type === type)?.value ?? "";
  return `${part("year")}-${part("month")}-${part("day")}`;
}

/** This month so far, in `timeZone`: its first day and today. */
export function thisMonth(now: Date, timeZone?: string): { from: string; to: string } {
  const today = dayIn(now, timeZone);
  return { from: `${today.slice(0, 8)}01`, to: today };
}

/** Hand a downloaded file to the browser to save. */
export function saveFile(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
