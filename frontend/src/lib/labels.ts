/** Names for the API's codes (kinds, statuses, events, roles) in the UI's language; an unknown
 * code is shown as it is rather than hidden. */
import { ARCHIVE_KINDS, EMAIL_STATUSES, ROLES, type ArchiveKind, type EmailStatus, type Role } from "./api";
import { de } from "./i18n/de";
import { isLanguage, t, type Key } from "./i18n/index.svelte";

/** Whether the catalogues have `key` (German has every key). */
export function isKey(key: string): key is Key {
  return key in de;
}

export function kindLabel(kind: string): string {
  return (ARCHIVE_KINDS as readonly string[]).includes(kind) ? t(`kind.${kind as ArchiveKind}`) : kind;
}

export function statusLabel(status: string): string {
  return (EMAIL_STATUSES as readonly string[]).includes(status)
    ? t(`emailStatus.${status as EmailStatus}`)
    : status;
}

/** Whose contact it is: the client's, or that of one of the order's buildings (by its name,
 * else its address). */
export function contactSource(
  contact: { source: string; building_id?: number | null },
  buildings: { id: number; name: string; address: string }[],
): string {
  if (contact.source !== "building") return t("contacts.sourceClient");
  const building = buildings.find((b) => b.id === contact.building_id);
  return building ? t("contacts.sourceBuilding", { building: building.name || building.address }) : t("contacts.sourceBuildingUnnamed");
}

export function roleLabel(role: string): string {
  return (ROLES as readonly string[]).includes(role) ? t(`role.${role as Role}`) : role;
}

export function languageName(code: string): string {
  return isLanguage(code) ? t(`lang.${code}`) : code;
}

/** "Name <address>" or just the address. */
export function person(recipient: { email: string; name?: string }): string {
  return recipient.name ? `${recipient.name} <${recipient.email}>` : recipient.email;
}

type IconKind = "work_report" | "photo_documentation" | "offer" | "general" | "reply";

/** The icon for an email's kind (a proof looks like a general email). */
export function iconKind(kind: string): IconKind {
  return kind === "work_report" || kind === "photo_documentation" || kind === "offer" || kind === "reply"
    ? kind
    : "general";
}

/** "im Postausgang" → "Im Postausgang", for labels that stand alone (chips, headings). */
export function capitalize(text: string): string {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}

/** A line of an email's history (an event's or a recipient's detail): ours by its code in the
 * reader's language; a relay's or a report's own words as they came. */
export function historyLine(said: { code?: string | null; params?: Record<string, string>; detail: string }): string {
  const key = `history.${said.code ?? ""}`;
  if (!said.code || !isKey(key)) return said.detail;
  // What kept the relay out of reach comes as a relay-test code, worded as the test words it.
  const relay = said.params?.relay_code ? `relayCode.${said.params.relay_code}` : "";
  return t(key, isKey(relay) ? { ...said.params, relay_code: t(relay) } : said.params);
}
