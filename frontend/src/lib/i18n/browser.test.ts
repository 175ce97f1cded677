import { describe, expect, it } from "vitest";
import { browserLanguage, isLanguage } from "./index.svelte";

describe("the browser's language", () => {
  it("is the first of ours among the browser's, by its language part", () => {
    expect(browserLanguage(["fr-CH", "de-CH", "en"])).toBe("fr");
    expect(browserLanguage(["rm-CH", "it_CH", "de"])).toBe("it");
    expect(browserLanguage(["EN-gb"])).toBe("en");
  });

  it("is German when the browser names none of ours", () => {
    expect(browserLanguage(["rm", "es-ES"])).toBe("de");
    expect(browserLanguage([])).toBe("de");
  });

  it("is never a name that only an object's prototype knows", () => {
    expect(isLanguage("toString")).toBe(false);
    expect(browserLanguage(["constructor"])).toBe("de");
  });
});
