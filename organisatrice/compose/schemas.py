"""What the compose room takes and answers: templates, drafts, previews."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Literal

import msgspec

from organisatrice.core.structs import DbId, In, Out

ShortText = Annotated[str, msgspec.Meta(max_length=300)]
BlockText = Annotated[str, msgspec.Meta(max_length=10_000)]
Language = Literal["de", "fr", "it", "en"]


class TemplateKind(StrEnum):
    WORK_REPORT = "work_report"
    PHOTO_DOCUMENTATION = "photo_documentation"
    OFFER = "offer"
    GENERAL = "general"
    # An answer to a client's reply: made from the reply on the order, never picked blank.
    REPLY = "reply"


class AttachmentSource(StrEnum):
    """What a template proposes to attach to a draft."""

    WORK_REPORT = "work_report"
    PHOTOS = "photos"
    DOCUMENTS = "documents"


# A signature block is a few lines: name, role, phone; not a letter.
SignatureText = Annotated[str, msgspec.Meta(max_length=2_000)]


class PersonalSignatureIn(In):
    """The signed-in employee's own signature block: template text like a template's
    signature, which it replaces in their new drafts; empty for the template's."""

    text: SignatureText


class PersonalSignatureOut(Out):
    text: str
    # The text as a new draft shows it, filled in for the sample order and its author.
    preview: str


class TemplateContent(In):
    """What of a template makes its email: the editor previews these fields unsaved."""

    kind: TemplateKind
    language: Language
    subject: ShortText
    greeting: BlockText = "{{ greeting }}"
    motivation: BlockText = ""
    closing: BlockText = ""
    signature: BlockText = ""
    attachment_filename: ShortText = ""
    attachments: Annotated[list[AttachmentSource], msgspec.Meta(max_length=3)] = []
    photos_as_pdf: bool = False


class TemplateIn(TemplateContent, kw_only=True):
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    read_receipt: bool = False
    roles: Annotated[list[str], msgspec.Meta(max_length=4)] = []


class TemplatePatch(In):
    kind: TemplateKind | msgspec.UnsetType = msgspec.UNSET
    language: Language | msgspec.UnsetType = msgspec.UNSET
    name: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    subject: ShortText | msgspec.UnsetType = msgspec.UNSET
    greeting: BlockText | msgspec.UnsetType = msgspec.UNSET
    motivation: BlockText | msgspec.UnsetType = msgspec.UNSET
    closing: BlockText | msgspec.UnsetType = msgspec.UNSET
    signature: BlockText | msgspec.UnsetType = msgspec.UNSET
    attachment_filename: ShortText | msgspec.UnsetType = msgspec.UNSET
    attachments: (
        Annotated[list[AttachmentSource], msgspec.Meta(max_length=3)] | msgspec.UnsetType
    ) = msgspec.UNSET
    photos_as_pdf: bool | msgspec.UnsetType = msgspec.UNSET
    read_receipt: bool | msgspec.UnsetType = msgspec.UNSET
    roles: Annotated[list[str], msgspec.Meta(max_length=4)] | msgspec.UnsetType = msgspec.UNSET


class TemplateOut(Out):
    id: int
    kind: TemplateKind
    language: str
    name: str
    subject: str
    greeting: str
    motivation: str
    closing: str
    signature: str
    attachment_filename: str
    attachments: list[AttachmentSource]
    photos_as_pdf: bool
    read_receipt: bool
    roles: list[str]
    created_at: datetime
    modified_at: datetime
    last_used_at: datetime | None


class PlaceholderOut(Out):
    name: str
    example: str


# Drafts


class Recipient(msgspec.Struct, frozen=True, kw_only=True):
    email: Annotated[str, msgspec.Meta(max_length=254)]
    name: Annotated[str, msgspec.Meta(max_length=200)] = ""
    contact_id: DbId | None = None


class Recipients(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    to: Annotated[list[Recipient], msgspec.Meta(max_length=50)]
    cc: Annotated[list[Recipient], msgspec.Meta(max_length=50)] = []
    bcc: Annotated[list[Recipient], msgspec.Meta(max_length=50)] = []


class Blocks(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The six blocks as the person sees them; plain text, edited freely."""

    subject: ShortText
    greeting: BlockText
    motivation: BlockText
    free_text: BlockText = ""
    closing: BlockText
    signature: BlockText


class DraftAttachment(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One attachment of a draft: generated (work report, photo PDF) or taken from the order
    (a photo, a document). The file name is editable; its extension is kept."""

    kind: Literal["work_report", "photo", "photos_pdf", "document"]
    filename: Annotated[str, msgspec.Meta(max_length=255)]
    photo_ids: Annotated[list[DbId], msgspec.Meta(max_length=200)] = []
    document_id: DbId | None = None


class DraftIn(In):
    template_id: DbId
    contact_id: DbId | None = None
    # An address, or a name and an address: "Urs Brunner <urs@example.ch>".
    address: Annotated[str, msgspec.Meta(max_length=460)] | None = None


class DraftPatch(In):
    version: int
    blocks: Blocks | msgspec.UnsetType = msgspec.UNSET
    recipients: Recipients | msgspec.UnsetType = msgspec.UNSET
    attachments: Annotated[list[DraftAttachment], msgspec.Meta(max_length=200)] | (
        msgspec.UnsetType
    ) = msgspec.UNSET
    read_receipt: bool | msgspec.UnsetType = msgspec.UNSET


class DraftOut(Out):
    id: int
    order_id: int
    template_id: int | None
    kind: TemplateKind
    language: str
    sender: Recipient
    reply_to: Recipient
    recipients: Recipients
    blocks: Blocks
    attachments: list[DraftAttachment]
    read_receipt: bool
    version: int
    created_at: datetime
    updated_at: datetime
    # The client's reply this draft answers: the email is sent threaded to it.
    reply_id: int | None


class AnswerIn(In):
    """Answer a client's reply: with the given template of kind "reply", or the one in the
    language of the email they answered."""

    template_id: DbId | None = None


class AttachmentInfo(Out):
    filename: str
    content_type: str
    size: int


class PreviewOut(Out):
    """The email exactly as the client will get it."""

    subject: str
    sender: Recipient
    reply_to: Recipient
    recipients: Recipients
    text: str
    html: str
    attachments: list[AttachmentInfo]
    size: int
    budget: int
    warnings: list[str]


class TemplatePreviewOut(Out):
    """An unsaved template's email for the sample order: the blocks a draft would start with,
    the names of the files it would attach, and the email's text and HTML as sent."""

    blocks: Blocks
    attachments: list[str]
    text: str
    html: str


class SignatureOut(Out):
    """The client's signature of the order's work report, the newest. `sent`: a work report
    went out with it, so it stays as it is; signing again makes a new one. `current`: the
    order's work and material are still what the client signed; when they changed, the work
    report goes out without this signature until the client signs again."""

    id: int
    signer_name: str
    signed_at: datetime
    captured_by: str
    image_url: str
    sent: bool
    current: bool


class SignatureFact(msgspec.Struct, frozen=True, kw_only=True):
    """The signature a work report was sent with, frozen with the email's other facts."""

    signer_name: str
    signed_at: datetime
    image_sha256: str
