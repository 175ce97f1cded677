"""Drafts: an email for an order, pre-filled from a template, edited block by block, saved.

Placeholders are rendered once, when the draft is made; from then on the blocks are the
person's plain text. Every change states the version it edits, so two devices never
silently overwrite each other.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import msgspec

from organisatrice.compose.context import ReplyContext
from organisatrice.compose.greetings import MAX_GREETED_BY_NAME, Person, greeting_for_all
from organisatrice.compose.order_context import order_context
from organisatrice.compose.rendering import render_bounded
from organisatrice.compose.schemas import (
    AttachmentSource,
    Blocks,
    DraftAttachment,
    DraftIn,
    DraftOut,
    DraftPatch,
    Recipient,
    Recipients,
    TemplateKind,
)
from organisatrice.compose.tables import Draft, EmailTemplate
from organisatrice.compose.templates import template_row
from organisatrice.core.addresses import split_named, valid_address
from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import Conflict, Invalid, NotFound
from organisatrice.core.filenames import safe_filename
from organisatrice.core.statements import Statement
from organisatrice.mail.message import refuse_unsafe_header
from organisatrice.orders.schemas import ContactOut, OrderDetail, OrderStatus
from organisatrice.orders.services import contact_detail, order_detail
from organisatrice.roles.policy import Actor, may_email_on_order
from organisatrice.roles.staff import sender_address

DEFAULT_REPORT_NAMES = {
    "de": "Arbeitsrapport {{ order.number }} {{ client.name }} {{ today }}",
    "fr": "Rapport de travail {{ order.number }} {{ client.name }} {{ today }}",
    "it": "Rapporto di lavoro {{ order.number }} {{ client.name }} {{ today }}",
    "en": "Work report {{ order.number }} {{ client.name }} {{ today }}",
}
PHOTOS_PDF_NAMES = {
    "de": "Fotodokumentation {{ order.number }}",
    "fr": "Documentation photo {{ order.number }}",
    "it": "Documentazione fotografica {{ order.number }}",
    "en": "Photo documentation {{ order.number }}",
}


async def emailable_order(actor: Actor, order_id: int) -> OrderDetail:
    """The order, if the actor may see it and email in its context; the reason otherwise."""
    order = await order_detail(actor, order_id)
    responsible = any(e.id == actor.employee_id for e in order.responsible)
    decision = may_email_on_order(actor, responsible=responsible)
    if not decision.allowed:
        raise decision.refusal()
    return order


def refuse_work_report_before_work(kind: TemplateKind | str, order: OrderDetail) -> None:
    """A work report reports work done: on an order still planned there is none to report."""
    if kind == TemplateKind.WORK_REPORT and order.status is OrderStatus.PLANNED:
        raise Invalid(
            f"Order {order.number} is still planned: a work report can be sent once the work "
            "has started.",
            code=Code.WORK_REPORT_BEFORE_WORK,
            params={"number": order.number},
        )


async def _recipient_contact(actor: Actor, order: OrderDetail, contact_id: int) -> ContactOut:
    if not any(r.contact_id == contact_id for r in order.recipients):
        raise NotFound(
            f"Contact {contact_id} is not a contact with an email address of this order's "
            "client or buildings.",
            code=Code.CONTACT_NOT_OF_ORDER,
            params={"id": contact_id},
            field="contact_id",
        )
    return await contact_detail(actor, contact_id)


def _checked_recipient(recipient: Recipient, order: OrderDetail, field: str) -> Recipient:
    if recipient.contact_id is not None and not any(
        r.contact_id == recipient.contact_id for r in order.recipients
    ):
        raise NotFound(
            f"Contact {recipient.contact_id} is not a recipient of this order.",
            code=Code.CONTACT_NOT_OF_ORDER,
            params={"id": recipient.contact_id},
            field=field,
        )
    refuse_unsafe_header(recipient.name, f"The name given for {recipient.email}", field)
    # A tablet's keyboard leaves a space after an address it completed.
    valid = valid_address(recipient.email.strip(), label="The address", field=field)
    return Recipient(
        email=valid.email, name=recipient.name.strip(), contact_id=recipient.contact_id
    )


def checked_recipients(recipients: Recipients, order: OrderDetail) -> Recipients:
    checked = Recipients(
        to=[_checked_recipient(r, order, "recipients.to") for r in recipients.to],
        cc=[_checked_recipient(r, order, "recipients.cc") for r in recipients.cc],
        bcc=[_checked_recipient(r, order, "recipients.bcc") for r in recipients.bcc],
    )
    if not checked.to:
        raise Invalid(
            "Add at least one recipient in To.", code=Code.NO_RECIPIENT, field="recipients.to"
        )
    return checked


def _extension(attachment: DraftAttachment, order: OrderDetail) -> str:
    if attachment.kind in ("work_report", "photos_pdf"):
        return ".pdf"
    if attachment.kind == "photo":
        return ".jpg"
    document = next((d for d in order.documents if d.id == attachment.document_id), None)
    if document is None:
        raise NotFound(
            f"Document {attachment.document_id} does not belong to this order.",
            code=Code.DOCUMENT_NOT_FOUND,
            params={"id": attachment.document_id or 0},
            field="attachments",
        )
    return "." + document.filename.rsplit(".", 1)[-1] if "." in document.filename else ""


def checked_attachments(
    attachments: list[DraftAttachment], order: OrderDetail
) -> list[DraftAttachment]:
    """Each attachment points into this order, and its name is made safe with its own
    extension kept, whatever the person typed."""
    photo_ids = {p.id for p in order.photos}
    checked = []
    for a in attachments:
        wanted_photos = a.photo_ids if a.kind in ("photo", "photos_pdf") else []
        if a.kind in ("photo", "photos_pdf") and not wanted_photos:
            raise Invalid(
                "Choose at least one photo for a photo attachment.",
                code=Code.NO_PHOTO_SELECTED,
                field="attachments",
            )
        unknown = [p for p in wanted_photos if p not in photo_ids]
        if unknown:
            raise NotFound(
                f"Photo {unknown[0]} does not belong to this order.",
                code=Code.PHOTO_NOT_FOUND,
                params={"id": unknown[0]},
                field="attachments",
            )
        if a.kind == "document" and a.document_id is None:
            raise Invalid(
                "A document attachment names its document.",
                code=Code.DOCUMENT_NOT_NAMED,
                field="attachments",
            )
        checked.append(
            DraftAttachment(
                kind=a.kind,
                filename=safe_filename(a.filename, extension=_extension(a, order)),
                photo_ids=list(wanted_photos),
                document_id=a.document_id if a.kind == "document" else None,
            )
        )
    return checked


def name_patterns(template: Mapping[str, Any]) -> dict[str, str]:
    """The attachment names a draft of `template` renders: its work report's, its photo PDF's."""
    language = template["language"]
    patterns = {}
    if AttachmentSource.WORK_REPORT in template["attachments"]:
        patterns["attachment_filename"] = (
            template["attachment_filename"] or DEFAULT_REPORT_NAMES[language]
        )
    if AttachmentSource.PHOTOS in template["attachments"] and template["photos_as_pdf"]:
        patterns["photos_pdf_filename"] = PHOTOS_PDF_NAMES[language]
    return patterns


def _proposed_attachments(
    template: dict[str, Any], order: OrderDetail, names: dict[str, str]
) -> list[DraftAttachment]:
    sources = set(template["attachments"])
    proposed: list[DraftAttachment] = []
    if AttachmentSource.WORK_REPORT in sources:
        proposed.append(DraftAttachment(kind="work_report", filename=names["attachment_filename"]))
    if AttachmentSource.PHOTOS in sources and order.photos:
        if template["photos_as_pdf"]:
            name = names["photos_pdf_filename"]
            proposed.append(
                DraftAttachment(
                    kind="photos_pdf", filename=name, photo_ids=[p.id for p in order.photos]
                )
            )
        else:
            proposed.extend(
                DraftAttachment(
                    kind="photo",
                    filename=p.caption or p.original_filename or f"Foto {p.id}",
                    photo_ids=[p.id],
                )
                for p in order.photos
            )
    if AttachmentSource.DOCUMENTS in sources:
        offers_only = template["kind"] == TemplateKind.OFFER
        proposed.extend(
            DraftAttachment(kind="document", filename=d.filename, document_id=d.id)
            for d in order.documents
            if not offers_only or d.kind == "offer"
        )
    return checked_attachments(proposed, order)


def draft_blocks(rendered: Mapping[str, str]) -> Blocks:
    """The blocks a draft starts with, from its template's rendered fields."""
    return Blocks(
        # A subject is one line, whatever line breaks order data brought into it.
        subject=" ".join(rendered["subject"].split()),
        greeting=rendered["greeting"],
        motivation=rendered["motivation"],
        free_text="",
        closing=rendered["closing"],
        signature=rendered["signature"],
    )


async def sender_of(actor: Actor) -> tuple[Recipient, Recipient]:
    """The company's sending address, shown as "First Last | Company"; Reply-To the employee."""
    sender = Recipient(
        email=await sender_address(actor.company_id),
        name=f"{actor.first_name} {actor.last_name} | {actor.company_name}",
    )
    reply_to = Recipient(email=actor.email, name=f"{actor.first_name} {actor.last_name}")
    return sender, reply_to


async def _person(actor: Actor, recipient: Recipient) -> Person:
    if recipient.contact_id is None:
        return Person(first_name=recipient.name)
    contact = await contact_detail(actor, recipient.contact_id)
    return Person(
        salutation=contact.salutation.value,
        first_name=contact.first_name,
        last_name=contact.last_name,
    )


async def greeting_block(
    actor: Actor, order: OrderDetail, template: dict[str, Any], to: list[Recipient]
) -> str:
    """The template's greeting block for everyone in To (greetings.greeting_for_all); the
    `contact` placeholders name the first of them."""
    language = template["language"]
    people = (
        [await _person(actor, r) for r in to]
        if len(to) <= MAX_GREETED_BY_NAME
        else [Person() for _ in to]
    )
    first = to[0].contact_id if to else None
    contact = await contact_detail(actor, first) if first is not None else None
    context = msgspec.structs.replace(
        await order_context(actor, order, contact, language),
        greeting=greeting_for_all(people, language),
    )
    rendered = await render_bounded(
        {"greeting": template["greeting"]}, msgspec.to_builtins(context)
    )
    return rendered["greeting"]


async def _greeting_for_new_to(
    actor: Actor, order: OrderDetail, current: dict[str, Any], blocks: Blocks, to: list[Recipient]
) -> str | None:
    """The greeting for the new To list, when the draft still has the one its template gave
    the old list; None when the person wrote their own (theirs stays) or the template is
    gone."""
    before = msgspec.json.decode(current["recipients"], type=Recipients).to
    # The same addresses are the same people, however they were picked.
    if [r.email.lower() for r in before] == [r.email.lower() for r in to] or (
        current["template"] is None
    ):
        return None
    try:
        template = await template_row(actor, current["template"])
    except NotFound:
        return None
    if blocks.greeting.strip() != (await greeting_block(actor, order, template, before)).strip():
        return None
    return await greeting_block(actor, order, template, to)


async def create_draft(actor: Actor, order_id: int, data: DraftIn) -> DraftOut:
    order = await emailable_order(actor, order_id)
    template = await template_row(actor, data.template_id)
    if template["kind"] == TemplateKind.REPLY:
        raise Invalid(
            "A reply template answers a client's reply: open the reply on the order and answer "
            "it there.",
            code=Code.TEMPLATE_KIND_MISMATCH,
            params={"kind": template["kind"]},
            field="template_id",
        )
    refuse_work_report_before_work(template["kind"], order)
    if (data.contact_id is None) == (data.address is None):
        raise Invalid(
            "Give either a contact of the order or a typed address.",
            code=Code.CONTACT_OR_ADDRESS,
            field="contact_id",
        )
    contact = (
        await _recipient_contact(actor, order, data.contact_id)
        if data.contact_id is not None
        else None
    )
    if contact is not None:
        to = Recipient(
            email=contact.email,
            name=f"{contact.first_name} {contact.last_name}".strip(),
            contact_id=contact.id,
        )
    else:
        name, address = split_named(data.address or "")
        to = Recipient(email=address, name=name)
    return await new_draft(actor, order, template, to, contact)


async def new_draft(
    actor: Actor,
    order: OrderDetail,
    template: dict[str, Any],
    to: Recipient,
    contact: ContactOut | None,
    *,
    reply: tuple[int, ReplyContext] | None = None,
) -> DraftOut:
    """A draft of `template` to `to`, its placeholders rendered for the order (and, answering
    a client's reply, for that reply), saved for the actor."""
    recipients = checked_recipients(Recipients(to=[to]), order)
    language = template["language"]
    order_facts = await order_context(actor, order, contact, language)
    if reply is not None:
        order_facts = msgspec.structs.replace(order_facts, reply=reply[1])
    context = msgspec.to_builtins(order_facts)
    signature = context["employee"]["signature"] or template["signature"]
    fields = ("subject", "greeting", "motivation", "closing")
    rendered = await render_bounded(
        {
            **{field: template[field] for field in fields},
            "signature": signature,
            **name_patterns(template),
        },
        context,
    )
    blocks = draft_blocks(rendered)
    attachments = _proposed_attachments(template, order, rendered)
    async with transaction():
        row = Draft(
            company=actor.company_id,
            order=order.id,
            template=template["id"],
            author=actor.employee_id,
            contact=contact.id if contact else None,
            kind=template["kind"],
            language=language,
            recipients=msgspec.json.encode(recipients).decode(),
            blocks=msgspec.json.encode(blocks).decode(),
            attachments=msgspec.json.encode(attachments).decode(),
            read_receipt=template["read_receipt"],
            reply=reply[0] if reply is not None else None,
        )
        await row.save()
        await EmailTemplate.update({EmailTemplate.last_used_at: datetime.now(UTC)}).where(
            EmailTemplate.id == template["id"]
        )
    # The row as saved (its defaults are set here, not by the database): no need to read it back.
    return await _out(actor, row.to_dict())


_DRAFT = Statement(
    lambda company, order, draft, author: (
        Draft.select()
        .where(
            (Draft.company == company)
            & (Draft.order == order)
            & (Draft.id == draft)
            & (Draft.author == author)
        )
        .first()
    )
)


async def _draft_row(actor: Actor, order_id: int, draft_id: int) -> dict[str, Any]:
    row = await _DRAFT.first(actor.company_id, order_id, draft_id, actor.employee_id)
    if row is None:
        raise NotFound(
            f"Draft {draft_id} does not exist for this order.",
            code=Code.DRAFT_NOT_FOUND,
            params={"id": draft_id},
        )
    return dict(row)


async def _out(actor: Actor, row: dict[str, Any]) -> DraftOut:
    sender, reply_to = await sender_of(actor)
    return DraftOut(
        id=row["id"],
        order_id=row["order"],
        template_id=row["template"],
        kind=TemplateKind(row["kind"]),
        language=row["language"],
        sender=sender,
        reply_to=reply_to,
        recipients=msgspec.json.decode(row["recipients"], type=Recipients),
        blocks=msgspec.json.decode(row["blocks"], type=Blocks),
        attachments=msgspec.json.decode(row["attachments"], type=list[DraftAttachment]),
        read_receipt=row["read_receipt"],
        version=row["version"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        reply_id=row["reply"],
    )


async def get_draft(actor: Actor, order_id: int, draft_id: int) -> DraftOut:
    await emailable_order(actor, order_id)
    return await draft_of(actor, order_id, draft_id)


async def draft_of(actor: Actor, order_id: int, draft_id: int) -> DraftOut:
    """The actor's draft, for a caller that already checked the order with emailable_order
    (loading the order's details twice was half the cost of a draft request)."""
    return await _out(actor, await _draft_row(actor, order_id, draft_id))


async def list_drafts(actor: Actor, order_id: int) -> list[DraftOut]:
    """The signed-in employee's drafts of this order, newest first."""
    await emailable_order(actor, order_id)
    rows = (
        await Draft.select()
        .where(
            (Draft.company == actor.company_id)
            & (Draft.order == order_id)
            & (Draft.author == actor.employee_id)
        )
        .order_by(Draft.updated_at, ascending=False)
    )
    return [await _out(actor, dict(r)) for r in rows]


async def change_draft(actor: Actor, order_id: int, draft_id: int, patch: DraftPatch) -> DraftOut:
    order = await emailable_order(actor, order_id)
    values: dict[Any, Any] = {}
    if patch.blocks is not msgspec.UNSET:
        refuse_unsafe_header(patch.blocks.subject, "The subject", "blocks.subject")
        values[Draft.blocks] = msgspec.json.encode(patch.blocks).decode()
    if patch.recipients is not msgspec.UNSET:
        recipients = checked_recipients(patch.recipients, order)
        values[Draft.recipients] = msgspec.json.encode(recipients).decode()
        # The greeting follows who is in To, until the person writes one of their own.
        current = await _draft_row(actor, order_id, draft_id)
        blocks = (
            patch.blocks
            if patch.blocks is not msgspec.UNSET
            else msgspec.json.decode(current["blocks"], type=Blocks)
        )
        greeting = await _greeting_for_new_to(actor, order, current, blocks, recipients.to)
        if greeting is not None:
            values[Draft.blocks] = msgspec.json.encode(
                msgspec.structs.replace(blocks, greeting=greeting)
            ).decode()
    if patch.attachments is not msgspec.UNSET:
        attachments = checked_attachments(patch.attachments, order)
        values[Draft.attachments] = msgspec.json.encode(attachments).decode()
    if patch.read_receipt is not msgspec.UNSET:
        values[Draft.read_receipt] = patch.read_receipt
    async with transaction():
        current = await _draft_row(actor, order_id, draft_id)
        if current["version"] != patch.version:
            raise Conflict(
                "This draft was changed meanwhile (on another device or tab); reload it and "
                "apply your change again.",
                code=Code.DRAFT_CHANGED_MEANWHILE,
                field="version",
            )
        values[Draft.version] = patch.version + 1
        values[Draft.updated_at] = datetime.now(UTC)
        await Draft.update(values).where((Draft.id == draft_id) & (Draft.version == patch.version))
    return await draft_of(actor, order_id, draft_id)


async def delete_draft(actor: Actor, order_id: int, draft_id: int) -> None:
    await emailable_order(actor, order_id)
    await _draft_row(actor, order_id, draft_id)
    await Draft.delete().where(Draft.id == draft_id)
