"""The employee's own signature block: template text that replaces the template's signature in
the drafts they start. Checked and previewed by the one renderer, as a template's is."""

from __future__ import annotations

import msgspec

from organisatrice.compose.order_context import employee_context
from organisatrice.compose.rendering import render_bounded
from organisatrice.compose.samples import sample_context
from organisatrice.compose.schemas import PersonalSignatureIn, PersonalSignatureOut
from organisatrice.roles.policy import Actor
from organisatrice.roles.staff import change_own_signature, own_signature


async def _preview(actor: Actor, text: str) -> str:
    """The block for the sample order, signed by the actor; refused with line and code as a
    draft would be."""
    sample = msgspec.structs.replace(
        sample_context(actor.locale), employee=await employee_context(actor)
    )
    rendered = await render_bounded({"signature": text}, msgspec.to_builtins(sample))
    return rendered["signature"]


async def get_signature(actor: Actor) -> PersonalSignatureOut:
    text = await own_signature(actor)
    return PersonalSignatureOut(text=text, preview=await _preview(actor, text) if text else "")


async def set_signature(actor: Actor, data: PersonalSignatureIn) -> PersonalSignatureOut:
    text = data.text.strip()
    preview = await _preview(actor, text) if text else ""
    await change_own_signature(actor, text)
    return PersonalSignatureOut(text=text, preview=preview)
