import { afterEach, describe, expect, it } from "vitest";
import { formatBytes, formatDate, formatDateTime, formatDayAndTime, formatNumber, setLocale, t } from "./index.svelte";

afterEach(async () => {
  await setLocale("de");
});

describe("sizes", () => {
  it("reads as a person says them, in decimal units", async () => {
    await setLocale("de");
    expect(formatBytes(830)).toBe("830 B");
    expect(formatBytes(12_400)).toBe("12.4 kB");
    expect(formatBytes(3_200_000)).toBe("3.2 MB");
    expect(formatBytes(999)).toBe("999 B");
    expect(formatBytes(1000)).toBe("1 kB");
  });

  it("follow the language's decimal sign", async () => {
    await setLocale("fr");
    expect(formatBytes(12_400)).toBe("12,4 kB");
    expect(formatNumber(2.5)).toBe("2,5");
  });
});

describe("dates", () => {
  it("shows a calendar day without shifting it by the time zone", async () => {
    await setLocale("de");
    expect(formatDate("2026-11-24")).toBe("24.11.2026");
    await setLocale("en");
    expect(formatDate("2026-11-24")).toBe("24 Nov 2026");
  });

  it("shows a moment in the employee's time zone", async () => {
    await setLocale("de");
    expect(formatDateTime("2026-11-24T09:05:00Z", "Europe/Zurich")).toBe("24.11.2026, 10:05");
    expect(formatDateTime("2026-07-01T09:05:00Z", "Europe/Zurich")).toBe("01.07.2026, 11:05");
  });

  it("splits a moment into its day and its time for narrow columns", async () => {
    await setLocale("de");
    expect(formatDayAndTime("2026-11-24T09:05:00Z", "Europe/Zurich")).toEqual({ day: "24.11.2026", time: "10:05" });
  });

  it("leaves out what is missing and keeps what it cannot read", () => {
    expect(formatDate(null)).toBe("");
    expect(formatDateTime(undefined)).toBe("");
    expect(formatDateTime("not a date")).toBe("not a date");
  });
});

describe("texts", () => {
  it("fill in their variables and fall back to German", async () => {
    await setLocale("it");
    expect(t("mail.shown", { count: 3 })).toBe("3 e-mail");
    await setLocale("xx");
    expect(t("mail.shown", { count: 3 })).toBe("3 E-Mails");
  });

  it("follow the employee's locale whatever its spelling", async () => {
    await setLocale("fr_CH");
    expect(t("templates.delete")).toBe("Supprimer");
  });
});

describe("counts", () => {
  it("say one email, not 1 emails, in every language", async () => {
    await setLocale("de");
    expect(t("mail.shown", { count: 1 })).toBe("1 E-Mail");
    expect(t("mail.shown", { count: 1234 })).toBe(`${formatNumber(1234)} E-Mails`);
    await setLocale("fr");
    expect(t("mail.shown", { count: 1 })).toBe("1 e-mail");
    expect(t("mail.shown", { count: 2 })).toBe("2 e-mails");
    await setLocale("it");
    expect(t("clients.count", { count: 1 })).toBe("1 cliente");
    expect(t("clients.count", { count: 3 })).toBe("3 clienti");
    await setLocale("en");
    expect(t("webhooks.attempts", { count: 1 })).toBe("1 delivery attempt");
    expect(t("webhooks.attempts", { count: 0 })).toBe("0 delivery attempts");
  });
});
