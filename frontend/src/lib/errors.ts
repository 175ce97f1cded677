import { ApiError, type Decision } from "./api";
import { formatNumber, t, type Key } from "./i18n/index.svelte";
import { isKey, roleLabel } from "./labels";

/** What the server says about a refusal: a stable code, the values its words fill in, the
 * field it blames, and its English words (for an API client; shown only for a code the
 * catalogues do not know). A policy decision has the same shape under other names. */
export interface Said {
  code?: string | null;
  params?: Record<string, string | number>;
  field?: string | null;
  detail: string;
}

// The labels the forms show for the fields the server names.
const FIELD_LABELS: Record<string, Key> = {
  subject: "draft.subject",
  greeting: "draft.greeting",
  motivation: "draft.motivation",
  closing: "draft.closing",
  signature: "draft.signature",
  attachment_filename: "templateEditor.filename",
  to: "draft.to",
  "recipients.to": "draft.to",
  "recipients.cc": "draft.cc",
  "recipients.bcc": "draft.bcc",
  attachments: "draft.attachments",
};

/** The label of a field the server names ("recipients.cc", "attachments[0].filename"), as the
 * form shows it; the name itself when no form shows it. */
export function fieldLabel(field: string): string {
  const key = FIELD_LABELS[field] ?? FIELD_LABELS[field.split(/[.[]/)[0] ?? ""];
  return key ? t(key) : field;
}

/** The params as the words show them: numbers in the reader's format (ids as they are), a
 * template's block by its label with its line, roles by their names. */
function shown(said: Said): Record<string, string | number> {
  const vars: Record<string, string | number> = {};
  for (const [name, value] of Object.entries(said.params ?? {})) {
    vars[name] = typeof value === "number" && name !== "id" && name !== "line" ? formatNumber(value) : value;
  }
  if (typeof vars.block === "string") {
    const block = fieldLabel(vars.block);
    vars.where = vars.line ? t("problem.inBlockAtLine", { block, line: vars.line }) : block;
  }
  if (typeof vars.roles === "string") vars.roles = vars.roles.split(",").map(roleLabel).join(" / ");
  vars.field = said.field ? fieldLabel(said.field) : "";
  return vars;
}

/** A refusal in the reader's language from its code; the server's words for a code the
 * catalogues do not know (a newer server). */
export function describeProblem(said: Said): string {
  const key = `problem.${said.code ?? ""}`;
  return said.code && isKey(key) ? t(key, shown(said)) : said.detail;
}

/** What to tell the person about a failure. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 0) return t("error.network");
    return error.problem ? describeProblem(error.problem) : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}

/** Why the policy says no (an order's `email` decision), in the reader's language. */
export function refusalReason(decision: Decision): string {
  return describeProblem({ code: decision.code, params: decision.params, detail: decision.reason });
}
