import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { setLocale } from "./i18n/index.svelte";
import { historyLine } from "./labels";

describe("an email's history lines", () => {
  beforeAll(() => setLocale("it"));
  afterAll(() => setLocale("de"));

  it("in our words are shown in the reader's language, the relay's reply as it came", () => {
    const line = {
      code: "relay_accepted",
      params: { reply: "250 2.0.0 Ok: queued as 4XyZ" },
      detail: "Accepted by the relay: 250 2.0.0 Ok: queued as 4XyZ",
    };
    expect(historyLine(line)).toBe("Accettata dal relay: 250 2.0.0 Ok: queued as 4XyZ");
    expect(historyLine({ code: "queued", params: {}, detail: "Queued for sending." })).toBe("In coda per l’invio.");
  });

  it("say why the relay was out of reach in the relay test's words", () => {
    const line = {
      code: "relay_unreached",
      params: { relay_code: "connection_refused" },
      detail: "The relay could not be reached (connection_refused); trying again later.",
    };
    expect(historyLine(line)).toBe(
      "Il relay non era raggiungibile, nuovo tentativo più tardi. Nulla risponde su questa porta.",
    );
  });

  it("not in our words are shown as they came", () => {
    expect(historyLine({ code: null, params: {}, detail: "5.1.1 User unknown" })).toBe("5.1.1 User unknown");
  });
});
