"""Events about emails: what the mail room records on an email (queued, what the relay said,
the delivery reports and read receipts that came back) becomes `email.*` events, and a work
report the relay accepted also `work_report.sent`.

The mail room calls `emit_email_events` with the delivery events it just wrote, in the same
transaction. The data comes from the email as archived: its order, kind, subject, the
recipient's address and status; never the message's text, never internal notes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from organisatrice.events.outbox import NewEvent, subscribers, write
from organisatrice.events.schemas import EmailEventData, EventType
from organisatrice.mail.tables import EmailRecipient, SentEmail
from organisatrice.orders.tables import Order

# (email id, at, event, recipient address or "", detail): a delivery event as the mail room
# writes it.
RecordedEvent = tuple[int, datetime, str, str, str]

_TYPES: dict[str, EventType] = {
    "queued": EventType.EMAIL_QUEUED,
    "sent": EventType.EMAIL_SENT,
    # The relay's temporary refusal and a report that delivery is delayed are the same news.
    "deferred": EventType.EMAIL_DELAYED,
    "delayed": EventType.EMAIL_DELAYED,
    "failed": EventType.EMAIL_FAILED,
    "delivered": EventType.EMAIL_DELIVERED,
    "bounced": EventType.EMAIL_BOUNCED,
    "read": EventType.EMAIL_READ,
}
WORK_REPORT_KIND = "work_report"

# The order's key in the company's own system: a column the order import adds.
_EXTERNAL_ID = getattr(Order, "external_id", None)


async def _external_ids(order_ids: list[int]) -> dict[int, str | None]:
    if _EXTERNAL_ID is None or not order_ids:
        return {}
    rows = await Order.select(Order.id, _EXTERNAL_ID).where(Order.id.is_in(order_ids))
    return {r["id"]: r["external_id"] for r in rows}


def _types_of(event: str, kind: str) -> list[EventType]:
    found = _TYPES.get(event)
    if found is None:
        return []
    if found is EventType.EMAIL_SENT and kind == WORK_REPORT_KIND:
        return [found, EventType.WORK_REPORT_SENT]
    return [found]


async def emit_email_events(recorded: Sequence[RecordedEvent]) -> None:
    """Queue the webhook events of delivery events just recorded, in the caller's transaction.
    Emails of companies without endpoints (the usual case) cost one query."""
    relevant = [r for r in recorded if r[2] in _TYPES]
    if not relevant:
        return
    email_ids = sorted({r[0] for r in relevant})
    found = await subscribers(
        SentEmail.select(SentEmail.company).where(SentEmail.id.is_in(email_ids))
    )
    if not found:
        return
    listening: dict[int, list[tuple[int, frozenset[str]]]] = defaultdict(list)
    for s in found:
        listening[s.company_id].append((s.endpoint_id, s.event_types))
    companies = list(listening)
    emails: dict[int, dict[str, Any]] = {
        r["id"]: r
        for r in await SentEmail.select(
            SentEmail.id,
            SentEmail.company,
            SentEmail.order,
            SentEmail.order_number,
            SentEmail.kind,
            SentEmail.subject,
            SentEmail.status,
        ).where(SentEmail.id.is_in(email_ids) & SentEmail.company.is_in(companies))
    }
    statuses = {
        (r["sent_email"], r["email"].lower()): r["status"]
        for r in await EmailRecipient.select(
            EmailRecipient.sent_email, EmailRecipient.email, EmailRecipient.status
        ).where(EmailRecipient.sent_email.is_in(list(emails)))
    }
    external_ids = await _external_ids(sorted({e["order"] for e in emails.values()}))
    events: list[NewEvent] = []
    for email_id, at, event, recipient, detail in relevant:
        email = emails.get(email_id)
        if email is None:
            continue
        data = EmailEventData(
            email_id=email_id,
            order_id=email["order"],
            order_number=email["order_number"],
            order_external_id=external_ids.get(email["order"]),
            kind=email["kind"],
            subject=email["subject"],
            recipient=recipient or None,
            status=statuses.get((email_id, recipient.lower()), email["status"]),
            detail=detail,
            at=at,
        )
        for event_type in _types_of(event, email["kind"]):
            events.append(
                NewEvent(
                    company_id=email["company"],
                    type=event_type.value,
                    data=data,
                    endpoint_ids=[
                        endpoint_id
                        for endpoint_id, types in listening[email["company"]]
                        if event_type.value in types
                    ],
                )
            )
    await write(events)
