/** Words for the import screens: kinds of records, statuses, the fields a column can fill. */
import type { ImportStatus, RecordKind } from "../../lib/api";
import { t, type Key } from "../../lib/i18n/index.svelte";

export function kindName(kind: RecordKind): string {
  return t(`imports.kind.${kind}`);
}

export function statusName(status: ImportStatus): string {
  return t(`imports.status.${status}`);
}

/** Checking or importing: the job moves by itself, worth asking again. */
export function running(status: ImportStatus): boolean {
  return status === "checking" || status === "importing";
}

const FIELDS = new Set([
  "external_id", "name", "number", "street", "postal_code", "city", "phone", "email", "language",
  "active", "client", "building", "salutation", "first_name", "last_name", "function", "title",
  "description", "status", "buildings", "start_date", "end_date", "remarks", "responsible",
]);

/** A field's name for people; one this version does not know is shown as the API names it. */
export function fieldName(field: string): string {
  return FIELDS.has(field) ? t(`importField.${field}` as Key) : field;
}
