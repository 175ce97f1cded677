"""An order's communication history: its emails, its paper hand-overs, and the two flags the
office needs on the order: an email that failed or bounced, and the work report sent (the
basis of the invoice); and its conversation, everything said about it in one time line."""

from __future__ import annotations

from datetime import datetime, time
from typing import NamedTuple
from zoneinfo import ZoneInfo

from piccolo.query import Select
from piccolo.query.functions.aggregate import Max

from organisatrice.archive.entries import ATTENTION, notes_where
from organisatrice.archive.listing import ArchiveKind
from organisatrice.archive.schemas import (
    ConversationEntryOut,
    HandoverIn,
    HandoverOut,
    HistoryEmailOut,
    OrderHistoryOut,
    WorkReportSentOut,
    WorkReportStateOut,
)
from organisatrice.archive.tables import InternalNote, ManualHandover
from organisatrice.mail.replies import order_replies
from organisatrice.mail.schemas import EmailStatus
from organisatrice.mail.tables import EmailRecipient, SentEmail
from organisatrice.orders.services import visible_order, visible_orders
from organisatrice.orders.tables import Order
from organisatrice.roles.policy import Actor

# A work report counts for billing once the relay took it (it has a `sent_at`); a later bounce
# flags the order but does not undo that it went out. An address the relay refused at once is
# "bounced" too, but nothing went out.
BILLABLE = frozenset(
    {
        EmailStatus.SENT,
        EmailStatus.DELAYED,
        EmailStatus.DELIVERED,
        EmailStatus.READ,
        EmailStatus.BOUNCED,
    }
)


async def _handovers(actor: Actor, order_id: int) -> list[HandoverOut]:
    rows = (
        await ManualHandover.select(
            *ManualHandover.all_columns(exclude=[ManualHandover.author]),
            ManualHandover.author.first_name,
            ManualHandover.author.last_name,
        )
        .where(ManualHandover.order == order_id)
        .order_by(ManualHandover.handed_over_on, ascending=False)
    )
    return [
        HandoverOut(
            id=r["id"],
            kind=r["kind"],
            handed_over_on=r["handed_over_on"],
            note=r["note"],
            author=f"{r['author.first_name'] or ''} {r['author.last_name'] or ''}".strip(),
            recorded_at=r["recorded_at"].astimezone(ZoneInfo(actor.time_zone)),
        )
        for r in rows
    ]


class _Email(NamedTuple):
    out: HistoryEmailOut
    sent_at: datetime | None


async def _emails(actor: Actor, order_id: int) -> list[_Email]:
    """The order's emails, newest first, with when the relay took each."""
    rows = (
        await SentEmail.select(
            SentEmail.id,
            SentEmail.kind,
            SentEmail.subject,
            SentEmail.status,
            SentEmail.queued_at,
            SentEmail.sent_at,
            SentEmail.answers_reply,
            SentEmail.author.first_name,
            SentEmail.author.last_name,
        )
        .where((SentEmail.company == actor.company_id) & (SentEmail.order == order_id))
        .order_by(SentEmail.id, ascending=False)
    )
    zone = ZoneInfo(actor.time_zone)
    emails = []
    for r in rows:
        recipients = [
            x["email"]
            for x in await EmailRecipient.select(EmailRecipient.email)
            .where(EmailRecipient.sent_email == r["id"])
            .order_by(EmailRecipient.id)
        ]
        status = EmailStatus(r["status"])
        out = HistoryEmailOut(
            id=r["id"],
            kind=r["kind"],
            subject=r["subject"],
            status=status,
            needs_attention=status in ATTENTION,
            recipients=recipients,
            author=f"{r['author.first_name'] or ''} {r['author.last_name'] or ''}".strip(),
            queued_at=r["queued_at"].astimezone(zone),
            answers_reply=r["answers_reply"],
        )
        emails.append(_Email(out, r["sent_at"].astimezone(zone) if r["sent_at"] else None))
    return emails


async def order_history(actor: Actor, order_id: int) -> OrderHistoryOut:
    await visible_order(actor, order_id)
    emails = await _emails(actor, order_id)
    report: WorkReportSentOut | None = None
    for e in emails:
        went_out = e.out.status in BILLABLE and e.sent_at is not None
        if e.out.kind == "work_report" and went_out:
            report = WorkReportSentOut(
                at=e.sent_at or e.out.queued_at, recipients=e.out.recipients, email_id=e.out.id
            )
            break
    handovers = await _handovers(actor, order_id)
    return OrderHistoryOut(
        needs_attention=any(e.out.needs_attention for e in emails),
        work_report_sent=report,
        work_report_handed_over=next((h for h in handovers if h.kind == "work_report"), None),
        emails=[e.out for e in emails],
        handovers=handovers,
    )


async def conversation(actor: Actor, order_id: int) -> list[ConversationEntryOut]:
    """Everything said about the order, oldest first: the emails sent (proofs went to the
    sender only), the clients' replies, the paper hand-overs and the staff's internal notes
    on the emails. The notes are the company's own: only its employees read them here."""
    await visible_order(actor, order_id)
    emails = [e for e in await _emails(actor, order_id) if e.out.kind != ArchiveKind.PROOF]
    subjects = {e.out.id: e.out.subject for e in emails}
    zone = ZoneInfo(actor.time_zone)
    entries = [
        ConversationEntryOut(kind="email", at=e.sent_at or e.out.queued_at, email=e.out)
        for e in emails
    ]
    entries.extend(
        ConversationEntryOut(
            kind="reply",
            at=r.received_at,
            reply=r,
            about_email_id=r.email_id,
            about_subject=subjects.get(r.email_id, ""),
        )
        for r in await order_replies(actor, order_id)
    )
    entries.extend(
        ConversationEntryOut(kind="handover", at=_handed_over_at(h, zone), handover=h)
        for h in await _handovers(actor, order_id)
    )
    on_order = (InternalNote.sent_email.order == order_id) & (
        InternalNote.company == actor.company_id
    )
    entries.extend(
        ConversationEntryOut(
            kind="note",
            at=n.at,
            note=n,
            about_email_id=email_id,
            about_subject=subjects.get(email_id, ""),
        )
        for email_id, n in await notes_where(on_order, actor.time_zone)
    )
    return sorted(entries, key=lambda e: e.at)


def _handed_over_at(handover: HandoverOut, zone: ZoneInfo) -> datetime:
    """When a paper went: recorded that day, the moment it was recorded; recorded later, the
    start of the day it went, so it stands before what was written after it."""
    if handover.recorded_at.date() == handover.handed_over_on:
        return handover.recorded_at
    return datetime.combine(handover.handed_over_on, time.min, tzinfo=zone)


async def record_handover(actor: Actor, order_id: int, data: HandoverIn) -> HandoverOut:
    await visible_order(actor, order_id)
    row = ManualHandover(
        company=actor.company_id,
        order=order_id,
        author=actor.employee_id,
        kind=data.kind,
        handed_over_on=data.handed_over_on,
        note=data.note.strip(),
    )
    await row.save()
    return next(h for h in await _handovers(actor, order_id) if h.id == row.id)


# Orders in one question: a page of the order list.
MAX_ORDERS = 100


def work_report_states_query(actor: Actor, order_ids: list[int]) -> Select[SentEmail]:
    """The newest work report of each of the orders the actor may see: one statement, read
    through the index on the order (tests/integration/archive/test_query_plans.py)."""
    visible = Order.select(Order.id).where(visible_orders(actor) & Order.id.is_in(order_ids))
    newest = (
        SentEmail.select(Max(SentEmail.id))
        .where(
            (SentEmail.company == actor.company_id)
            & (SentEmail.kind == "work_report")
            & SentEmail.order.is_in(visible)
        )
        .group_by(SentEmail.order)
    )
    return SentEmail.select(SentEmail.order, SentEmail.status, SentEmail.queued_at).where(
        SentEmail.id.is_in(newest)
    )


async def work_report_states(actor: Actor, order_ids: list[int]) -> list[WorkReportStateOut]:
    """The state of each order's newest work report, for the order list's page; orders
    without one are left out."""
    rows = await work_report_states_query(actor, order_ids)
    zone = ZoneInfo(actor.time_zone)
    return [
        WorkReportStateOut(
            order_id=r["order"],
            status=EmailStatus(r["status"]),
            queued_at=r["queued_at"].astimezone(zone),
        )
        for r in sorted(rows, key=lambda r: order_ids.index(r["order"]))
    ]
