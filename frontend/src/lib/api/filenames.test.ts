import { describe, expect, it } from "vitest";
import { filenameFromDisposition } from "./index";

describe("a download's file name", () => {
  it("comes from filename* (UTF-8) first", () => {
    const header = "attachment; filename*=UTF-8''Verrechnung%202026-10%20M%C3%BCller.csv";
    expect(filenameFromDisposition(header, "x.csv")).toBe("Verrechnung 2026-10 Müller.csv");
  });

  it("then from filename, else the fallback", () => {
    expect(filenameFromDisposition('attachment; filename="report.csv"', "x.csv")).toBe("report.csv");
    expect(filenameFromDisposition(null, "x.csv")).toBe("x.csv");
    expect(filenameFromDisposition("attachment", "x.csv")).toBe("x.csv");
  });
});
