/**
 * A draft being edited: the local copy the fields bind to, and autosave.
 *
 * Every change marks its part (blocks, recipients, attachments) dirty; a pause in typing
 * sends one PATCH with just those parts and the version last read. One save runs at a time;
 * what changes meanwhile goes in the next. A 409 (changed on another device) stops saving
 * and asks the person to reload; a network failure retries by itself.
 */
import { ApiError, changeDraft, type Draft, type DraftPatch } from "../../lib/api";
import { describe } from "../../lib/errors";

type Part = "blocks" | "recipients" | "attachments";
export type SaveState = "saved" | "dirty" | "saving" | "error" | "offline" | "conflict";

const PAUSE_MS = 700;
const RETRY_MS = 5000;

export class DraftSession {
  draft: Draft = $state() as Draft;
  state: SaveState = $state("saved");
  error = $state("");
  savedAt: Date | null = $state(null);

  readonly #orderId: number;
  #version: number;
  #dirty = new Set<Part>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #running: Promise<void> | null = null;
  #closed = false;
  /** While a file name is being typed, the server's cleaned names wait (see holdNames). */
  #holdNames = false;
  #serverAttachments: Draft["attachments"] | null = null;

  constructor(orderId: number, draft: Draft) {
    this.#orderId = orderId;
    this.draft = draft;
    this.#version = draft.version;
  }

  get version(): number {
    return this.#version;
  }

  /** Something in `part` changed: save after a pause. */
  changed(part: Part): void {
    if (this.state === "conflict") return;
    this.#dirty.add(part);
    if (this.state !== "saving") this.state = "dirty";
    this.#schedule(PAUSE_MS);
  }

  #schedule(ms: number): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#timer = setTimeout(() => void this.flush(), ms);
  }

  /** Save now whatever is pending; true when everything is saved afterwards. */
  async flush(): Promise<boolean> {
    clearTimeout(this.#timer);
    while (this.#running) await this.#running;
    if (this.state === "conflict") return false;
    if (this.#dirty.size === 0) return this.state === "saved";
    this.#running = this.#save();
    try {
      await this.#running;
    } finally {
      this.#running = null;
    }
    if (this.#dirty.size && this.state === "dirty") return this.flush();
    return this.state === "saved";
  }

  async #save(): Promise<void> {
    const parts = [...this.#dirty];
    this.#dirty.clear();
    const patch: DraftPatch = { version: this.#version };
    const sent = $state.snapshot(this.draft);
    if (parts.includes("blocks")) patch.blocks = sent.blocks;
    if (parts.includes("recipients")) patch.recipients = sent.recipients;
    if (parts.includes("attachments")) patch.attachments = sent.attachments;
    this.state = "saving";
    try {
      const saved = await changeDraft(this.#orderId, this.draft.id, patch);
      this.#version = saved.version;
      this.draft.version = saved.version;
      this.draft.updated_at = saved.updated_at;
      // The server cleans addresses and file names; take its version of what we sent, unless
      // the person changed that part again in the meantime.
      if (parts.includes("recipients") && !this.#dirty.has("recipients")) {
        this.draft.recipients = saved.recipients;
      }
      // The server greets whoever is now in To, unless the greeting was written by hand.
      if (parts.includes("recipients") && !this.#dirty.has("blocks")) {
        this.draft.blocks.greeting = saved.blocks.greeting;
      }
      if (parts.includes("attachments") && !this.#dirty.has("attachments")) {
        if (this.#holdNames) this.#serverAttachments = saved.attachments;
        else this.draft.attachments = saved.attachments;
      }
      this.error = "";
      this.savedAt = new Date();
      this.state = this.#dirty.size ? "dirty" : "saved";
    } catch (e) {
      for (const part of parts) this.#dirty.add(part);
      if (e instanceof ApiError && e.status === 409) {
        this.state = "conflict";
        this.error = e.message;
        clearTimeout(this.#timer);
      } else if (e instanceof ApiError && e.status === 0) {
        this.state = "offline";
        this.error = describe(e);
        this.#schedule(RETRY_MS);
      } else {
        this.state = "error";
        this.error = describe(e);
      }
    }
  }

  /** A file name field has the focus: replacing its text now would fight the typing. */
  holdNames(hold: boolean): void {
    this.#holdNames = hold;
    if (!hold && this.#serverAttachments && !this.#dirty.has("attachments")) {
      this.draft.attachments = this.#serverAttachments;
    }
    if (!hold) this.#serverAttachments = null;
  }

  get pending(): boolean {
    return this.#dirty.size > 0 || this.#running !== null;
  }

  /** The screen goes away: save what is left, then stop. */
  close(): void {
    if (this.#dirty.size) void this.flush();
    this.#closed = true;
    clearTimeout(this.#timer);
  }
}
