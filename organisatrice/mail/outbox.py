"""The outbox: freezing an email for sending, and the bookkeeping of every attempt.

The queue lives in the database, so nothing is lost when the relay is down or the process
dies. A worker claims emails with a lease and commits `sending` before it talks SMTP; an
email still `sending` after its lease expired (the worker died) is sent again, with the same
bytes and Message-ID: a duplicate is better than a lost work report (RFC 5321, 6.1).
"""

from __future__ import annotations

import random
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from organisatrice.core.blobs import blob_store
from organisatrice.core.db import is_sqlite, transaction
from organisatrice.mail.chain import entry_hash, lock_head, move_head
from organisatrice.mail.schemas import (
    DeliveryEventOut,
    EmailDetailOut,
    EmailStatus,
    RecipientStateOut,
    SentEmailOut,
)
from organisatrice.mail.smtp import DeliveryResult, Refusal
from organisatrice.mail.tables import DeliveryEvent, EmailRecipient, SentEmail
from organisatrice.settings import get_settings

DEFAULT_DEADLINE = timedelta(hours=48)
FIRST_RETRY = timedelta(minutes=1)
MAX_RETRY = timedelta(hours=2)

# Recipient states that still wait for the relay.
WAITING = (EmailStatus.QUEUED.value, EmailStatus.DEFERRED.value)


class Frozen(msgspec.Struct, frozen=True, kw_only=True):
    """What the send path hands over: the exact bytes and the facts to archive with them."""

    company_id: int
    order_id: int
    order_number: str
    client_id: int
    author_id: int
    template_id: int | None
    template_name: str
    kind: str
    subject: str
    sender: str
    recipients: list[tuple[str, str, str]]  # (field: to/cc/bcc, email, name)
    recipients_json: str
    blocks_json: str
    attachments_json: str
    message_id: str
    data: bytes
    read_receipt: bool
    bounce_domain: str
    resend_of: int | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def envelope_sender(token: str, bounce_domain: str) -> str:
    """A per-message return address, so reports that come back name their email."""
    return f"bounce+{token}@{bounce_domain}"


async def freeze(email: Frozen) -> int:
    """Archive the email as queued. The bytes are on disk before the row that names them
    commits; call inside the caller's transaction so the whole send is one commit."""
    ref, _ = await blob_store().put(email.data)
    token = secrets.token_hex(16)
    now = _now()
    async with transaction():
        prev = await lock_head(email.company_id)
        row = SentEmail(
            company=email.company_id,
            order=email.order_id,
            order_number=email.order_number,
            client=email.client_id,
            recipient_list=" ".join(
                sorted({address.lower() for _, address, _ in email.recipients})
            ),
            author=email.author_id,
            template_id=email.template_id,
            template_name=email.template_name,
            kind=email.kind,
            subject=email.subject,
            sender=email.sender,
            recipients=email.recipients_json,
            blocks=email.blocks_json,
            attachments=email.attachments_json,
            message_id=email.message_id,
            blob_sha256=ref.sha256,
            size=ref.size,
            token=token,
            envelope_sender=envelope_sender(token, email.bounce_domain),
            read_receipt=email.read_receipt,
            resend_of=email.resend_of,
            status=EmailStatus.QUEUED.value,
            queued_at=now,
            next_attempt_at=now,
            deadline_at=now + DEFAULT_DEADLINE,
        )
        await row.save()
        email_id = int(row.id)
        stored = await SentEmail.select().where(SentEmail.id == email_id).first()
        assert stored is not None
        chained = entry_hash(prev, email_id, dict(stored))
        await SentEmail.update({SentEmail.chain_prev: prev, SentEmail.chain_hash: chained}).where(
            SentEmail.id == email_id
        )
        await move_head(email.company_id, chained)
        unique: dict[str, tuple[str, str]] = {}
        for field, address, name in email.recipients:
            unique.setdefault(address.lower(), (field, name))
        await EmailRecipient.insert(
            *[
                EmailRecipient(
                    sent_email=email_id,
                    email=address,
                    name=name,
                    field=field,
                    status=EmailStatus.QUEUED.value,
                )
                for address, (field, name) in unique.items()
            ]
        )
        await _event(email_id, EmailStatus.QUEUED.value, "", "Queued for sending.")
    return email_id


async def _event(email_id: int, event: str, recipient: str, detail: str) -> None:
    await DeliveryEvent.insert(
        DeliveryEvent(
            sent_email=email_id, at=_now(), event=event, recipient=recipient, detail=detail
        )
    )


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    company_id: int
    blob_sha256: str
    envelope_sender: str
    token: str
    recipients: list[str]
    attempts: int
    interrupted: bool


# The rows due: waiting and due now, or `sending` under a lease that expired (a dead worker).
# Written out in each statement, with every value a bound parameter.
_DUE_SQLITE = (
    "SELECT id, status FROM sent_email "
    "WHERE (status IN ('queued', 'deferred') AND next_attempt_at <= {}) "
    "OR (status = 'sending' AND lease_until < {}) "
    "ORDER BY next_attempt_at, id LIMIT {}"
)
_TAKE_SQLITE = (
    "UPDATE sent_email SET status = 'sending', lease_until = {}, lease_owner = {}, "
    "attempts = attempts + 1 WHERE id = {} AND ("
    "(status IN ('queued', 'deferred') AND next_attempt_at <= {}) "
    "OR (status = 'sending' AND lease_until < {})) RETURNING id"
)
_TAKE_POSTGRES = (
    "WITH due AS (SELECT id, status FROM sent_email "
    "WHERE (status IN ('queued', 'deferred') AND next_attempt_at <= {}) "
    "OR (status = 'sending' AND lease_until < {}) "
    "ORDER BY next_attempt_at, id LIMIT {} FOR UPDATE SKIP LOCKED) "
    "UPDATE sent_email s SET status = 'sending', lease_until = {}, lease_owner = {}, "
    "attempts = s.attempts + 1 FROM due WHERE s.id = due.id RETURNING s.id, due.status"
)


async def claim(worker: str, *, limit: int) -> list[Claimed]:
    """Take up to `limit` emails due for sending; each is `sending` under this worker's lease
    when this returns (committed), and no other worker can take it while the lease holds."""
    now = _now()
    until = now + timedelta(seconds=get_settings().mail_lease_seconds)
    if is_sqlite():
        # SQLite has no row locks: a conditional UPDATE wins or loses each row atomically.
        candidates = await SentEmail.raw(_DUE_SQLITE, now, now, limit)
        taken: list[tuple[int, bool]] = []
        for c in candidates:
            won = await SentEmail.raw(_TAKE_SQLITE, until, worker, c["id"], now, now)
            if won:
                taken.append((c["id"], c["status"] == "sending"))
    else:
        rows = await SentEmail.raw(_TAKE_POSTGRES, now, now, limit, until, worker)
        taken = [(r["id"], r["status"] == "sending") for r in rows]
    return [await _claimed(email_id, interrupted) for email_id, interrupted in taken]


async def _claimed(email_id: int, interrupted: bool) -> Claimed:
    row = await SentEmail.select().where(SentEmail.id == email_id).first()
    assert row is not None
    waiting = await EmailRecipient.select(EmailRecipient.email).where(
        (EmailRecipient.sent_email == email_id) & EmailRecipient.status.is_in([*WAITING, "sending"])
    )
    if interrupted:
        await _event(
            email_id,
            "interrupted",
            "",
            "Interrupted attempt: the sending process stopped while talking to the relay. "
            "Sending again; the client may receive it twice.",
        )
    return Claimed(
        id=email_id,
        company_id=row["company"],
        blob_sha256=row["blob_sha256"],
        envelope_sender=row["envelope_sender"],
        token=row["token"],
        recipients=[w["email"] for w in waiting],
        attempts=row["attempts"],
        interrupted=interrupted,
    )


def backoff(attempts: int) -> timedelta:
    """Exponential with jitter: about 1, 2, 4 … minutes, capped at two hours."""
    base = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)
    jitter = 0.5 + random.random()  # noqa: S311 - spreading retries, not security
    return timedelta(seconds=base.total_seconds() * jitter)


async def record(claimed: Claimed, result: DeliveryResult) -> EmailStatus:
    """Write what the relay said, per recipient, and what happens next; answers the email's
    status."""
    now = _now()
    async with transaction():
        row = (
            await SentEmail.select(SentEmail.deadline_at).where(SentEmail.id == claimed.id).first()
        )
        past_deadline = row is not None and now >= row["deadline_at"]
        for address in claimed.recipients:
            refusal = result.whole or result.refused.get(address)
            if refusal is None:
                status, detail = EmailStatus.SENT, f"Accepted by the relay: {result.reply}".strip()
            elif refusal.temporary and not past_deadline:
                status, detail = EmailStatus.DEFERRED, refusal.text
            else:
                status, detail = EmailStatus.FAILED, refusal.text
                if refusal.temporary:
                    detail = f"Given up after {DEFAULT_DEADLINE.days * 24} hours: {refusal.text}"
            await EmailRecipient.update(
                {
                    EmailRecipient.status: status.value,
                    EmailRecipient.detail: detail,
                    EmailRecipient.updated_at: now,
                }
            ).where((EmailRecipient.sent_email == claimed.id) & (EmailRecipient.email == address))
            await _event(claimed.id, status.value, address, detail)
        overall = await _overall(claimed.id)
        values: dict[Any, Any] = {
            SentEmail.status: overall.value,
            SentEmail.lease_until: None,
            SentEmail.lease_owner: "",
        }
        if overall is EmailStatus.DEFERRED:
            values[SentEmail.next_attempt_at] = now + backoff(claimed.attempts)
        if result.accepted:
            values[SentEmail.sent_at] = now
        await SentEmail.update(values).where(SentEmail.id == claimed.id)
    return overall


async def release(claimed: Claimed, reason: str) -> None:
    """The relay could not be reached: everything waits for the next try."""
    await record(claimed, DeliveryResult(accepted=[], whole=Refusal(0, reason)))


_ORDER = [
    EmailStatus.BOUNCED,
    EmailStatus.FAILED,
    EmailStatus.SENDING,
    EmailStatus.DEFERRED,
    EmailStatus.QUEUED,
    EmailStatus.SENT,
    EmailStatus.DELIVERED,
    EmailStatus.READ,
]


def overall_status(recipient_states: list[str]) -> EmailStatus:
    """The email's status from its recipients': the one that needs attention first (a bounce
    or failure is flagged even when others arrived), else the least advanced."""
    states = {EmailStatus(s) for s in recipient_states}
    return next((s for s in _ORDER if s in states), EmailStatus.QUEUED)


async def _overall(email_id: int) -> EmailStatus:
    rows = await EmailRecipient.select(EmailRecipient.status).where(
        EmailRecipient.sent_email == email_id
    )
    return overall_status([r["status"] for r in rows])


async def email_state(email_id: int) -> SentEmailOut:
    row = await SentEmail.select().where(SentEmail.id == email_id).first()
    assert row is not None
    recipients = (
        await EmailRecipient.select()
        .where(EmailRecipient.sent_email == email_id)
        .order_by(EmailRecipient.id)
    )
    return SentEmailOut(
        id=row["id"],
        order_id=row["order"],
        subject=row["subject"],
        kind=row["kind"],
        status=EmailStatus(row["status"]),
        queued_at=row["queued_at"],
        sent_at=row["sent_at"],
        recipients=[
            RecipientStateOut(
                email=r["email"],
                name=r["name"],
                field=r["field"],
                status=EmailStatus(r["status"]),
                detail=r["detail"],
                updated_at=r["updated_at"],
            )
            for r in recipients
        ],
    )


async def email_detail(email_id: int) -> EmailDetailOut:
    state = await email_state(email_id)
    events = (
        await DeliveryEvent.select()
        .where(DeliveryEvent.sent_email == email_id)
        .order_by(DeliveryEvent.id)
    )
    return EmailDetailOut(
        **msgspec.structs.asdict(state),
        events=[
            DeliveryEventOut(
                at=e["at"], event=e["event"], recipient=e["recipient"], detail=e["detail"]
            )
            for e in events
        ],
    )


async def emails_of_order(company_id: int, order_id: int) -> list[SentEmailOut]:
    rows = (
        await SentEmail.select(SentEmail.id)
        .where((SentEmail.company == company_id) & (SentEmail.order == order_id))
        .order_by(SentEmail.id, ascending=False)
    )
    return [await email_state(r["id"]) for r in rows]


async def order_of_email(company_id: int, email_id: int) -> int | None:
    row = (
        await SentEmail.select(SentEmail.order)
        .where((SentEmail.company == company_id) & (SentEmail.id == email_id))
        .first()
    )
    return int(row["order"]) if row else None


class RecentSend(msgspec.Struct, frozen=True):
    recipient: str
    queued_at: datetime


class _Hash(msgspec.Struct):
    sha256: str


async def recent_sends_of(
    company_id: int, recipients: list[str], attachment_shas: set[str], since: datetime
) -> list[RecentSend]:
    """Emails since `since` that carried one of these attachments to one of these people, so
    nobody sends the same work report twice by accident."""
    if not attachment_shas or not recipients:
        return []
    wanted = {r.lower() for r in recipients}
    rows = await SentEmail.select(SentEmail.id, SentEmail.attachments, SentEmail.queued_at).where(
        (SentEmail.company == company_id) & (SentEmail.queued_at >= since)
    )
    found = []
    for row in rows:
        carried = {a.sha256 for a in msgspec.json.decode(row["attachments"], type=list[_Hash])}
        if not carried & attachment_shas:
            continue
        for r in await EmailRecipient.select(EmailRecipient.email).where(
            EmailRecipient.sent_email == row["id"]
        ):
            if r["email"].lower() in wanted:
                found.append(RecentSend(recipient=r["email"], queued_at=row["queued_at"]))
    return sorted(found, key=lambda f: f.queued_at, reverse=True)
