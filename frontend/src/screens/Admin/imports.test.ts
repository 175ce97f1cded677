import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setLocale } from "../../lib/i18n/index.svelte";
import { rowReason } from "./imports";

describe("a refused import row", () => {
  beforeAll(() => setLocale("fr"));
  afterAll(() => setLocale("de"));

  it("is worded from its reason, the field named as the columns are", () => {
    const error = {
      reason: "required_empty",
      params: { label: "Client", kind: "client", field: "name", words: "name" },
      message: "Client needs name: it is empty.",
    };
    expect(rowReason(error)).toBe("« Nom » est vide.");
  });

  it("with an address the server refused, in that problem's words", () => {
    const error = { reason: "email_address_invalid", params: { email: "info at rossi" }, message: "x" };
    expect(rowReason(error)).toBe("« info at rossi » n’est pas une adresse e-mail valable.");
  });

  it("keeps the server's message for a reason this version does not know", () => {
    expect(rowReason({ reason: "newer_reason", params: {}, message: "Something new." })).toBe("Something new.");
  });
});
