"""A copy of each client's answer to the author's own mailbox, through the company's relay, so
that the author's mail program keeps showing the conversation.

The copy is queued on the reply row when the answer is kept (mail/replies.py: a person's
answer, not an automatic one, not the author's own) and sent by the mail worker: retried with
the outbox's backoff until the outbox's deadline, and sent again after a restart (the row's
`forward_next_at` is also its lease). It is a readable forward (who wrote, what, the files)
marked twice so that it cannot loop: Auto-Submitted: auto-forwarded (RFC 3834: no mail
program answers it automatically) and our own header, which the receiver refuses if the copy
ever comes back to a reply address. Its Reply-To is the email's reply address, so that
answering the copy lands on the order too (the author's own words are not forwarded again).
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import html
import re
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

from organisatrice.core.blobs import blob_store
from organisatrice.core.bounded import OverBudget, run_bounded
from organisatrice.core.errors import Invalid
from organisatrice.mail.message import Address, Attachment, MessageSpec, build_message
from organisatrice.mail.outbox import DEFAULT_DEADLINE, backoff, new_token, unreachable
from organisatrice.mail.relay import Relay, relay_of
from organisatrice.mail.replies import READ_BUDGET, reply_address
from organisatrice.mail.smtp import Envelope, RelaySession, RelayUnavailable
from organisatrice.mail.tables import ClientReply
from organisatrice.roles.staff import sender_address
from organisatrice.settings import get_settings

FORWARD_HEADER = "X-Organisatrice-Forward"
_FORWARD_MARK = re.compile(rb"(?im)^x-organisatrice-forward\s*:")
# Forwards looked at per round; they are rare (one per client answer).
ROUND = 20
# Characters that may not stand in a header (subject, file name) of the copy.
_NOT_IN_A_HEADER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_wake = asyncio.Event()

# The words around the client's text, in the author's language.
_WORDS = {
    "de": (
        "{who} hat auf «{subject}» (Auftrag {order}) geantwortet:",
        "Diese Kopie kommt von Organisatrice; die Antwort steht beim Auftrag. Wer auf diese "
        "E-Mail antwortet, schreibt in den Auftrag.",
    ),
    "fr": (
        "{who} a répondu à « {subject} » (commande {order}) :",
        "Cette copie vient d\u2019Organisatrice ; la réponse figure dans la commande. Répondre à "
        "cet e-mail écrit dans la commande.",
    ),
    "it": (
        "{who} ha risposto a «{subject}» (ordine {order}):",
        "Questa copia viene da Organisatrice; la risposta è nell\u2019ordine. Chi risponde a "
        "questa e-mail scrive nell\u2019ordine.",
    ),
    "en": (
        "{who} answered “{subject}” (order {order}):",
        "This copy comes from Organisatrice; the answer is on the order. Answering this email "
        "writes on the order.",
    ),
}


def wake_forwards() -> None:
    """Tell the worker that a copy was queued (call on the app's event loop)."""
    _wake.set()


def forwards_wake() -> asyncio.Event:
    return _wake


def is_our_forward(data: bytes) -> bool:
    """The message is a copy this app forwarded: its header block carries our mark."""
    end = min((i for i in (data.find(b"\r\n\r\n"), data.find(b"\n\n")) if i >= 0), default=-1)
    return bool(_FORWARD_MARK.search(data if end < 0 else data[:end]))


def _header_text(value: str, fallback: str) -> str:
    # "=?" would read as an encoded word, which build_message refuses in a header.
    return _NOT_IN_A_HEADER.sub(" ", value).replace("=?", "= ?").strip()[:200] or fallback


def _attachments(data: bytes) -> list[Attachment]:
    """The answer's files, as the client sent them (in a bounded worker)."""
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    files = []
    for part in message.iter_attachments():
        content = part.get_payload(decode=True)
        files.append(
            Attachment(
                filename=_header_text(str(part.get_filename() or ""), "attachment"),
                content_type=part.get_content_type(),
                data=content if isinstance(content, bytes) else b"",
            )
        )
    return files


async def _copy(reply_id: int) -> tuple[Relay, Envelope] | None:
    """The company's relay and the SMTP transaction of the copy; None when there is nobody to
    send it to any more (the author left)."""
    row = (
        await ClientReply.select(
            ClientReply.company,
            ClientReply.sender,
            ClientReply.sender_name,
            ClientReply.subject,
            ClientReply.text,
            ClientReply.blob_sha256,
            ClientReply.sent_email.token,
            ClientReply.sent_email.subject,
            ClientReply.sent_email.order_number,
            ClientReply.sent_email._.author._.email,
            ClientReply.sent_email._.author._.first_name,
            ClientReply.sent_email._.author._.last_name,
            ClientReply.sent_email._.author._.locale,
        )
        .where(ClientReply.id == reply_id)
        .first()
    )
    if row is None or not row["sent_email.author.email"]:
        return None
    company = int(row["company"])
    relay = await relay_of(company)
    sender = await sender_address(company)
    author = row["sent_email.author.email"]
    who = row["sender_name"] or row["sender"]
    intro, outro = _WORDS.get(row["sent_email.author.locale"][:2], _WORDS["en"])
    intro = intro.format(
        who=f"{who} <{row['sender']}>" if row["sender_name"] else who,
        subject=row["sent_email.subject"],
        order=row["sent_email.order_number"],
    )
    try:
        files = await run_bounded(
            READ_BUDGET, _attachments, await blob_store().read(row["blob_sha256"])
        )
    except OverBudget:
        files = []
    text = f"{intro}\n\n{row['text']}\n\n-- \n{outro}\n"
    page = (
        f"<!doctype html><p>{html.escape(intro)}</p>"
        f'<blockquote style="white-space:pre-wrap">{html.escape(row["text"])}</blockquote>'
        f"<hr><p><small>{html.escape(outro)}</small></p>"
    )
    built = build_message(
        MessageSpec(
            sender=Address(sender, _header_text(f"{who} (Organisatrice)", "Organisatrice")),
            reply_to=Address(reply_address(row["sent_email.token"], relay.bounce_domain))
            if relay.bounce_domain
            else None,
            to=[
                Address(
                    author,
                    f"{row['sent_email.author.first_name']} {row['sent_email.author.last_name']}",
                )
            ],
            cc=[],
            bcc=[],
            subject=_header_text(f"Fwd: {row['subject']}", "Fwd:"),
            text=text,
            html=page,
            attachments=files,
            inline_images=[],
            message_id_domain=sender.rsplit("@", 1)[-1],
            date=datetime.now(UTC),
            headers={"Auto-Submitted": "auto-forwarded", FORWARD_HEADER: str(reply_id)},
        )
    )
    return relay, Envelope(
        sender=sender, recipients=[author], data=built.data, envelope_id=new_token()
    )


async def _settle(reply_id: int, state: str, attempts: int, next_at: datetime | None) -> None:
    await ClientReply.update(
        {
            ClientReply.forward_state: state,
            ClientReply.forward_attempts: attempts,
            ClientReply.forward_next_at: next_at,
        }
    ).where(ClientReply.id == reply_id)


async def _forward(reply_id: int, attempts: int, received_at: datetime) -> None:
    """Send one copy and record what became of it."""
    try:
        copy = await _copy(reply_id)
    except Invalid:
        # Our own sender address or the author's is not one build_message takes: no retry
        # makes it better.
        copy = None
    if copy is None:
        await _settle(reply_id, "failed", attempts, None)
        return
    relay, envelope = copy
    try:
        async with RelaySession(relay, timeout=get_settings().smtp_timeout) as session:
            result = await session.send(envelope)
    except RelayUnavailable as unavailable:
        result = unreachable(unavailable)
    refusal = result.whole or next(iter(result.refused.values()), None)
    now = datetime.now(UTC)
    if refusal is None:
        await _settle(reply_id, "sent", attempts, None)
    elif refusal.temporary and now < received_at + DEFAULT_DEADLINE:
        await _settle(reply_id, "queued", attempts, now + backoff(attempts))
    else:
        await _settle(reply_id, "failed", attempts, None)


async def send_due_forwards() -> int:
    """Send the copies that are due; answers how many were tried. Each is claimed by moving
    its `forward_next_at` a lease ahead first, so two workers never both send one, and one
    whose worker died is sent when the lease is over."""
    now = datetime.now(UTC)
    lease = timedelta(seconds=get_settings().mail_lease_seconds)
    due = (
        await ClientReply.select(
            ClientReply.id,
            ClientReply.forward_next_at,
            ClientReply.forward_attempts,
            ClientReply.received_at,
        )
        .where((ClientReply.forward_state == "queued") & (ClientReply.forward_next_at <= now))
        .order_by(ClientReply.forward_next_at)
        .limit(ROUND)
    )
    tried = 0
    for row in due:
        taken = await (
            ClientReply.update(
                {
                    ClientReply.forward_next_at: now + lease,
                    ClientReply.forward_attempts: row["forward_attempts"] + 1,
                }
            )
            .where(
                (ClientReply.id == row["id"])
                & (ClientReply.forward_next_at == row["forward_next_at"])
            )
            .returning(ClientReply.id)
        )
        if taken:
            await _forward(row["id"], row["forward_attempts"] + 1, row["received_at"])
            tried += 1
    return tried
