"""The outbox: freezing an email for sending, and the bookkeeping of every attempt.

The queue lives in the database, so nothing is lost when the relay is down or the process
dies. A worker claims emails with a lease and commits `sending` before it talks SMTP; an
email still `sending` after its lease expired (the worker died) is sent again, with the same
bytes and Message-ID: a duplicate is better than a lost work report (RFC 5321, 6.1).
"""

from __future__ import annotations

import random
import secrets
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from piccolo.querystring import QueryString

from organisatrice.core.blobs import blob_store
from organisatrice.core.codes import HistoryCode
from organisatrice.core.db import bound_list, is_sqlite, transaction
from organisatrice.core.metrics import OutboxState
from organisatrice.core.statements import Statement
from organisatrice.events.email import emit_email_events
from organisatrice.mail.chain import (
    CHAIN_VERSION,
    CHAINED,
    entry_hash,
    lock_head,
    move_head,
    seal_trails,
)
from organisatrice.mail.lines import line, read_line
from organisatrice.mail.relay import Relay
from organisatrice.mail.schemas import (
    DeliveryEventOut,
    EmailDetailOut,
    EmailStatus,
    RecipientStateOut,
    SentEmailOut,
)
from organisatrice.mail.smtp import DeliveryResult, Envelope, Refusal, RelayUnavailable
from organisatrice.mail.state_log import log_email_state
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
    # The email's own token (new_token()), taken before its bytes were built: they may name
    # it in the address for read receipts.
    token: str
    resend_of: int | None = None
    # The client's reply this email answers.
    answers_reply: int | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def new_token() -> str:
    """A token for an email or a recipient: what its tracking addresses carry."""
    return secrets.token_hex(16)


def envelope_sender(token: str, bounce_domain: str) -> str:
    """A return address of one email (or one recipient of it), so reports that come back name
    what they are about."""
    return f"bounce+{token}@{bounce_domain}"


def bounce_domain(relay: Relay, sender: str) -> str:
    """Where reports about the company's emails come back: the relay's bounce domain, else the
    sender's own domain."""
    return relay.bounce_domain or sender.rsplit("@", 1)[-1]


def tracking_address(token: str, relay: Relay, sender: str) -> str:
    """The email's own address on the bounce domain. Read receipts are asked for to it, so
    that they reach the receiver and mark the recipient they name (RFC 8098: not the
    employee's mailbox, where the app never sees them)."""
    return envelope_sender(token, bounce_domain(relay, sender))


def envelopes(email: Claimed, data: bytes) -> list[Envelope]:
    """The SMTP transactions that send `email`: one per recipient, each with the recipient's own
    return address, so a report can only speak of the recipient it came back for; the bytes
    are the same for all. Recipients archived without a token go together, as before."""
    domain = email.envelope_sender.rpartition("@")[2]
    tokens = email.recipient_tokens or [""] * len(email.recipients)
    shared = [a for a, t in zip(email.recipients, tokens, strict=True) if not t]
    made = [
        Envelope(
            sender=envelope_sender(token, domain),
            recipients=[address],
            data=data,
            envelope_id=token,
        )
        for address, token in zip(email.recipients, tokens, strict=True)
        if token
    ]
    if shared:
        made.append(
            Envelope(
                sender=email.envelope_sender, recipients=shared, data=data, envelope_id=email.token
            )
        )
    return made


def combined(results: list[tuple[list[str], DeliveryResult]]) -> DeliveryResult:
    """What the relay said about one email sent in several transactions (each to the listed
    recipients), per recipient: a refusal of a whole transaction is its recipients' refusal."""
    accepted: list[str] = []
    refused: dict[str, Refusal] = {}
    reply = ""
    for recipients, result in results:
        accepted.extend(result.accepted)
        refused.update(result.refused)
        if result.whole is not None:
            refused.update(dict.fromkeys(recipients, result.whole))
        reply = result.reply or reply
    return DeliveryResult(accepted=accepted, refused=refused, reply=reply)


_EMAIL = Statement(lambda email: SentEmail.select().where(SentEmail.id == email).first())
_HASHED = tuple(SentEmail._meta.get_column_by_name(name) for name in ("id", *CHAINED, "queued_at"))
_RECIPIENTS = Statement(
    lambda email: (
        EmailRecipient.select()
        .where(EmailRecipient.sent_email == email)
        .order_by(EmailRecipient.id)
    )
)


async def freeze(email: Frozen, *, within: Callable[[], Awaitable[None]] | None = None) -> int:
    """Archive the email as queued, in one transaction, which also runs `within` (the caller's
    checks and changes that must commit or fail with the email) after the company's chain head
    is locked, so that sends of one company pass it one at a time.

    The bytes are stored durably first, outside the transaction: they need no lock, and on
    SQLite the only write lock would wait for their fsync. The row that names them commits
    after them."""
    ref, _ = await blob_store().put(email.data)
    token = email.token
    async with transaction():
        prev = await lock_head(email.company_id)
        if within is not None:
            await within()
        now = _now()
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
            answers_reply=email.answers_reply,
            chain_version=CHAIN_VERSION,
            status=EmailStatus.QUEUED.value,
            queued_at=now,
            next_attempt_at=now,
            deadline_at=now + DEFAULT_DEADLINE,
        )
        # The chain hashes the facts as stored, which RETURNING gives without another read.
        stored = (await SentEmail.insert(row).returning(*_HASHED))[0]
        email_id = int(stored["id"])
        chained = entry_hash(prev, email_id, stored)
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
                    token=new_token(),
                )
                for address, (field, name) in unique.items()
            ]
        )
        await _event(email_id, EmailStatus.QUEUED.value, "", line(HistoryCode.QUEUED))
        await seal_trails([email_id], facts=True)
    log_email_state(email_id, email.company_id, EmailStatus.QUEUED)
    return email_id


async def _event(email_id: int, event: str, recipient: str, detail: str) -> None:
    at = _now()
    await DeliveryEvent.insert(
        DeliveryEvent(sent_email=email_id, at=at, event=event, recipient=recipient, detail=detail)
    )
    await emit_email_events([(email_id, at, event, recipient, detail)])


async def outbox_state() -> OutboxState:
    """How many emails wait to be handed to a relay, and since when the oldest (/metrics)."""
    waiting = SentEmail.status.is_in(["queued", "deferred", "sending"])
    depth = await SentEmail.count().where(waiting)
    oldest = (
        await SentEmail.select(SentEmail.queued_at)
        .where(waiting)
        .order_by(SentEmail.queued_at)
        .first()
    )
    return OutboxState(depth=depth, oldest=oldest["queued_at"] if oldest else None)


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    id: int
    company_id: int
    blob_sha256: str
    envelope_sender: str
    token: str
    recipients: list[str]
    # Each recipient's own token, in the order of `recipients` ("" on emails archived before
    # recipients had one: they go out with the email's return address, together).
    recipient_tokens: list[str] = []
    attempts: int
    interrupted: bool
    deadline_at: datetime | None = None
    size: int = 0


# The rows due: waiting and due now, or `sending` under a lease that expired (a dead worker),
# with what sending them needs. Written out in each statement, every value a bound parameter.
_DUE_SQLITE = (
    "SELECT id, status, company, blob_sha256, envelope_sender, token, attempts, deadline_at, "
    "size FROM sent_email "
    "WHERE (status IN ('queued', 'deferred') AND next_attempt_at <= {}) "
    "OR (status = 'sending' AND lease_until < {}) "
    "ORDER BY next_attempt_at, id LIMIT {}"
)
_TAKE_SQLITE = (
    "UPDATE sent_email SET status = 'sending', lease_until = {}, lease_owner = {}, "
    "attempts = attempts + 1 WHERE id IN ({})"
)
_TAKE_POSTGRES = (
    "WITH due AS (SELECT id, status, company, blob_sha256, envelope_sender, token, attempts, "
    "deadline_at, size FROM sent_email "
    "WHERE (status IN ('queued', 'deferred') AND next_attempt_at <= {}) "
    "OR (status = 'sending' AND lease_until < {}) "
    "ORDER BY next_attempt_at, id LIMIT {} FOR UPDATE SKIP LOCKED) "
    "UPDATE sent_email s SET status = 'sending', lease_until = {}, lease_owner = {}, "
    "attempts = s.attempts + 1 FROM due WHERE s.id = due.id "
    "RETURNING due.id, due.status, due.company, due.blob_sha256, due.envelope_sender, "
    "due.token, due.attempts, due.deadline_at, due.size"
)


def _instant(value: Any) -> datetime | None:
    # Raw SQL on SQLite answers timestamps as text.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if isinstance(value, datetime) and value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value if isinstance(value, datetime) else None


async def claim(worker: str, *, limit: int) -> list[Claimed]:
    """Take up to `limit` emails due for sending; each is `sending` under this worker's lease
    when this returns (committed), and no other worker can take it while the lease holds.

    One transaction and three statements for the whole batch: the due rows with what sending
    needs, taking them, their waiting recipients (and the events of interrupted attempts)."""
    now = _now()
    until = now + timedelta(seconds=get_settings().mail_lease_seconds)
    async with transaction():
        if is_sqlite():
            # SQLite has no row locks, but this IMMEDIATE transaction holds its only write lock:
            # no other worker changes these rows between the SELECT and the UPDATE.
            due = await SentEmail.raw(_DUE_SQLITE, now, now, limit)
            if due:
                await SentEmail.raw(_TAKE_SQLITE, until, worker, bound_list([r["id"] for r in due]))
        else:
            due = await SentEmail.raw(_TAKE_POSTGRES, now, now, limit, until, worker)
        if not due:
            return []
        return await _claimed(due)


async def _claimed(due: list[dict[str, Any]]) -> list[Claimed]:
    ids = [int(r["id"]) for r in due]
    waiting: dict[int, list[str]] = defaultdict(list)
    tokens: dict[int, list[str]] = defaultdict(list)
    for w in await EmailRecipient.raw(
        "SELECT sent_email, email, token FROM email_recipient WHERE sent_email IN ({}) "
        "AND status IN ('queued', 'deferred', 'sending') ORDER BY id",
        bound_list(ids),
    ):
        waiting[int(w["sent_email"])].append(w["email"])
        tokens[int(w["sent_email"])].append(w["token"] or "")
    now = _now()
    interrupted = [int(r["id"]) for r in due if r["status"] == "sending"]
    await _insert_events(
        [
            (email_id, now, "interrupted", "", line(HistoryCode.INTERRUPTED))
            for email_id in interrupted
        ]
    )
    await seal_trails(interrupted)
    return [
        Claimed(
            id=int(r["id"]),
            company_id=int(r["company"]),
            blob_sha256=r["blob_sha256"],
            envelope_sender=r["envelope_sender"],
            token=r["token"],
            recipients=waiting[int(r["id"])],
            recipient_tokens=tokens[int(r["id"])],
            # The row as it was before this claim counted one more attempt.
            attempts=int(r["attempts"]) + 1,
            interrupted=r["status"] == "sending",
            deadline_at=_instant(r["deadline_at"]),
            size=int(r["size"]),
        )
        for r in due
    ]


def backoff(attempts: int) -> timedelta:
    """Exponential with jitter: about 1, 2, 4 … minutes, capped at two hours."""
    base = min(FIRST_RETRY * 2 ** max(attempts - 1, 0), MAX_RETRY)
    jitter = 0.5 + random.random()  # noqa: S311 - spreading retries, not security
    return timedelta(seconds=base.total_seconds() * jitter)


def _outcome(address: str, result: DeliveryResult, past_deadline: bool) -> tuple[EmailStatus, str]:
    refusal = result.whole or result.refused.get(address)
    if refusal is None:
        return EmailStatus.SENT, line(HistoryCode.RELAY_ACCEPTED, reply=result.reply)
    hours = DEFAULT_DEADLINE.days * 24
    if refusal.temporary and not past_deadline:
        if refusal.unreached:
            return EmailStatus.DEFERRED, line(
                HistoryCode.RELAY_UNREACHED, relay_code=refusal.unreached
            )
        return EmailStatus.DEFERRED, line(HistoryCode.RELAY_DEFERRED, reply=refusal.text)
    if refusal.unreached:
        return EmailStatus.FAILED, line(
            HistoryCode.RELAY_GAVE_UP_UNREACHED, hours=hours, relay_code=refusal.unreached
        )
    if refusal.temporary:
        return EmailStatus.FAILED, line(HistoryCode.RELAY_GAVE_UP, hours=hours, reply=refusal.text)
    # Refused for good by the relay reads as what a bounce report says later: not delivered.
    return EmailStatus.BOUNCED, line(HistoryCode.RELAY_REFUSED, reply=refusal.text)


async def record(claimed: Claimed, result: DeliveryResult) -> EmailStatus:
    """Write what the relay said, per recipient, and what happens next; answers the email's
    status."""
    [status] = await record_all([(claimed, result)])
    return status


async def record_all(results: Sequence[tuple[Claimed, DeliveryResult]]) -> list[EmailStatus]:
    """`record` for a batch of emails in one transaction, with a few statements for the whole
    batch (the recipients' states, the events, the emails' statuses), not a few per email;
    answers each email's status, in order."""
    if not results:
        return []
    now = _now()
    ids = [claimed.id for claimed, _ in results]
    async with transaction():
        unknown = [claimed.id for claimed, _ in results if claimed.deadline_at is None]
        deadlines = {claimed.id: claimed.deadline_at for claimed, _ in results}
        if unknown:
            for r in await SentEmail.select(SentEmail.id, SentEmail.deadline_at).where(
                SentEmail.id.is_in(unknown)
            ):
                deadlines[r["id"]] = r["deadline_at"]
        # (email, address, status, detail) per recipient attempted, in order.
        outcomes: list[tuple[int, str, str, str]] = []
        for claimed, result in results:
            deadline = deadlines.get(claimed.id)
            past_deadline = deadline is not None and now >= deadline
            for address in claimed.recipients:
                status, detail = _outcome(address, result, past_deadline)
                outcomes.append((claimed.id, address, status.value, detail))
        if outcomes:
            await _set_recipients(outcomes, now)
            await _insert_events(
                [
                    (email_id, now, status, address, detail)
                    for email_id, address, status, detail in outcomes
                ]
            )
        states: dict[int, list[str]] = defaultdict(list)
        for r in await EmailRecipient.raw(
            "SELECT sent_email, status FROM email_recipient WHERE sent_email IN ({})",
            bound_list(ids),
        ):
            states[int(r["sent_email"])].append(r["status"])
        overall = {email_id: overall_status(states[email_id]) for email_id in ids}
        # Emails that end alike are updated together; a deferred one has its own retry time.
        alike: dict[tuple[str, bool], list[int]] = defaultdict(list)
        for claimed, result in results:
            status = overall[claimed.id]
            values: dict[Any, Any] = {
                SentEmail.status: status.value,
                SentEmail.lease_until: None,
                SentEmail.lease_owner: "",
            }
            if status is EmailStatus.DEFERRED:
                values[SentEmail.next_attempt_at] = now + backoff(claimed.attempts)
                if result.accepted:
                    values[SentEmail.sent_at] = now
                await SentEmail.update(values).where(SentEmail.id == claimed.id)
            else:
                alike[(status.value, bool(result.accepted))].append(claimed.id)
        for (status_value, accepted), group in alike.items():
            await SentEmail.raw(
                "UPDATE sent_email SET status = {}, lease_until = NULL, lease_owner = '', "
                "sent_at = CASE WHEN {} THEN {} ELSE sent_at END WHERE id IN ({})",
                status_value,
                accepted,
                now,
                bound_list(group),
            )
        await seal_trails(ids)
    return [overall[claimed.id] for claimed, _ in results]


async def _set_recipients(outcomes: list[tuple[int, str, str, str]], now: datetime) -> None:
    """Each attempted recipient's new state, in one statement (UPDATE … FROM VALUES; SQLite
    3.33+ and PostgreSQL name the columns of a VALUES list column1, column2, …)."""
    rows = QueryString(
        ", ".join("(CAST({} AS INTEGER), {}, {}, {})" for _ in outcomes),
        *[value for outcome in outcomes for value in outcome],
    )
    await EmailRecipient.raw(
        "UPDATE email_recipient SET status = v.column3, detail = v.column4, updated_at = {} "
        "FROM (VALUES {}) AS v "
        "WHERE email_recipient.sent_email = v.column1 AND email_recipient.email = v.column2",
        now,
        rows,
    )


async def _insert_events(events: list[tuple[int, datetime, str, str, str]]) -> None:
    """(email, at, event, recipient, detail) rows, in one statement, and their webhook events."""
    if events:
        await DeliveryEvent.raw(
            "INSERT INTO delivery_event (sent_email, at, event, recipient, detail) VALUES {}",
            QueryString(
                ", ".join("({}, {}, {}, {}, {})" for _ in events),
                *[value for event in events for value in event],
            ),
        )
        await emit_email_events(events)


async def release(claimed: Claimed, unavailable: RelayUnavailable) -> None:
    """The relay could not be reached: everything waits for the next try."""
    await record(claimed, unreachable(unavailable))


def unreachable(unavailable: RelayUnavailable) -> DeliveryResult:
    """What a relay that could not be reached said: nothing, to nobody; try again later."""
    return DeliveryResult(
        accepted=[], whole=Refusal(0, unavailable.text, unreached=unavailable.code)
    )


_ORDER = [
    EmailStatus.BOUNCED,
    EmailStatus.FAILED,
    EmailStatus.SENDING,
    EmailStatus.DEFERRED,
    EmailStatus.QUEUED,
    EmailStatus.DELAYED,
    EmailStatus.SENT,
    EmailStatus.DELIVERED,
    EmailStatus.READ,
]


def overall_status(recipient_states: list[str]) -> EmailStatus:
    """The email's status from its recipients': the one that needs attention first (a bounce
    or failure is flagged even when others arrived), else the least advanced."""
    states = {EmailStatus(s) for s in recipient_states}
    return next((s for s in _ORDER if s in states), EmailStatus.QUEUED)


async def email_state(email_id: int) -> SentEmailOut:
    row = await _EMAIL.first(email_id)
    assert row is not None
    recipients = await _RECIPIENTS.rows(email_id)
    contacts = _contacts_of(row["recipients"])
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
                **msgspec.structs.asdict(read_line(r["detail"])),
                updated_at=r["updated_at"],
                contact_id=contacts.get((r["field"], r["email"].lower())),
            )
            for r in recipients
        ],
    )


class _FrozenAddress(msgspec.Struct):
    email: str
    contact_id: int | None = None


class _FrozenRecipients(msgspec.Struct):
    to: list[_FrozenAddress] = []
    cc: list[_FrozenAddress] = []
    bcc: list[_FrozenAddress] = []


def _contacts_of(frozen: str) -> dict[tuple[str, str], int]:
    """(field, address) → contact id, from the recipients frozen at send time."""
    recipients = msgspec.json.decode(frozen, type=_FrozenRecipients)
    return {
        (field, address.email.lower()): address.contact_id
        for field, group in (("to", recipients.to), ("cc", recipients.cc), ("bcc", recipients.bcc))
        for address in group
        if address.contact_id is not None
    }


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
                at=e["at"],
                event=e["event"],
                recipient=e["recipient"],
                detail=e["detail"],
                **msgspec.structs.asdict(read_line(e["detail"])),
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
