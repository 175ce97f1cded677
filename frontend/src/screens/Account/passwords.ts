/** The checks a new password gets before it is sent (the server checks the same). */
import type { Key } from "../../lib/i18n/index.svelte";

/** The server's minimum (organisatrice/roles/credentials.py MIN_LENGTH). */
export const MIN_PASSWORD_LENGTH = 10;

/** What is wrong with `password` and its repetition, as a text key, or null when nothing is;
 * a repetition still being typed (shorter and a start of the password) is not yet a mismatch. */
export function newPasswordProblem(password: string, repeat: string, { final = false } = {}): {
  password: Key | null;
  repeat: Key | null;
} {
  const tooShort = password.length > 0 && password.length < MIN_PASSWORD_LENGTH;
  const typing = !final && repeat.length < password.length && password.startsWith(repeat);
  const mismatch = repeat.length > 0 && repeat !== password && !typing;
  return {
    password: tooShort && (final || repeat.length > 0) ? "account.tooShort" : null,
    repeat: mismatch || (final && repeat !== password) ? "account.mismatch" : null,
  };
}
