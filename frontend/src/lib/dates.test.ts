import { describe, expect, it } from "vitest";
import { isoDay, lastMonth } from "./dates";

describe("days", () => {
  it("are written as the API takes them", () => {
    expect(isoDay(new Date(2026, 0, 5))).toBe("2026-01-05");
  });

  it("last month runs from its first to its last day, across a year", () => {
    expect(lastMonth(new Date(2026, 10, 25))).toEqual({ from: "2026-10-01", to: "2026-10-31" });
    expect(lastMonth(new Date(2026, 0, 15))).toEqual({ from: "2025-12-01", to: "2025-12-31" });
    expect(lastMonth(new Date(2024, 2, 1))).toEqual({ from: "2024-02-01", to: "2024-02-29" });
  });
});
