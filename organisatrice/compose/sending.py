"""Send: freeze an assembled draft into the archive as queued, in one transaction, and wake
the worker. The answer comes at once; the relay is spoken to behind."""

from __future__ import annotations

import msgspec

from organisatrice.compose.assemble import assemble
from organisatrice.compose.schemas import Recipient
from organisatrice.compose.tables import Draft
from organisatrice.core.db import transaction
from organisatrice.mail.limits import check_limits
from organisatrice.mail.outbox import Frozen, email_state, freeze
from organisatrice.mail.relay import relay_of
from organisatrice.mail.schemas import SentEmailOut
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
    assembled = await assemble(actor, order_id, draft_id, only_to=me if proof else None)
    draft = assembled.draft
    relay = await relay_of(actor.company_id)
    recipients = [
        (field, r.email, r.name)
        for field, group in (
            ("to", draft.recipients.to),
            ("cc", draft.recipients.cc),
            ("bcc", draft.recipients.bcc),
        )
        for r in group
    ]
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
        recipients=recipients,
        recipients_json=msgspec.json.encode(draft.recipients).decode(),
        blocks_json=msgspec.json.encode(draft.blocks).decode(),
        attachments_json=msgspec.json.encode(assembled.attachments).decode(),
        message_id=assembled.built.message_id,
        data=assembled.built.data,
        read_receipt=draft.read_receipt,
        bounce_domain=relay.bounce_domain or draft.sender.email.rsplit("@", 1)[-1],
    )
    async with transaction():
        # Inside the write transaction, so two sends cannot both take the last one of the day.
        await check_limits(actor.company_id, actor.time_zone)
        email_id = await freeze(frozen)
        if not proof:
            await Draft.delete().where(Draft.id == draft_id)
    wake_worker()
    return await email_state(email_id)
