/**
 * A form's refusal by the server: its message, shown at the field it blames (422 names it)
 * or above the form when it blames none the form has.
 */
import { tick } from "svelte";
import { ApiError } from "./api";
import { describe } from "./errors";

export class Refusal {
  message = $state("");
  field: string | undefined = $state(undefined);
  readonly #fields: readonly string[];
  readonly #aliases: Record<string, string>;
  readonly #idPrefix: string;

  /** `fields` are the server's names the form shows; `aliases` maps other server names to
   * them ("building_ids" → "buildings"); the blamed field's input has id `idPrefix + field`. */
  constructor(idPrefix: string, fields: readonly string[], aliases: Record<string, string> = {}) {
    this.#idPrefix = idPrefix;
    this.#fields = fields;
    this.#aliases = aliases;
  }

  /** Show `error`, at its field when the form has it (and move the focus there). */
  take(error: unknown): void {
    this.message = describe(error);
    const named = error instanceof ApiError ? error.field : undefined;
    const field = named ? (this.#aliases[named] ?? named.split(".")[0]) : undefined;
    this.field = field && this.#fields.includes(field) ? field : undefined;
    if (this.field) {
      const id = this.#idPrefix + this.field;
      void tick().then(() => document.getElementById(id)?.focus());
    }
  }

  clear(): void {
    this.message = "";
    this.field = undefined;
  }

  /** The message when it is about `field`, else "". */
  at(field: string): string {
    return this.field === field ? this.message : "";
  }

  /** The message when it is about no field of the form. */
  get general(): string {
    return this.field ? "" : this.message;
  }
}
