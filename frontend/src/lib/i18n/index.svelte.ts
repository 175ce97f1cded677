/**
 * UI text from the catalogues, in the signed-in employee's language (before sign-in: the one
 * chosen on this device, else the browser's; German for any locale we have no catalogue for),
 * and numbers, dates and sizes in its format.
 *
 * German is built in (it is also the fallback); the others load when first needed, so a
 * tablet downloads only the language it shows.
 */
import type { Catalogue, Key } from "./catalogue";
import { de } from "./de";

export type { Key } from "./catalogue";

const loaders = {
  de: () => Promise.resolve(de),
  fr: () => import("./fr").then((m) => m.fr),
  it: () => import("./it").then((m) => m.it),
  en: () => import("./en").then((m) => m.en),
} satisfies Record<string, () => Promise<Catalogue>>;

export type Language = keyof typeof loaders;
export const LANGUAGES = Object.keys(loaders) as Language[];

const catalogues: Partial<Record<Language, Catalogue>> = { de };

/** Each language named in itself, whatever the screen speaks: a person finds their own in a
 * language they do not read (so these are no catalogue texts). */
export const OWN_NAMES: Record<Language, string> = {
  de: "Deutsch",
  fr: "Français",
  it: "Italiano",
  en: "English",
};

// Swiss formats for the national languages (1'234.5, 24.11.2026), British for English.
const INTL_LOCALES: Record<Language, string> = {
  de: "de-CH",
  fr: "fr-CH",
  it: "it-CH",
  en: "en-GB",
};

const state = $state<{ language: Language }>({ language: "de" });

export function isLanguage(value: string): value is Language {
  // Not `value in loaders`, which "toString" would pass.
  return (LANGUAGES as string[]).includes(value);
}

/** Follow an employee's locale ("fr", "fr-CH", "it_CH", …); unknown ones fall back to German.
 * Resolves once the catalogue is there; if it cannot be loaded, German stays. */
export async function setLocale(locale: string | null | undefined): Promise<void> {
  const code = (locale ?? "").slice(0, 2).toLowerCase();
  const language: Language = isLanguage(code) ? code : "de";
  try {
    catalogues[language] ??= await loaders[language]();
  } catch {
    return;
  }
  state.language = language;
  if (typeof document !== "undefined") document.documentElement.lang = language;
}

export function language(): Language {
  return state.language;
}

const DEVICE_KEY = "organisatrice.language";

/** The first of our languages among the browser's ("fr-CH" is French); German when none is. */
export function browserLanguage(preferred: readonly string[]): Language {
  for (const tag of preferred) {
    const code = tag.split(/[-_]/)[0]?.toLowerCase() ?? "";
    if (isLanguage(code)) return code;
  }
  return "de";
}

/** The language before sign-in: the one chosen on this device, else the browser's. */
export function deviceLanguage(): Language {
  let chosen: string | null = null;
  try {
    chosen = localStorage.getItem(DEVICE_KEY);
  } catch {
    // Storage switched off: the browser's language it is.
  }
  if (chosen && isLanguage(chosen)) return chosen;
  return browserLanguage(navigator.languages?.length ? navigator.languages : [navigator.language]);
}

/** The language chosen on the sign-in page: shown at once and kept on this device. */
export async function chooseDeviceLanguage(chosen: Language): Promise<void> {
  try {
    localStorage.setItem(DEVICE_KEY, chosen);
  } catch {
    // Storage switched off or full: the choice lasts until the page is left.
  }
  await setLocale(chosen);
}

/** The text for `key`, with `{name}` replaced by `vars.name`. A text with a singular and a
 * plural ("{count} E-Mail|{count} E-Mails") is chosen by a numeric `vars.count` by the
 * language's rules, and the count is written in its number format. */
export function t(key: Key, vars?: Record<string, string | number>): string {
  let text = catalogues[state.language]?.[key] ?? de[key];
  if (!vars) return text;
  const count = vars.count;
  if (typeof count === "number") {
    const [one = text, other = one] = text.split("|");
    text = new Intl.PluralRules(intl()).select(count) === "one" ? one : other;
    vars = { ...vars, count: formatNumber(count) };
  }
  const values = vars;
  return text.replace(/\{(\w+)\}/g, (whole, name: string) =>
    name in values ? String(values[name]) : whole,
  );
}

function intl(): string {
  return INTL_LOCALES[state.language];
}

export function formatNumber(value: number, maxDigits = 2): string {
  return new Intl.NumberFormat(intl(), { maximumFractionDigits: maxDigits }).format(value);
}

/** A date-only value ("2026-11-24") shown as a date, without time-zone shifting. */
export function formatDate(iso: string | null | undefined): string {
  if (!iso) return "";
  const [y, m, d] = iso.slice(0, 10).split("-").map(Number);
  if (!y || !m || !d) return iso;
  return new Intl.DateTimeFormat(intl(), { dateStyle: "medium", timeZone: "UTC" }).format(
    new Date(Date.UTC(y, m - 1, d)),
  );
}

export function formatDateTime(iso: string | null | undefined, timeZone?: string): string {
  if (!iso) return "";
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return iso;
  return new Intl.DateTimeFormat(intl(), {
    dateStyle: "medium",
    timeStyle: "short",
    timeZone: timeZone || undefined,
  }).format(date);
}

/** The day and the time of a moment, apart (for narrow columns). */
export function formatDayAndTime(iso: string, timeZone?: string): { day: string; time: string } {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return { day: iso, time: "" };
  const zone = timeZone || undefined;
  return {
    day: new Intl.DateTimeFormat(intl(), { dateStyle: "medium", timeZone: zone }).format(date),
    time: new Intl.DateTimeFormat(intl(), { timeStyle: "short", timeZone: zone }).format(date),
  };
}

export function formatTime(date: Date): string {
  return new Intl.DateTimeFormat(intl(), { timeStyle: "short" }).format(date);
}

/** Bytes as a person reads them: 830 B, 12.4 kB, 3.2 MB (decimal units, as mail clients). */
export function formatBytes(bytes: number): string {
  if (bytes < 1000) return `${formatNumber(bytes, 0)} B`;
  if (bytes < 1_000_000) return `${formatNumber(bytes / 1000, 1)} kB`;
  return `${formatNumber(bytes / 1_000_000, 1)} MB`;
}
