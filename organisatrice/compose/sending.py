"""Send: freeze an assembled draft into the archive as queued, in one transaction, and wake
the worker. The answer comes at once; the relay is spoken to behind."""

from __future__ import annotations

import functools
from datetime import UTC, datetime

import anyio.to_thread
import msgspec

from organisatrice.compose.answers import threading_headers
from organisatrice.compose.assemble import assemble, read_receipt_header
from organisatrice.compose.drafts import checked_recipients, emailable_order
from organisatrice.compose.schemas import DraftOut, Recipient, Recipients, TemplateKind
from organisatrice.compose.signatures import mark_sent
from organisatrice.compose.tables import Draft
from organisatrice.core.blobs import blob_store
from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid, NotFound
from organisatrice.mail.limits import check_limits
from organisatrice.mail.message import Address, build_message, resent_spec
from organisatrice.mail.outbox import (
    Frozen,
    bounce_domain,
    email_state,
    freeze,
    new_token,
    tracking_address,
)
from organisatrice.mail.relay import relay_of
from organisatrice.mail.replies import mark_answered, replies_come_back, reply_address
from organisatrice.mail.schemas import SentEmailOut
from organisatrice.mail.tables import SentEmail
from organisatrice.mail.worker import wake_worker
from organisatrice.roles.policy import Actor

# Proofs are archived like any email, under their own kind, so they never count as a work
# report sent to a client.
PROOF_KIND = "proof"


async def send_draft(actor: Actor, order_id: int, draft_id: int) -> SentEmailOut:
    """Queue the draft's email and delete the draft: it lives on in the archive."""
    return await _send(actor, order_id, draft_id, proof=False)


async def send_proof(actor: Actor, order_id: int, draft_id: int) -> SentEmailOut:
    """Queue the draft's email to the signed-in employee only; the draft stays."""
    return await _send(actor, order_id, draft_id, proof=True)


async def _send(actor: Actor, order_id: int, draft_id: int, *, proof: bool) -> SentEmailOut:
    me = Recipient(email=actor.email, name=f"{actor.first_name} {actor.last_name}")
    relay = await relay_of(actor.company_id)
    token = new_token()
    replies = not proof and await replies_come_back(actor.company_id, relay)
    assembled = await assemble(
        actor,
        order_id,
        draft_id,
        only_to=me if proof else None,
        receipts_to=lambda sender: tracking_address(token, relay, sender),
        replies_to=(
            (lambda sender: reply_address(token, bounce_domain(relay, sender))) if replies else None
        ),
    )
    draft = assembled.draft
    refuse_photo_documentation_without_photos(draft)
    frozen = Frozen(
        company_id=actor.company_id,
        order_id=order_id,
        order_number=assembled.order_number,
        client_id=assembled.client_id,
        author_id=actor.employee_id,
        template_id=draft.template_id,
        template_name=assembled.template_name,
        kind=PROOF_KIND if proof else draft.kind.value,
        subject=draft.blocks.subject,
        sender=draft.sender.email,
        recipients=_envelope(draft.recipients),
        recipients_json=msgspec.json.encode(draft.recipients).decode(),
        blocks_json=msgspec.json.encode(draft.blocks).decode(),
        attachments_json=msgspec.json.encode(assembled.attachments).decode(),
        message_id=assembled.built.message_id,
        data=assembled.built.data,
        read_receipt=draft.read_receipt,
        bounce_domain=bounce_domain(relay, draft.sender.email),
        token=token,
        answers_reply=None if proof else draft.reply_id,
    )

    async def within() -> None:
        # After the chain head is locked, so two sends cannot both take the last one of the day.
        await check_limits(actor.company_id, relay, actor.time_zone)
        if not proof:
            await Draft.delete().where(Draft.id == draft_id)
            # A proof reaches only the employee: the client's signature may still be redone.
            if assembled.signature is not None:
                await mark_sent(assembled.signature)
            # Answered is taken care of: the reply leaves everyone's notifications with the send.
            if draft.reply_id is not None:
                await mark_answered(actor, draft.reply_id)

    email_id = await freeze(frozen, within=within)
    wake_worker()
    return await email_state(email_id)


async def resend(actor: Actor, email_id: int, recipients: Recipients) -> SentEmailOut:
    """Fix and resend: the same email (text, HTML, attachments) to corrected recipients, as a
    new archive entry linked to the first."""
    original = (
        await SentEmail.select()
        .where((SentEmail.company == actor.company_id) & (SentEmail.id == email_id))
        .first()
    )
    if original is None:
        raise NotFound(
            f"Email {email_id} does not exist.",
            code=Code.EMAIL_NOT_FOUND,
            params={"id": email_id},
        )
    order = await emailable_order(actor, original["order"])
    checked = checked_recipients(recipients, order)
    spec = resent_spec(
        await blob_store().read(original["blob_sha256"]),
        to=[Address(r.email, r.name) for r in checked.to],
        cc=[Address(r.email, r.name) for r in checked.cc],
        bcc=[Address(r.email, r.name) for r in checked.bcc],
        date=datetime.now(UTC),
    )
    relay = await relay_of(actor.company_id)
    token = new_token()
    # Read receipts of the new email come back to the new email's address, not the first's.
    # The subject as stored: bytes archived before headers were folded exactly may hold
    # spaces that were never typed.
    spec = msgspec.structs.replace(
        spec,
        subject=original["subject"],
        headers={
            **(
                read_receipt_header(tracking_address(token, relay, original["sender"]))
                if original["read_receipt"]
                else {}
            ),
            # An answer sent again stays in the client's thread.
            **(
                await threading_headers(actor.company_id, original["answers_reply"])
                if original["answers_reply"] is not None
                else {}
            ),
        },
    )
    built = await anyio.to_thread.run_sync(functools.partial(build_message, spec))
    frozen = Frozen(
        company_id=actor.company_id,
        order_id=order.id,
        order_number=order.number,
        client_id=order.client.id,
        author_id=actor.employee_id,
        template_id=original["template_id"],
        template_name=original["template_name"],
        kind=original["kind"],
        subject=original["subject"],
        sender=original["sender"],
        recipients=_envelope(checked),
        recipients_json=msgspec.json.encode(checked).decode(),
        blocks_json=original["blocks"],
        attachments_json=original["attachments"],
        message_id=built.message_id,
        data=built.data,
        read_receipt=original["read_receipt"],
        bounce_domain=bounce_domain(relay, original["sender"]),
        token=token,
        resend_of=email_id,
        answers_reply=original["answers_reply"],
    )
    new_id = await freeze(
        frozen, within=functools.partial(check_limits, actor.company_id, relay, actor.time_zone)
    )
    wake_worker()
    return await email_state(new_id)


def refuse_photo_documentation_without_photos(draft: DraftOut) -> None:
    """A photo documentation says "attached are the photos": without one it tells the client
    something untrue."""
    if draft.kind is TemplateKind.PHOTO_DOCUMENTATION and not any(
        a.kind in ("photo", "photos_pdf") for a in draft.attachments
    ):
        raise Invalid(
            "A photo documentation needs at least one photo, and this email has none. Add "
            "photos to the order and attach them, or choose another template.",
            field="attachments",
            code=Code.NO_PHOTOS,
        )


def _envelope(recipients: Recipients) -> list[tuple[str, str, str]]:
    return [
        (field, r.email, r.name)
        for field, group in (("to", recipients.to), ("cc", recipients.cc), ("bcc", recipients.bcc))
        for r in group
    ]
