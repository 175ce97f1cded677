import { describe, expect, it } from "vitest";
import type { Catalogue } from "./catalogue";
import { de } from "./de";
import { en } from "./en";
import { fr } from "./fr";
import { it as italian } from "./it";

const catalogues: Record<string, Catalogue> = { de, en, fr, it: italian };

/** The `{name}` parts a text fills in. */
function variables(text: string): string[] {
  return [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] ?? "").sort();
}

describe("the language catalogues", () => {
  const keys = Object.keys(de).sort();

  for (const [language, catalogue] of Object.entries(catalogues)) {
    it(`${language} has exactly the German keys`, () => {
      expect(Object.keys(catalogue).sort()).toEqual(keys);
    });

    it(`${language} fills in the same variables as German`, () => {
      for (const key of keys) {
        const text = catalogue[key as keyof Catalogue];
        expect(variables(text), `${language} ${key}`).toEqual(variables(de[key as keyof Catalogue]));
      }
    });

    it(`${language} has no empty text`, () => {
      for (const [key, text] of Object.entries(catalogue)) {
        expect(text.trim(), `${language} ${key}`).not.toBe("");
      }
    });
  }
});
