/**
 * Data a screen loads from the API, with its loading and error state: the pattern every screen
 * repeats (load, show a skeleton, show the error with a retry, show the data), in one place.
 * `Loaded.svelte` shows it.
 */
import { describe } from "./errors";

export class Resource<T> {
  data: T | null = $state(null);
  error = $state("");
  loading = $state(false);
  readonly #fetch: () => Promise<T>;
  #request = 0;

  /** `fetch` is asked at once unless `start` is false; `load()` asks again (a retry). */
  constructor(fetch: () => Promise<T>, { start = true }: { start?: boolean } = {}) {
    this.#fetch = fetch;
    if (start) void this.load();
  }

  /** Ask again; only the latest answer counts. The data shown stays while it loads. */
  async load(): Promise<void> {
    const mine = ++this.#request;
    this.loading = true;
    this.error = "";
    try {
      const value = await this.#fetch();
      if (mine === this.#request) this.data = value;
    } catch (error) {
      if (mine === this.#request) this.error = describe(error);
    } finally {
      if (mine === this.#request) this.loading = false;
    }
  }
}
