"""Answering a client's reply from the order: a draft of a "reply" template addressed to whoever
wrote, quoting what they wrote (not the history they quoted), with "Re:" once before their
subject; sent threaded to their message (In-Reply-To, References, RFC 5322 3.6.4).
"""

from __future__ import annotations

import email.parser
import email.policy
import re
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread

from organisatrice.compose.context import ReplyContext
from organisatrice.compose.drafts import emailable_order, new_draft
from organisatrice.compose.schemas import AnswerIn, DraftOut, Recipient, TemplateKind
from organisatrice.compose.tables import EmailTemplate
from organisatrice.compose.templates import list_templates, template_row
from organisatrice.compose.work_report import format_date
from organisatrice.core.blobs import blob_store
from organisatrice.core.codes import Code
from organisatrice.core.errors import Conflict, Invalid, NotFound
from organisatrice.mail.replies import reply_on_order
from organisatrice.mail.tables import ClientReply
from organisatrice.orders.services import contact_detail
from organisatrice.roles.policy import Actor

# "Re:", "AW:", "R:", "RIF:", "Réf.:", "SV:" and their stacks ("Re: AW: Re[2]:"): how mail
# programs in de/fr/it/en mark an answer. The answer's subject gets exactly one "Re:".
_ANSWER_PREFIX = re.compile(
    r"^\s*(?:(?:re|aw|antw|r|rif|sv|r[ée]f\.?)\s*(?:\[\d+\])?\s*:\s*)+", re.IGNORECASE
)
# A msg-id as RFC 5322 writes it, printable ASCII only: whatever else a client's headers hold
# (folding, controls, text) never reaches ours.
_MESSAGE_ID = re.compile(r"<[!-;=?-~]+@[!-;=?-~]+>")
# References keeps the thread's first message and the newest ones (RFC 5322 3.6.4 lets it
# shorten), so a long thread cannot grow our header without end.
MAX_REFERENCES = 20


def answer_subject(subject: str) -> str:
    """The subject without the answer marks it already carries."""
    return _ANSWER_PREFIX.sub("", subject).strip()


def quoted(text: str) -> str:
    """The client's text as an email quotes it: each line after "> "."""
    return "\n".join(f"> {line}".rstrip() for line in text.strip().splitlines())


def message_ids(value: str) -> list[str]:
    return _MESSAGE_ID.findall(value)


def references(their_references: str, their_in_reply_to: str, their_id: str) -> list[str]:
    """Their References (or, without, their In-Reply-To) and their own Message-ID: the thread
    up to the message we answer, each message once."""
    thread = message_ids(their_references) or message_ids(their_in_reply_to)
    ids = list(dict.fromkeys([*thread, their_id]))
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return ids


def _thread_of(data: bytes) -> tuple[str, str, str]:
    message = email.parser.BytesParser(policy=email.policy.default).parsebytes(
        data, headersonly=True
    )
    return (
        str(message.get("Message-ID", "")),
        str(message.get("References", "")),
        str(message.get("In-Reply-To", "")),
    )


async def threading_headers(company_id: int, reply_id: int) -> dict[str, str]:
    """In-Reply-To and References of an answer to the reply, read from its message as received
    (its References were never copied out); none when the client's message had no Message-ID."""
    row = (
        await ClientReply.select(ClientReply.blob_sha256)
        .where((ClientReply.company == company_id) & (ClientReply.id == reply_id))
        .first()
    )
    if row is None:
        return {}
    data = await blob_store().read(row["blob_sha256"])
    their_id, their_references, their_in_reply_to = await anyio.to_thread.run_sync(_thread_of, data)
    own = message_ids(their_id)
    if not own:
        return {}
    return {
        "In-Reply-To": own[0],
        "References": " ".join(references(their_references, their_in_reply_to, own[0])),
    }


async def _reply_template(
    actor: Actor, template_id: int | None, languages: list[str]
) -> dict[str, Any]:
    """The chosen reply template, or the first in the first of `languages` that has one."""
    if template_id is not None:
        template = await template_row(actor, template_id)
        if template["kind"] != TemplateKind.REPLY:
            raise Invalid(
                "This template does not answer a reply; choose one of the kind reply.",
                code=Code.TEMPLATE_KIND_MISMATCH,
                params={"kind": template["kind"]},
                field="template_id",
            )
        return template
    candidates = [t for t in await list_templates(actor) if t.kind is TemplateKind.REPLY]
    if not candidates:
        raise NotFound(
            "Your company has no template for answering a reply yet; back-office adds one of "
            "the kind reply.",
            code=Code.REPLY_TEMPLATE_MISSING,
        )
    rank = {language: i for i, language in enumerate(languages)}
    chosen = min(candidates, key=lambda t: rank.get(t.language, len(rank)))
    return await template_row(actor, chosen.id)


async def answer_reply(actor: Actor, order_id: int, reply_id: int, data: AnswerIn) -> DraftOut:
    """A draft answering the client's reply, addressed to its sender."""
    order = await emailable_order(actor, order_id)
    reply = await reply_on_order(
        actor,
        order_id,
        reply_id,
        *ClientReply.all_columns(),
        ClientReply.sent_email.subject,
        ClientReply.sent_email.template_id,
    )
    if reply["automatic"]:
        raise Conflict(
            "This is an automatic answer (such as an out-of-office note): nobody wrote it, so "
            "it needs no answer.",
            code=Code.REPLY_AUTOMATIC,
            params={"id": reply_id},
        )
    sender = next((r for r in order.recipients if r.email.lower() == reply["sender"]), None)
    contact = await contact_detail(actor, sender.contact_id) if sender is not None else None
    answered_in = (
        await EmailTemplate.select(EmailTemplate.language)
        .where(EmailTemplate.id == reply["sent_email.template_id"])
        .first()
        if reply["sent_email.template_id"] is not None
        else None
    )
    languages = [
        *([answered_in["language"]] if answered_in else []),
        *([contact.language] if contact else []),
        order.client.language,
        actor.locale[:2],
    ]
    template = await _reply_template(actor, data.template_id, languages)
    to = Recipient(
        email=reply["sender"],
        name=(f"{contact.first_name} {contact.last_name}".strip() if contact else "")
        or reply["sender_name"],
        contact_id=contact.id if contact else None,
    )
    received = reply["received_at"].astimezone(ZoneInfo(actor.time_zone))
    context = ReplyContext(
        sender=reply["sender"],
        sender_name=reply["sender_name"],
        subject=answer_subject(reply["subject"] or reply["sent_email.subject"]),
        date=format_date(received.date(), template["language"]),
        text=reply["text"],
        quote=quoted(reply["text"]),
    )
    return await new_draft(actor, order, template, to, contact, reply=(reply_id, context))
