import { describe, expect, it } from "vitest";
import { isoDay, thisMonth } from "./dates";

describe("days", () => {
  it("are written as the API takes them", () => {
    expect(isoDay(new Date(2026, 0, 5))).toBe("2026-01-05");
  });

  it("this month runs from its first day to today, in the time zone asked", () => {
    const lateOnTheLast = new Date(Date.UTC(2026, 10, 30, 23, 30));
    expect(thisMonth(lateOnTheLast, "UTC")).toEqual({ from: "2026-11-01", to: "2026-11-30" });
    // Already 1 December in Zurich.
    expect(thisMonth(lateOnTheLast, "Europe/Zurich")).toEqual({ from: "2026-12-01", to: "2026-12-01" });
    expect(thisMonth(new Date(Date.UTC(2026, 0, 15, 12)), "Pacific/Auckland")).toEqual({
      from: "2026-01-01",
      to: "2026-01-16",
    });
  });
});
