import type { de } from "./de";

/** Every catalogue has exactly the German catalogue's keys (checked by svelte-check). */
export type Key = keyof typeof de;
export type Catalogue = Record<Key, string>;
