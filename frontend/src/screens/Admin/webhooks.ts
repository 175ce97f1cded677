/** Words for the webhook screens. */
import type { EventType, Webhook } from "../../lib/api";
import { t } from "../../lib/i18n/index.svelte";

const EVENT_KEYS = {
  "email.queued": "webhooks.event.queued",
  "email.sent": "webhooks.event.sent",
  "email.delivered": "webhooks.event.delivered",
  "email.delayed": "webhooks.event.delayed",
  "email.bounced": "webhooks.event.bounced",
  "email.read": "webhooks.event.read",
  "email.failed": "webhooks.event.failed",
  "work_report.sent": "webhooks.event.workReport",
} as const;

/** What an event type means, for people. */
export function eventMeaning(type: EventType): string {
  return t(EVENT_KEYS[type]);
}

/** Receiving events, switched off by someone, or paused by the system after failures. */
export function endpointState(endpoint: Webhook): "active" | "paused" | "off" {
  if (endpoint.paused_at) return "paused";
  return endpoint.active ? "active" : "off";
}
