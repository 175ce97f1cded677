/**
 * Screens that load on demand: the archive and the back-office are their own chunks, fetched
 * the first time someone opens them, so the order screens a dispatcher needs load fast.
 */
import type { Component } from "svelte";
import { describe } from "./errors";

type AnyComponent = Component<any>;

export class LazyScreen {
  component: AnyComponent | null = $state(null);
  error = $state("");
  readonly #load: () => Promise<{ default: AnyComponent }>;
  #loading: Promise<void> | null = null;

  constructor(load: () => Promise<{ default: AnyComponent }>) {
    this.#load = load;
  }

  /** Fetch the screen's code once; a failure (offline) can be retried. */
  load(): Promise<void> {
    if (this.component) return Promise.resolve();
    this.#loading ??= this.#load().then(
      (module) => {
        this.component = module.default;
        this.error = "";
      },
      (error: unknown) => {
        this.error = describe(error);
        this.#loading = null;
      },
    );
    return this.#loading;
  }
}
