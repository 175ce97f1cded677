"""Client replies on the order: the reply address of a sent email, and what the receiver does
with an answer that comes back to it.

Reply-To is reply+TOKEN@bounce-domain (the email's token, like its return path) when the
company wants replies on the order and its receiver is known to be reachable there (a tracking
probe came back); else the author's own address, as before. An answer is kept whole in the blob
store and read once, off the event loop with a budget: sender, subject, threading headers, the
text the client wrote apart from the quoted history (mail-parser-reply, in de/fr/it/en), the
attachments' names, whether it is an automatic answer (RFC 3834 and the usual out-of-office
marks), and the Authentication-Results the receiving MX wrote (never our own guess).
"""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import parseaddr
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import nh3
from mailparser_reply import EmailReplyParser
from piccolo.columns import Column

from organisatrice.core.blobs import blob_store
from organisatrice.core.bounded import Budget, OverBudget, run_bounded
from organisatrice.core.codes import Code
from organisatrice.core.errors import NotFound
from organisatrice.core.structs import Out
from organisatrice.mail.relay import Relay
from organisatrice.mail.tables import (
    ClientReply,
    EmailRecipient,
    SentEmail,
    TrackingCheck,
)
from organisatrice.orders.services import visible_order
from organisatrice.orders.tables import OrderResponsible
from organisatrice.roles.policy import Actor, Permission, Role, permissions

REPLY_ADDRESS = re.compile(r"^reply\+([0-9a-f]{32})@", re.IGNORECASE)
# Larger than a report: clients answer with photos and signed PDFs.
MAX_REPLY_BYTES = 25 * 1024 * 1024
# What anyone holding an email can make the receiver keep: answers per email.
MAX_REPLIES_PER_EMAIL = 50
READ_BUDGET = Budget(seconds=5, memory_mb=512)
# Kept of a reply's text: enough for any letter, not a book.
MAX_TEXT = 100_000
# Kept of its sanitised HTML: a long newsletter-styled answer, not a book either.
MAX_HTML = 500_000
# The methods whose results the UI shows, as the receiving MX recorded them (RFC 8601).
AUTH_METHODS = ("spf", "dkim", "dmarc")
# The verdicts RFC 8601 names for them; anything else is not shown.
AUTH_RESULTS = frozenset(
    ("pass", "fail", "softfail", "neutral", "none", "temperror", "permerror", "policy")
)
_AUTH_RESULT = re.compile(r"\b(spf|dkim|dmarc)\s*=\s*([a-z]+)", re.IGNORECASE)

_AUTOMATIC_SUBJECT = re.compile(
    r"^\s*(automatic reply|auto(matic)?[- ]?reply|out of (the )?office|abwesenheit|"
    r"automatische antwort|r[ée]ponse automatique|absence|risposta automatica|"
    r"fuori sede|assente)",
    re.IGNORECASE,
)


class ReplyAttachment(msgspec.Struct, frozen=True):
    filename: str
    content_type: str
    size: int


class AuthCheck(msgspec.Struct, frozen=True):
    """One method's verdict (spf, dkim, dmarc) as the receiving MX wrote it: pass, fail,
    softfail, neutral, none, temperror, permerror or policy."""

    method: str
    result: str


class ReadReply(msgspec.Struct, frozen=True, kw_only=True):
    """What one answer says, read from its bytes."""

    sender: str
    sender_name: str
    subject: str
    message_id: str
    in_reply_to: str
    text: str
    quoted: str
    attachments: list[ReplyAttachment]
    automatic: bool
    authentication: str
    # The HTML part, sanitised: no scripts, styles, frames or event handlers.
    html: str = ""


class ReplyOut(Out):
    id: int
    email_id: int
    order_id: int
    received_at: datetime
    sender: str
    sender_name: str
    subject: str
    text: str
    quoted: str
    attachments: list[ReplyAttachment]
    automatic: bool
    unknown_sender: bool
    authentication: str
    handled_at: datetime | None
    # SPF/DKIM/DMARC read from `authentication`; empty when the MX recorded none.
    checks: list[AuthCheck]
    # An HTML part to show (GetReplyHtml), in a sandboxed frame.
    has_html: bool
    # The copy to the author: "" (none: automatic, or the author wrote it), queued, sent, failed.
    forward_state: str


class TooManyReplies(Exception):
    """The email has had all the answers it may have."""


def reply_token(address: str) -> str | None:
    found = REPLY_ADDRESS.match(address.strip())
    return found.group(1).lower() if found else None


def reply_address(token: str, bounce_domain: str) -> str:
    return f"reply+{token}@{bounce_domain}"


async def replies_come_back(company_id: int, relay: Relay) -> bool:
    """Whether the company's answers go to the order: it wants them there, its relay names a
    bounce domain of its own (the sender's own domain has its own mailboxes), and a probe has
    come back through the receiver."""
    if not (relay.bounce_domain and relay.replies_to_order):
        return False
    check = (
        await TrackingCheck.select(TrackingCheck.verified_at)
        .where(TrackingCheck.company == company_id)
        .first()
    )
    return check is not None and check["verified_at"] is not None


async def known_reply_token(token: str) -> bool:
    return bool(await SentEmail.exists().where(SentEmail.token == token))


def read_reply(data: bytes) -> ReadReply:
    """Read an answer (in a bounded worker: its MIME tree is the sender's to make)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    name, address = parseaddr(str(message.get("From", "")))
    body = message.get_body(preferencelist=("plain", "html"))
    content = ""
    if body is not None:
        content = str(body.get_content())
        if body.get_content_type() == "text/html":
            content = nh3.clean(content, tags=set()).replace("&nbsp;", " ")
    content = content.replace("\r\n", "\n")[:MAX_TEXT]
    html_body = message.get_body(preferencelist=("html",))
    html = ""
    if html_body is not None and html_body.get_content_type() == "text/html":
        html = nh3.clean(str(html_body.get_content())[:MAX_HTML])
    written = EmailReplyParser(languages=["de", "fr", "it", "en"]).parse_reply(text=content)
    written = written.strip() if written else content.strip()
    quoted = content.strip()[len(written) :].strip() if content.strip().startswith(written) else ""
    attachments = [
        ReplyAttachment(
            filename=str(part.get_filename() or "attachment"),
            content_type=part.get_content_type(),
            size=len(part.get_payload(decode=True) or b""),
        )
        for part in message.iter_attachments()
    ]
    return ReadReply(
        sender=address.lower(),
        sender_name=name[:200],
        subject=str(message.get("Subject", ""))[:1000],
        message_id=str(message.get("Message-ID", "")).strip()[:300],
        in_reply_to=str(message.get("In-Reply-To", "")).strip()[:300],
        text=written,
        quoted=quoted,
        attachments=attachments,
        automatic=_automatic(message),
        authentication="\n".join(str(v) for v in message.get_all("Authentication-Results", [])),
        html=html,
    )


def auth_checks(authentication: str) -> list[AuthCheck]:
    """SPF, DKIM and DMARC as the topmost Authentication-Results says: the one the receiving MX
    added last. Those below it came with the message, and anyone can write them."""
    first = authentication.split("\n", 1)[0]
    found: dict[str, str] = {}
    for method, result in _AUTH_RESULT.findall(first):
        if result.lower() in AUTH_RESULTS:
            found.setdefault(method.lower(), result.lower())
    return [AuthCheck(method=m, result=found[m]) for m in AUTH_METHODS if m in found]


def _automatic(message: EmailMessage) -> bool:
    auto = str(message.get("Auto-Submitted", "no")).strip().lower()
    precedence = str(message.get("Precedence", "")).strip().lower()
    return (
        auto not in ("", "no")
        or precedence in ("auto_reply", "bulk", "junk", "list")
        or message.get("X-Autoreply") is not None
        or message.get("X-Autorespond") is not None
        or bool(_AUTOMATIC_SUBJECT.match(str(message.get("Subject", ""))))
    )


async def record_reply(token: str, envelope_from: str, data: bytes) -> int:
    """Keep the answer to the email whose token it came back to; its id."""
    sent = (
        await SentEmail.select(
            SentEmail.id, SentEmail.company, SentEmail.order, SentEmail.author.email
        )
        .where(SentEmail.token == token)
        .first()
    )
    if sent is None:
        raise LookupError(token)
    if await ClientReply.count().where(ClientReply.sent_email == sent["id"]) >= (
        MAX_REPLIES_PER_EMAIL
    ):
        raise TooManyReplies(sent["id"])
    try:
        read = await run_bounded(READ_BUDGET, read_reply, data)
    except OverBudget:
        read = ReadReply(
            sender=parseaddr(envelope_from)[1].lower(),
            sender_name="",
            subject="",
            message_id="",
            in_reply_to="",
            text="",
            quoted="",
            attachments=[],
            automatic=False,
            authentication="",
        )
    recipients = {
        r["email"].lower()
        for r in await EmailRecipient.select(EmailRecipient.email).where(
            EmailRecipient.sent_email == sent["id"]
        )
    }
    ref, _ = await blob_store().put(data)
    author = (sent["author.email"] or "").lower()
    # A person's answer goes on to the author's own mailbox, unless the author wrote it (an
    # answer to the forwarded copy) or there is nobody to send it to.
    forward = not read.automatic and bool(author) and read.sender != author
    row = ClientReply(
        company=sent["company"],
        sent_email=sent["id"],
        order=sent["order"],
        envelope_from=envelope_from[:300],
        sender=read.sender[:300],
        sender_name=read.sender_name,
        subject=read.subject,
        message_id=read.message_id,
        in_reply_to=read.in_reply_to,
        text=read.text,
        quoted=read.quoted,
        attachments=msgspec.json.encode(read.attachments).decode(),
        automatic=read.automatic,
        unknown_sender=read.sender not in recipients,
        authentication=read.authentication,
        blob_sha256=ref.sha256,
        html=read.html,
        forward_state="queued" if forward else "",
        forward_next_at=datetime.now(UTC) if forward else None,
    )
    await row.save()
    return int(row.id)


async def order_replies(actor: Actor, order_id: int) -> list[ReplyOut]:
    """The answers that came back to the order's emails, oldest first, in the reader's time."""
    await visible_order(actor, order_id)
    rows = (
        await ClientReply.select()
        .where((ClientReply.company == actor.company_id) & (ClientReply.order == order_id))
        .order_by(ClientReply.received_at)
    )
    return [_out(r, ZoneInfo(actor.time_zone)) for r in rows]


async def waiting_replies(actor: Actor, limit: int) -> list[ReplyOut]:
    """Answers a person wrote that nobody has taken care of yet, newest first: to the emails
    the actor wrote, on the orders they are responsible for, and (coordinators) to work
    reports; back-office sees the company's. Automatic answers wait for nobody."""
    where = (
        (ClientReply.company == actor.company_id)
        & (ClientReply.automatic == False)  # noqa: E712 - Piccolo builds SQL from ==
        & ClientReply.handled_at.is_null()
    )
    if Permission.MANAGE_COMPANY not in permissions(actor):
        responsible = OrderResponsible.select(OrderResponsible.order).where(
            OrderResponsible.employee == actor.employee_id
        )
        mine = (ClientReply.sent_email.author == actor.employee_id) | ClientReply.order.is_in(
            responsible
        )
        if Role.COORDINATOR in actor.roles:
            mine = mine | (ClientReply.sent_email.kind == "work_report")
        where = where & mine
    rows = (
        await ClientReply.select(*ClientReply.all_columns())
        .where(where)
        .order_by(ClientReply.received_at, ascending=False)
        .limit(limit)
    )
    zone = ZoneInfo(actor.time_zone)
    return [_out(r, zone) for r in rows]


async def reply_on_order(
    actor: Actor, order_id: int, reply_id: int, *columns: Column
) -> dict[str, Any]:
    """The reply `reply_id` on the company's order (`columns`, all by default); NotFound when
    there is no such reply there. The caller checks that the actor may see the order."""
    row = (
        await ClientReply.select(*columns)
        .where(
            (ClientReply.company == actor.company_id)
            & (ClientReply.order == order_id)
            & (ClientReply.id == reply_id)
        )
        .first()
    )
    if row is None:
        raise NotFound(
            f"Reply {reply_id} does not exist.",
            code=Code.REPLY_NOT_FOUND,
            params={"id": reply_id},
        )
    return dict(row)


async def mark_handled(actor: Actor, order_id: int, reply_id: int) -> ReplyOut:
    """Someone took care of the answer: it leaves everyone's notifications."""
    await visible_order(actor, order_id)
    await ClientReply.update(
        {ClientReply.handled_at: datetime.now(UTC), ClientReply.handled_by: actor.employee_id}
    ).where(
        (ClientReply.company == actor.company_id)
        & (ClientReply.order == order_id)
        & (ClientReply.id == reply_id)
        & ClientReply.handled_at.is_null()
    )
    row = await reply_on_order(actor, order_id, reply_id)
    return _out(row, ZoneInfo(actor.time_zone))


async def mark_answered(actor: Actor, reply_id: int) -> None:
    """An answer to the reply is being sent: it is taken care of, unless it already was."""
    await ClientReply.update(
        {ClientReply.handled_at: datetime.now(UTC), ClientReply.handled_by: actor.employee_id}
    ).where(
        (ClientReply.company == actor.company_id)
        & (ClientReply.id == reply_id)
        & ClientReply.handled_at.is_null()
    )


def _out(r: dict[str, Any], zone: ZoneInfo) -> ReplyOut:
    return ReplyOut(
        id=r["id"],
        email_id=r["sent_email"],
        order_id=r["order"],
        received_at=r["received_at"].astimezone(zone),
        sender=r["sender"],
        sender_name=r["sender_name"],
        subject=r["subject"],
        text=r["text"],
        quoted=r["quoted"],
        attachments=msgspec.json.decode(r["attachments"], type=list[ReplyAttachment]),
        automatic=r["automatic"],
        unknown_sender=r["unknown_sender"],
        authentication=r["authentication"],
        handled_at=r["handled_at"].astimezone(zone) if r["handled_at"] else None,
        checks=auth_checks(r["authentication"]),
        has_html=bool(r["html"]),
        forward_state=r["forward_state"],
    )
