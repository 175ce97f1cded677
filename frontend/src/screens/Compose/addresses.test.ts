import { describe, expect, it } from "vitest";
import { looksLikeTyped, splitNamed } from "./addresses";

describe("a typed address may carry a name", () => {
  it("reads the name before the address", () => {
    expect(splitNamed("Urs Brunner <urs@example.ch>")).toEqual({ name: "Urs Brunner", email: "urs@example.ch" });
    expect(splitNamed('"Brunner, Urs" <urs@example.ch> ')).toEqual({ name: "Brunner, Urs", email: "urs@example.ch" });
  });

  it("leaves a bare address without a name", () => {
    expect(splitNamed(" urs@example.ch ")).toEqual({ name: "", email: "urs@example.ch" });
  });

  it("checks the address part", () => {
    expect(looksLikeTyped("Urs Brunner <urs@example.ch>")).toBe(true);
    expect(looksLikeTyped("Urs Brunner <urs>")).toBe(false);
    expect(looksLikeTyped("Urs Brunner")).toBe(false);
  });
});
