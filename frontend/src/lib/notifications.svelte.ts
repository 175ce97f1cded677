/**
 * The failed or bounced emails waiting for someone (GET /api/notifications): the header's
 * count, asked again now and then and after a resend.
 */
import { listNotifications, type Notification } from "./api";

const REFRESH_MS = 60_000;

export const notices = $state<{ items: Notification[]; loaded: boolean }>({
  items: [],
  loaded: false,
});

/** Those nobody has fixed and sent again yet. */
export function openNotices(items: Notification[]): Notification[] {
  return items.filter((n) => n.resent_as === null);
}

let timer: ReturnType<typeof setTimeout> | undefined;
let running: Promise<void> | null = null;

export function refreshNotices(): Promise<void> {
  running ??= listNotifications()
    .then((items) => {
      notices.items = items;
      notices.loaded = true;
    })
    .catch(() => {
      // The count is a hint; the notifications screen shows errors.
    })
    .finally(() => {
      running = null;
    });
  return running;
}

/** Keep the count fresh while someone is signed in; returns the stop. */
export function watchNotices(): () => void {
  const tick = async () => {
    await refreshNotices();
    timer = setTimeout(tick, REFRESH_MS);
  };
  void tick();
  return () => clearTimeout(timer);
}

/** The email that fixed and resent `emailId`, when the notifications know of one. (The
 * archive and the order's emails do not say it; the notifications do, for their readers.) */
export function resentAs(emailId: number): number | null {
  return notices.items.find((n) => n.email_id === emailId)?.resent_as ?? null;
}
