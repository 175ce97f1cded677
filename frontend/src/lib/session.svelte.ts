/** Who is signed in: loaded once from GET /api/me, cleared when the server says 401. */
import {
  ApiError,
  changeMyLocale,
  getMe,
  onSignedOut,
  signIn,
  signOut,
  signOutEverywhere,
  type Me,
} from "./api";
import { describe } from "./errors";
import { deviceLanguage, setLocale, type Language } from "./i18n/index.svelte";

export const session = $state<{ me: Me | null; checked: boolean; error: string }>({
  me: null,
  checked: false,
  error: "",
});

async function become(me: Me | null): Promise<void> {
  // The catalogue first, so the first screen already speaks the employee's language (signed
  // out: this device's).
  await setLocale(me ? me.locale : deviceLanguage());
  session.me = me;
}

onSignedOut(() => void become(null));

/** Ask the server who we are; a 401 just means "show the sign-in". */
export async function loadSession(): Promise<void> {
  session.error = "";
  try {
    await become(await getMe());
  } catch (error) {
    if (!(error instanceof ApiError) || error.status !== 401) {
      session.error = describe(error);
    }
    await become(null);
  } finally {
    session.checked = true;
  }
}

export async function startSession(email: string, password: string): Promise<void> {
  await become(await signIn(email, password));
}

export async function endSession(): Promise<void> {
  try {
    await signOut();
  } finally {
    await become(null);
  }
}

/** End every session of mine (this one too): back to the sign-in. */
export async function endEverywhere(): Promise<void> {
  await signOutEverywhere();
  await become(null);
}

/** My own language, kept on the server: every screen switches as soon as it answers. */
export async function changeMyLanguage(chosen: Language): Promise<void> {
  await become(await changeMyLocale(chosen));
}
