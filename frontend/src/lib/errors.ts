import { ApiError } from "./api";
import { t } from "./i18n/index.svelte";

/** What to tell the person about a failure: the server's own words when it gave some. */
export function describe(error: unknown): string {
  if (error instanceof ApiError) {
    return error.status === 0 ? t("error.network") : error.message;
  }
  return error instanceof Error ? error.message : String(error);
}
