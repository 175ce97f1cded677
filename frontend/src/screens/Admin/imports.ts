/** Words for the import screens: kinds of records, statuses, the fields a column can fill. */
import type { ImportStatus, RecordKind } from "../../lib/api";
import { t, type Key } from "../../lib/i18n/index.svelte";
import { isKey } from "../../lib/labels";

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

/** Why a row was refused, in the reader's language: from its reason and params (a field
 * worded as the columns are), or a problem code's words (an email address); the server's
 * English message only for a reason this version does not know. */
export function rowReason(error: { reason?: string; params?: Record<string, string>; message: string }): string {
  const params = { ...error.params };
  if (params.field) params.field = fieldName(params.field);
  const key = `rowReason.${error.reason ?? ""}`;
  if (isKey(key)) return t(key, params);
  const problem = `problem.${error.reason ?? ""}`;
  return isKey(problem) ? t(problem, params) : error.message;
}
