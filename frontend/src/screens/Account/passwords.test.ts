import { describe, expect, it } from "vitest";
import { newPasswordProblem } from "./passwords";

describe("newPasswordProblem", () => {
  it("accepts two equal passwords of ten characters or more", () => {
    expect(newPasswordProblem("0123456789", "0123456789", { final: true })).toEqual({ password: null, repeat: null });
  });

  it("says a password is too short once it is repeated, or on sending", () => {
    expect(newPasswordProblem("short", "", {}).password).toBeNull();
    expect(newPasswordProblem("short", "s", {}).password).toBe("account.tooShort");
    expect(newPasswordProblem("short", "", { final: true }).password).toBe("account.tooShort");
  });

  it("shows a mismatch before sending, but not while the repetition is being typed", () => {
    expect(newPasswordProblem("0123456789", "0123", {}).repeat).toBeNull();
    expect(newPasswordProblem("0123456789", "0124", {}).repeat).toBe("account.mismatch");
    expect(newPasswordProblem("0123456789", "01234567890", {}).repeat).toBe("account.mismatch");
    expect(newPasswordProblem("0123456789", "0123", { final: true }).repeat).toBe("account.mismatch");
  });
});
