import { describe, expect, it } from "vitest";
import { blankOrder, endsBeforeStart, nextNumber, orderIn } from "./orderForm";

describe("the order form", () => {
  it("suggests the number after the newest", () => {
    expect(nextNumber("2026-0412")).toBe("2026-0413");
    expect(nextNumber("A-99")).toBe("A-100");
    expect(nextNumber("4711")).toBe("4712");
    expect(nextNumber("2026-0999")).toBe("2026-1000");
    expect(nextNumber("Auftrag")).toBe("");
    expect(nextNumber(null)).toBe("");
  });

  it("sends an empty date as no date and trims the number and title", () => {
    const form = { ...blankOrder(" 2026-1 "), title: " Boiler ", start_date: "2026-11-02" };
    expect(orderIn(form)).toEqual({
      number: "2026-1",
      title: "Boiler",
      status: "planned",
      start_date: "2026-11-02",
      end_date: null,
      description: "",
      remarks: "",
    });
  });

  it("sees an end before the start", () => {
    expect(endsBeforeStart({ start_date: "2026-11-02", end_date: "2026-11-01" })).toBe(true);
    expect(endsBeforeStart({ start_date: "2026-11-02", end_date: "2026-11-02" })).toBe(false);
    expect(endsBeforeStart({ start_date: "", end_date: "2026-11-01" })).toBe(false);
  });
});
