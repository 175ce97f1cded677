"""What the archive answers and takes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

import msgspec

from organisatrice.core.structs import In, Out
from organisatrice.mail.replies import ReplyOut
from organisatrice.mail.schemas import DeliveryEventOut, EmailStatus, RecipientStateOut


class NoteIn(In):
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=5000)]


class NoteOut(Out):
    id: int
    author: str
    at: datetime
    text: str


class ArchivedAttachmentOut(Out):
    index: int
    filename: str
    content_type: str
    size: int
    download_url: str


class ArchivedSignatureOut(Out):
    """The client's signature a work report was sent with, as frozen with the email."""

    signer_name: str
    signed_at: datetime


class ArchiveEntryOut(Out):
    """An archived email as the client saw it, with everything the office knows about it."""

    id: int
    order_id: int
    order_number: str
    kind: str
    template_name: str
    author: str
    status: EmailStatus
    needs_attention: bool
    queued_at: datetime
    sent_at: datetime | None
    headers: dict[str, str]
    subject: str
    text: str
    html: str
    attachments: list[ArchivedAttachmentOut]
    recipients: list[RecipientStateOut]
    events: list[DeliveryEventOut]
    notes: list[NoteOut]
    size: int
    sha256: str
    raw_url: str
    resend_of: int | None
    # Set when the work report it carries was signed by the client on the tablet.
    signature: ArchivedSignatureOut | None


HandoverKind = Literal["work_report", "photo_documentation", "offer", "other"]


class HandoverIn(In):
    kind: HandoverKind
    handed_over_on: date
    note: Annotated[str, msgspec.Meta(max_length=2000)] = ""


class HandoverOut(Out):
    id: int
    kind: str
    handed_over_on: date
    note: str
    author: str
    recorded_at: datetime


class HistoryEmailOut(Out):
    id: int
    kind: str
    subject: str
    status: EmailStatus
    needs_attention: bool
    recipients: list[str]
    author: str
    queued_at: datetime
    # The client's reply this email answers.
    answers_reply: int | None = None


class WorkReportSentOut(Out):
    at: datetime
    recipients: list[str]
    email_id: int


class OrderHistoryOut(Out):
    """The order's communication: emails newest first, paper hand-overs, and the flags the
    staff must see (a failed or bounced email; the work report sent for billing)."""

    needs_attention: bool
    work_report_sent: WorkReportSentOut | None
    work_report_handed_over: HandoverOut | None
    emails: list[HistoryEmailOut]
    handovers: list[HandoverOut]


class ConversationEntryOut(Out):
    """One thing said about the order, marked by `kind`; the field of that kind is set. A reply
    and a note name the email they are about."""

    kind: Literal["email", "reply", "handover", "note"]
    at: datetime
    email: HistoryEmailOut | None = None
    reply: ReplyOut | None = None
    handover: HandoverOut | None = None
    note: NoteOut | None = None
    about_email_id: int | None = None
    about_subject: str = ""


class WorkReportStateOut(Out):
    """The state of the order's newest work report email, for the order list."""

    order_id: int
    status: EmailStatus
    queued_at: datetime


class RetentionPreviewOut(Out):
    older_than: datetime
    count: int
    first: datetime | None
    last: datetime | None


class RetentionIn(In):
    older_than: datetime
    # The count the person confirmed; refused when it changed meanwhile.
    confirm_count: Annotated[int, msgspec.Meta(ge=0)]


class VerifyOut(Out):
    intact: bool
    entries: int
    companies: int
    problem: str
