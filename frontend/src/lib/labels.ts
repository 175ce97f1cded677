/** Names for the API's codes (kinds, statuses, events, roles) in the UI's language; an unknown
 * code is shown as it is rather than hidden. */
import { ARCHIVE_KINDS, EMAIL_STATUSES, ROLES, type ArchiveKind, type EmailStatus, type Role } from "./api";
import { isLanguage, t } from "./i18n/index.svelte";

export function kindLabel(kind: string): string {
  return (ARCHIVE_KINDS as readonly string[]).includes(kind) ? t(`kind.${kind as ArchiveKind}`) : kind;
}

export function statusLabel(status: string): string {
  return (EMAIL_STATUSES as readonly string[]).includes(status)
    ? t(`emailStatus.${status as EmailStatus}`)
    : status;
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

type IconKind = "work_report" | "photo_documentation" | "offer" | "general";

/** The icon for an email's kind (a proof looks like a general email). */
export function iconKind(kind: string): IconKind {
  return kind === "work_report" || kind === "photo_documentation" || kind === "offer" ? kind : "general";
}

/** "im Postausgang" → "Im Postausgang", for labels that stand alone (chips, headings). */
export function capitalize(text: string): string {
  return text.charAt(0).toLocaleUpperCase() + text.slice(1);
}
