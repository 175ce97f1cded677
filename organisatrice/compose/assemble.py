"""From a draft to the email's bytes: generate the attachments, lay out text and HTML, build
the MIME message and check it against the company's size budget. A template being edited is
laid out the same way, for the sample order.

The heavy steps (PDF rendering, photo decoding, MIME building) run in worker threads, so one
large photo set never stalls other requests.
"""

from __future__ import annotations

import base64
import email
import email.policy
import functools
import hashlib
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import anyio.to_thread
import filetype
import msgspec

from organisatrice.compose.answers import threading_headers
from organisatrice.compose.context import OrderContext
from organisatrice.compose.drafts import (
    draft_blocks,
    draft_of,
    emailable_order,
    name_patterns,
    refuse_work_report_before_work,
)
from organisatrice.compose.layouts import render_layout
from organisatrice.compose.order_context import order_context
from organisatrice.compose.photo_set import (
    SourcePhoto,
    build_photo_pdf,
    build_photo_set,
    part_size,
)
from organisatrice.compose.samples import sample_context
from organisatrice.compose.schemas import (
    AttachmentInfo,
    Blocks,
    DraftAttachment,
    DraftOut,
    PreviewOut,
    Recipient,
    Recipients,
    SignatureFact,
    TemplateContent,
    TemplatePreviewOut,
)
from organisatrice.compose.signatures import UsedSignature, report_signature
from organisatrice.compose.tables import Draft, EmailTemplate
from organisatrice.compose.templates import render_sample
from organisatrice.compose.work_report import render_work_report
from organisatrice.core.blobs import blob_store
from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid, NotFound
from organisatrice.core.filenames import safe_filename
from organisatrice.mail.message import (
    Address,
    Attachment,
    BuiltMessage,
    InlineImage,
    MessageSpec,
    build_message,
    check_budget,
    content_id,
)
from organisatrice.mail.outbox import recent_sends_of
from organisatrice.orders.schemas import OrderDetail
from organisatrice.orders.services import contact_detail
from organisatrice.orders.tables import Document, Photo
from organisatrice.roles.policy import Actor
from organisatrice.roles.tables import Company

# The heading of the attachment list, in the text part and the HTML alike. A word, not a
# paperclip emoji: the glyph has no font on many systems and shows as a box.
ATTACHMENTS_HEADING = {
    "de": "Anhang",
    "fr": "Pièces jointes",
    "it": "Allegati",
    "en": "Attachments",
}
# Headers, the body's two renderings and the MIME boundaries, before any attachment.
BODY_RESERVE = 64 * 1024


class AssembledAttachment(msgspec.Struct, frozen=True, omit_defaults=True):
    filename: str
    content_type: str
    size: int
    sha256: str
    # The client's signature a work report carries; left out of the frozen JSON when unsigned,
    # so that an unsigned report is archived as before.
    signature: SignatureFact | None = None


class Assembled(msgspec.Struct, frozen=True, kw_only=True):
    """An email ready to freeze: its bytes and what they were made of."""

    draft: DraftOut
    order_number: str
    client_id: int
    template_name: str
    built: BuiltMessage
    attachments: list[AssembledAttachment]
    budget: int
    # The signature the work report was drawn with: sending marks it as sent.
    signature: UsedSignature | None


class _Company(msgspec.Struct, frozen=True):
    name: str
    brand_colour: str
    logo_sha256: str | None
    mail_size_budget: int


def _paragraphs(text: str) -> list[list[str]]:
    """Blank lines separate paragraphs; single line breaks stay line breaks."""
    blocks = [p.strip("\n") for p in text.replace("\r\n", "\n").split("\n\n")]
    return [p.split("\n") for p in blocks if p.strip()]


def email_text(blocks: Blocks, *, language: str, attachment_names: list[str]) -> str:
    """The plain text part: the words of the HTML part, in its order, the attachment list too
    (spam filters weigh a text part that says less than the HTML)."""
    attachments = [ATTACHMENTS_HEADING[language], *attachment_names] if attachment_names else []
    parts = [
        blocks.greeting,
        blocks.motivation,
        blocks.free_text,
        blocks.closing,
        "\n".join(attachments),
        blocks.signature,
    ]
    return "\n\n".join(p.strip() for p in parts if p.strip()) + "\n"


def email_html(
    blocks: Blocks,
    *,
    language: str,
    company: _Company,
    logo_cid: str,
    attachment_names: list[str],
) -> str:
    """The HTML part: the company's letterhead (its logo when `logo_cid` names one), then the
    words of the text part."""
    paragraphs = [
        *_paragraphs(blocks.greeting),
        *_paragraphs(blocks.motivation),
        *_paragraphs(blocks.free_text),
        *_paragraphs(blocks.closing),
    ]
    return render_layout(
        "email.html",
        language=language,
        subject=blocks.subject,
        brand_colour=company.brand_colour,
        company_name=company.name,
        logo_cid=logo_cid,
        paragraphs=paragraphs,
        attachments_heading=ATTACHMENTS_HEADING[language],
        attachment_names=attachment_names,
        signature=blocks.signature.strip().split("\n"),
    )


async def _company(company_id: int) -> _Company:
    row = (
        await Company.select(
            Company.name, Company.brand_colour, Company.logo_sha256, Company.mail_size_budget
        )
        .where(Company.id == company_id)
        .first()
    )
    if row is None:
        raise NotFound("Your company no longer exists.", code=Code.COMPANY_GONE)
    return msgspec.convert(row, _Company)


async def _photos(order_id: int, ids: list[int]) -> list[SourcePhoto]:
    rows = {
        r["id"]: r
        for r in await Photo.select(
            Photo.id, Photo.image_sha256, Photo.caption, Photo.original_filename
        ).where((Photo.order == order_id) & Photo.id.is_in(ids))
    }
    store = blob_store()
    return [
        SourcePhoto(
            data=await store.read(rows[i]["image_sha256"]),
            caption=rows[i]["caption"],
            filename=rows[i]["original_filename"],
        )
        for i in ids
        if i in rows
    ]


async def _document(order_id: int, attachment: DraftAttachment) -> Attachment:
    row = (
        await Document.select(Document.blob_sha256, Document.content_type)
        .where((Document.order == order_id) & (Document.id == attachment.document_id))
        .first()
    )
    if row is None:
        raise NotFound(
            f"Document {attachment.document_id} was removed from the order.",
            code=Code.DOCUMENT_REMOVED,
            params={"id": attachment.document_id or 0},
        )
    return Attachment(
        filename=attachment.filename,
        content_type=row["content_type"],
        data=await blob_store().read(row["blob_sha256"]),
    )


async def _attachments(
    actor: Actor,
    order: OrderDetail,
    draft: DraftOut,
    company: _Company,
    logo: bytes | None,
    signature: UsedSignature | None,
) -> list[Attachment]:
    """The draft's attachments, in its order: fixed ones first (work report, documents), then
    the photos fitted into what is left of the budget."""
    made: dict[int, Attachment] = {}
    for index, a in enumerate(draft.attachments):
        if a.kind == "work_report":
            pdf = await anyio.to_thread.run_sync(
                functools.partial(
                    render_work_report,
                    await _report_context(actor, order, draft),
                    logo=logo,
                    signature=signature.mark if signature else None,
                )
            )
            made[index] = Attachment(filename=a.filename, content_type="application/pdf", data=pdf)
        elif a.kind == "document":
            made[index] = await _document(order.id, a)
    left = (
        company.mail_size_budget - BODY_RESERVE - sum(part_size(len(m.data)) for m in made.values())
    )
    singles = [(i, a) for i, a in enumerate(draft.attachments) if a.kind == "photo"]
    pdfs = [(i, a) for i, a in enumerate(draft.attachments) if a.kind == "photos_pdf"]
    share = max(left // max(len(pdfs) + bool(singles), 1), 0)
    if singles:
        sources = await _photos(order.id, [a.photo_ids[0] for _, a in singles])
        images = await anyio.to_thread.run_sync(
            functools.partial(build_photo_set, sources, budget=share)
        )
        for (index, a), image in zip(singles, images, strict=True):
            made[index] = Attachment(
                filename=a.filename, content_type=image.content_type, data=image.data
            )
    for index, a in pdfs:
        sources = await _photos(order.id, a.photo_ids)
        ctx = await _report_context(actor, order, draft)
        document = await anyio.to_thread.run_sync(
            functools.partial(build_photo_pdf, sources, budget=share, ctx=ctx)
        )
        made[index] = Attachment(
            filename=a.filename, content_type="application/pdf", data=document.data
        )
    return [made[index] for index in range(len(draft.attachments))]


async def _report_context(actor: Actor, order: OrderDetail, draft: DraftOut) -> OrderContext:
    row = await Draft.select(Draft.contact).where(Draft.id == draft.id).first()
    contact_id = row["contact"] if row else None
    contact = await contact_detail(actor, contact_id) if contact_id else None
    return await order_context(actor, order, contact, draft.language)


def _address(recipient: Recipient) -> Address:
    return Address(email=recipient.email, name=recipient.name)


def read_receipt_header(address: str) -> dict[str, str]:
    """The header that asks mail programs for a read receipt (RFC 8098) to `address`."""
    return {"Disposition-Notification-To": address}


# A proof is told apart from the real email in the employee's inbox, in their language.
_PROOF_MARKS = {"de": "[Probe]", "fr": "[Essai]", "it": "[Prova]", "en": "[Proof]"}


def proof_subject(subject: str, locale: str) -> str:
    """ "[Probe] Arbeitsrapport 2026-4711": the subject of the proof an employee sends to
    themselves."""
    mark = _PROOF_MARKS.get(locale[:2].lower(), _PROOF_MARKS["de"])
    return f"{mark} {subject}"


async def assemble(
    actor: Actor,
    order_id: int,
    draft_id: int,
    *,
    receipts_to: Callable[[str], str] | None = None,
    replies_to: Callable[[str], str] | None = None,
    only_to: Recipient | None = None,
) -> Assembled:
    """The draft's email; with `only_to`, the same email addressed to that one person (the
    proof an employee sends to themselves). When the draft asks for a read receipt, it is
    asked for to `receipts_to(sender address)`: the email's tracking address, known only when
    it is sent (a preview asks for none). With `replies_to`, answers go to that address (the
    email's reply address, so they land on the order) under the author's name."""
    order = await emailable_order(actor, order_id)
    draft = await draft_of(actor, order_id, draft_id)
    # A draft made while the work went on, its order since set back to planned.
    refuse_work_report_before_work(draft.kind, order)
    if only_to is not None:
        draft = msgspec.structs.replace(
            draft,
            recipients=Recipients(to=[only_to]),
            blocks=msgspec.structs.replace(
                draft.blocks, subject=proof_subject(draft.blocks.subject, actor.locale)
            ),
        )
    if not draft.sender.email:
        raise Invalid(
            "Your company has no sending address yet; back-office sets it in the company settings.",
            code=Code.NO_SENDER_ADDRESS,
            field="sender",
        )
    company = await _company(actor.company_id)
    logo = await blob_store().read(company.logo_sha256) if company.logo_sha256 else None
    signature = (
        await report_signature(order, actor.time_zone)
        if any(a.kind == "work_report" for a in draft.attachments)
        else None
    )
    attachments = await _attachments(actor, order, draft, company, logo, signature)
    logo_type = filetype.guess_mime(logo) if logo else None
    domain = draft.sender.email.rsplit("@", 1)[-1]
    inline = (
        [InlineImage(cid=content_id("logo", domain), content_type=logo_type, data=logo)]
        if logo and logo_type in ("image/png", "image/jpeg")
        else []
    )
    attachment_names = [a.filename for a in attachments]
    spec = MessageSpec(
        sender=_address(draft.sender),
        reply_to=(
            Address(replies_to(draft.sender.email), draft.reply_to.name)
            if replies_to is not None
            else _address(draft.reply_to)
        ),
        to=[_address(r) for r in draft.recipients.to],
        cc=[_address(r) for r in draft.recipients.cc],
        bcc=[_address(r) for r in draft.recipients.bcc],
        subject=draft.blocks.subject,
        text=email_text(draft.blocks, language=draft.language, attachment_names=attachment_names),
        html=email_html(
            draft.blocks,
            language=draft.language,
            company=company,
            logo_cid=inline[0].cid if inline else "",
            attachment_names=attachment_names,
        ),
        attachments=attachments,
        inline_images=inline,
        message_id_domain=domain,
        date=datetime.now(UTC),
        headers={
            **(
                read_receipt_header(receipts_to(draft.sender.email))
                if draft.read_receipt and receipts_to is not None
                else {}
            ),
            # An answer to a client's reply goes into their thread.
            **(
                await threading_headers(actor.company_id, draft.reply_id)
                if draft.reply_id is not None
                else {}
            ),
        },
    )
    built = await anyio.to_thread.run_sync(lambda: build_message(spec))
    check_budget(built, company.mail_size_budget)
    return Assembled(
        draft=draft,
        order_number=order.number,
        client_id=order.client.id,
        template_name=await _template_name(draft.template_id),
        built=built,
        attachments=[
            AssembledAttachment(
                filename=a.filename,
                content_type=a.content_type,
                size=len(a.data),
                sha256=hashlib.sha256(a.data).hexdigest(),
                signature=signature.fact if signature and source.kind == "work_report" else None,
            )
            for source, a in zip(draft.attachments, attachments, strict=True)
        ],
        budget=company.mail_size_budget,
        signature=signature,
    )


async def _template_name(template_id: int | None) -> str:
    if template_id is None:
        return ""
    row = (
        await EmailTemplate.select(EmailTemplate.name)
        .where(EmailTemplate.id == template_id)
        .first()
    )
    return str(row["name"]) if row else ""


def _displayed_html(message: EmailMessage) -> str:
    """The HTML part as sent, with inline images made visible in a browser (data: URLs)."""
    html_part = message.get_body(preferencelist=("html",))
    html = str(html_part.get_content()) if html_part is not None else ""
    for part in message.walk():
        cid = part.get("Content-ID")
        if cid:
            data = part.get_payload(decode=True)
            if isinstance(data, bytes):
                url = f"data:{part.get_content_type()};base64,{base64.b64encode(data).decode()}"
                html = html.replace(f"cid:{cid.strip('<>')}", url)
    return html


async def preview(actor: Actor, order_id: int, draft_id: int) -> PreviewOut:
    assembled = await assemble(actor, order_id, draft_id)
    message = email.message_from_bytes(assembled.built.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text_part = message.get_body(preferencelist=("plain",))
    draft = assembled.draft
    return PreviewOut(
        subject=draft.blocks.subject,
        sender=draft.sender,
        reply_to=draft.reply_to,
        recipients=draft.recipients,
        text=str(text_part.get_content()) if text_part is not None else "",
        html=_displayed_html(message),
        attachments=[
            AttachmentInfo(filename=a.filename, content_type=a.content_type, size=a.size)
            for a in assembled.attachments
        ],
        size=assembled.built.size,
        budget=assembled.budget,
        warnings=await _already_sent(actor, assembled),
    )


async def preview_template(template: TemplateContent) -> TemplatePreviewOut:
    """The email a template makes for the sample order, with the template as the editor holds
    it, unsaved: back-office sees a change before any dispatcher gets it. Refused as saving
    it would be."""
    patterns = name_patterns(msgspec.to_builtins(template))
    rendered = await render_sample(template, patterns)
    blocks = draft_blocks(rendered)
    # The sample order has no photos or documents: of what a template attaches, only the
    # work report is there.
    names = (
        [safe_filename(rendered["attachment_filename"], extension=".pdf")]
        if "attachment_filename" in patterns
        else []
    )
    # The sample's own letterhead, so that the heading and the placeholders name one company.
    company = sample_context(template.language).company
    letterhead = _Company(
        name=company.name, brand_colour=company.brand_colour, logo_sha256=None, mail_size_budget=0
    )
    return TemplatePreviewOut(
        blocks=blocks,
        attachments=names,
        text=email_text(blocks, language=template.language, attachment_names=names),
        html=email_html(
            blocks,
            language=template.language,
            company=letterhead,
            logo_cid="",
            attachment_names=names,
        ),
    )


DUPLICATE_WINDOW = timedelta(hours=1)


async def _already_sent(actor: Actor, assembled: Assembled) -> list[str]:
    """ "Sent to anna.meier@… 3 minutes ago" for each recent email with the same document."""
    recipients = assembled.draft.recipients
    now = datetime.now(UTC)
    sends = await recent_sends_of(
        actor.company_id,
        [r.email for r in (*recipients.to, *recipients.cc, *recipients.bcc)],
        {a.sha256 for a in assembled.attachments},
        now - DUPLICATE_WINDOW,
    )
    warnings = []
    for send in sends:
        minutes = max(int((now - send.queued_at).total_seconds() // 60), 0)
        ago = "just now" if minutes == 0 else f"{minutes} minute{'s' if minutes != 1 else ''} ago"
        warnings.append(f"The same document was sent to {send.recipient} {ago}.")
    return warnings
