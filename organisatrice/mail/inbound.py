"""The inbound receiver: an SMTP server that takes delivery reports and read receipts sent to
the per-message return addresses (bounce+TOKEN@bounce-domain), and records what they say on
the email and recipient they are about; and clients' answers sent to an email's reply address
(reply+TOKEN@bounce-domain), kept on its order (mail/replies.py).

It accepts mail for known tokens only; every accepted report is kept whole. What cannot be
attributed (an unreadable report, an address the email was not sent to) is kept with the
reason for back-office and never guessed onto another recipient.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any

import msgspec
from aiosmtpd.controller import Controller

from organisatrice.core.blobs import blob_store
from organisatrice.core.bounded import Budget, OverBudget, run_bounded
from organisatrice.core.codes import HistoryCode
from organisatrice.core.db import transaction
from organisatrice.core.metrics import REPORTS_RECEIVED
from organisatrice.events.email import RecordedEvent, emit_email_events
from organisatrice.mail.chain import seal_trails
from organisatrice.mail.forwards import is_our_forward, wake_forwards
from organisatrice.mail.lines import line
from organisatrice.mail.outbox import overall_status
from organisatrice.mail.replies import (
    MAX_REPLY_BYTES,
    TooManyReplies,
    known_reply_token,
    record_reply,
    reply_token,
)
from organisatrice.mail.reports import RecipientReport, Report, parse_report
from organisatrice.mail.schemas import EmailStatus
from organisatrice.mail.state_log import log_email_state
from organisatrice.mail.tables import DeliveryEvent, EmailRecipient, InboundReport, SentEmail
from organisatrice.mail.tracking import known_probe, probe_returned

log = logging.getLogger("organisatrice.inbound")

TOKEN_ADDRESS = re.compile(r"^bounce\+([0-9a-f]{32})@", re.IGNORECASE)
MAX_REPORT_BYTES = 5 * 1024 * 1024
# What anyone who got an email can make the receiver keep and read: reports per email, and
# messages per SMTP connection. A real email has a few reports (delayed, delivered or bounced,
# read) per recipient.
MAX_REPORTS_PER_EMAIL = 20
MAX_MESSAGES_PER_CONNECTION = 20
# Reading one report (its MIME tree, the bounce heuristics) is bounded like a template.
PARSE_BUDGET = Budget(seconds=5, memory_mb=512)

# How far along a recipient is; a report never moves one back (a late "delayed" after
# "delivered" is history, not the state).
_RANK = {
    EmailStatus.QUEUED: 0,
    EmailStatus.SENDING: 1,
    EmailStatus.DEFERRED: 2,
    EmailStatus.FAILED: 3,
    EmailStatus.SENT: 3,
    # Until a final report: delivered, bounced or read.
    EmailStatus.DELAYED: 4,
    EmailStatus.DELIVERED: 5,
    EmailStatus.BOUNCED: 6,
    EmailStatus.READ: 7,
}
_EVENT_STATUS = {
    "delayed": EmailStatus.DELAYED,
    "delivered": EmailStatus.DELIVERED,
    "bounced": EmailStatus.BOUNCED,
    "read": EmailStatus.READ,
}


def token_of(address: str) -> str | None:
    found = TOKEN_ADDRESS.match(address.strip())
    return found.group(1).lower() if found else None


async def known_token(token: str) -> bool:
    """A recipient's token (VERP), an email's (emails archived before recipients had one), or
    a tracking probe's."""
    return bool(
        await EmailRecipient.exists().where(EmailRecipient.token == token)
        or await SentEmail.exists().where(SentEmail.token == token)
        or await known_probe(token)
    )


class _Addressee(msgspec.Struct, frozen=True):
    """What a report's token names: the email, and the recipient when the token is one's."""

    email_id: int
    company_id: int
    recipient: str | None


async def _addressee(token: str) -> _Addressee | None:
    bound = await EmailRecipient.select(
        EmailRecipient.sent_email, EmailRecipient.sent_email.company, EmailRecipient.email
    ).where(EmailRecipient.token == token)
    if bound:
        row = bound[0]
        return _Addressee(
            email_id=row["sent_email"],
            company_id=row["sent_email.company"],
            recipient=row["email"].lower(),
        )
    email = await SentEmail.select(SentEmail.id, SentEmail.company).where(SentEmail.token == token)
    if not email:
        return None
    return _Addressee(email_id=email[0]["id"], company_id=email[0]["company"], recipient=None)


_REPORT_LINES = {
    "delivered": HistoryCode.REPORT_DELIVERED,
    "delayed": HistoryCode.REPORT_DELAYED,
    "bounced": HistoryCode.REPORT_BOUNCED,
    "read": HistoryCode.REPORT_READ,
}


def _detail(report: RecipientReport) -> str:
    parts = [p for p in (report.status, report.diagnostic) if p]
    if report.remote_mta:
        parts.append(f"(reported by {report.remote_mta})")
    return " ".join(parts) or line(_REPORT_LINES[report.event])


class TooManyReports(Exception):
    """The email has all the reports it may have; more are refused, not kept."""


async def record_report(token: str, envelope_from: str, data: bytes) -> int:
    """Keep the report and record its events; answers the InboundReport id. A report that came
    back to a recipient's own return address changes only that recipient: anything it says of
    other addresses is kept for inspection and changes nothing."""
    addressee = await _addressee(token)
    if addressee is None:
        raise LookupError(token)
    email = {"id": addressee.email_id, "company": addressee.company_id}
    if await InboundReport.count().where(InboundReport.sent_email == email["id"]) >= (
        MAX_REPORTS_PER_EMAIL
    ):
        raise TooManyReports(email["id"])
    try:
        report = await run_bounded(PARSE_BUDGET, parse_report, data)
        unreadable = ""
    except OverBudget as over:
        report = Report(kind="unknown", recipients=[], original_message_id=None, envelope_id=None)
        unreadable = f"The report took too much {over.reason} to read; it changes nothing."
    ref, _ = await blob_store().put(data)
    problems: list[str] = [unreadable] if unreadable else []
    recorded: list[RecordedEvent] = []
    async with transaction():
        recipients = {
            r["email"].lower(): r
            for r in await EmailRecipient.select().where(EmailRecipient.sent_email == email["id"])
        }
        now = datetime.now(UTC)
        for item in report.recipients:
            known = recipients.get(item.email.lower())
            if known is None:
                problems.append(f"The report names {item.email}, not a recipient of this email.")
                continue
            if addressee.recipient is not None and item.email.lower() != addressee.recipient:
                problems.append(
                    f"The report names {item.email}, but came back to the return address of "
                    f"{addressee.recipient}: it changes nothing."
                )
                continue
            detail = _detail(item)
            await DeliveryEvent.insert(
                DeliveryEvent(
                    sent_email=email["id"],
                    at=now,
                    event=item.event,
                    recipient=known["email"],
                    detail=detail,
                )
            )
            recorded.append((email["id"], now, item.event, known["email"], detail))
            status = _EVENT_STATUS.get(item.event)
            current = EmailStatus(known["status"])
            if status is not None and _RANK[status] > _RANK[current]:
                await EmailRecipient.update(
                    {
                        EmailRecipient.status: status.value,
                        EmailRecipient.detail: detail,
                        EmailRecipient.updated_at: now,
                    }
                ).where(EmailRecipient.id == known["id"])
                known["status"] = status.value
        if not report.recipients and not unreadable:
            problems.append("The report could not be read as a delivery report or read receipt.")
        overall = overall_status([r["status"] for r in recipients.values()])
        await SentEmail.update({SentEmail.status: overall.value}).where(SentEmail.id == email["id"])
        await emit_email_events(recorded)
        await seal_trails([email["id"]])
        row = InboundReport(
            company=email["company"],
            sent_email=email["id"],
            envelope_from=envelope_from[:300],
            kind=report.kind,
            blob_sha256=ref.sha256,
            problem=" ".join(problems),
        )
        await row.save()
    REPORTS_RECEIVED.labels(report.kind).inc()
    log_email_state(email["id"], email["company"], overall)
    return int(row.id)


class _Receiver:
    """aiosmtpd handler; the database work runs on the app's own event loop."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def _on_app_loop(self, work: Coroutine[Any, Any, Any]) -> Any:
        return await asyncio.wrap_future(asyncio.run_coroutine_threadsafe(work, self.loop))

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        token = token_of(address)
        answer = reply_token(address)
        known = (
            await self._on_app_loop(known_token(token))
            if token is not None
            else answer is not None and await self._on_app_loop(known_reply_token(answer))
        )
        if not known:
            return "550 5.1.1 No such mailbox: this server takes reports and replies only"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        data: bytes = envelope.original_content or b""
        replies = [t for t in map(reply_token, envelope.rcpt_tos) if t is not None]
        if len(data) > MAX_REPORT_BYTES and len(replies) < len(envelope.rcpt_tos):
            return "552 5.3.4 Report too large"
        session.reports = getattr(session, "reports", 0) + 1
        if session.reports > MAX_MESSAGES_PER_CONNECTION:
            return "452 4.5.3 Too many reports on one connection; send the rest on another"
        if replies and is_our_forward(data):
            # Our own copy of an answer, sent back to the order (a mailbox rule, a redirect):
            # taking it would forward it again.
            return "550 5.7.1 This is a copy the app forwarded; it is not taken back"
        for answer in replies:
            try:
                reply_id = await self._on_app_loop(
                    record_reply(answer, envelope.mail_from or "", data)
                )
            except TooManyReplies:
                return "552 5.3.4 This email has had all the replies it may have"
            log.debug("reply %s recorded for token %s", reply_id, answer)
            self.loop.call_soon_threadsafe(wake_forwards)
        for address in envelope.rcpt_tos:
            token = token_of(address)
            if token is not None:
                if await self._on_app_loop(probe_returned(token)):
                    log.info("tracking probe %s came back", token)
                    continue
                try:
                    report_id = await self._on_app_loop(
                        record_report(token, envelope.mail_from or "", data)
                    )
                except TooManyReports:
                    return "552 5.3.4 This email has had all the reports it may have"
                log.debug("report %s recorded for token %s", report_id, token)
        return "250 OK: recorded"


def start_inbound(host: str, port: int, loop: asyncio.AbstractEventLoop) -> Controller:
    """Start the receiver in its own thread; `loop` is where database work runs."""
    controller = Controller(
        _Receiver(loop), hostname=host, port=port, data_size_limit=MAX_REPLY_BYTES
    )
    controller.start()
    log.info("inbound report receiver on %s:%s", host, port)
    return controller
