"""Tables of the compose room: email templates and saved drafts."""

from __future__ import annotations

from piccolo.columns import (
    Array,
    Boolean,
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from organisatrice.mail.tables import ClientReply
from organisatrice.orders.tables import Contact, Order
from organisatrice.roles.tables import Company, Employee


class EmailTemplate(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    kind = Varchar(length=30)
    language = Varchar(length=2)
    name = Varchar(length=200)
    subject = Text()
    greeting = Text()
    motivation = Text()
    closing = Text()
    signature = Text()
    attachment_filename = Varchar(length=300, default="")
    # What a draft from this template attaches: work_report, photos, documents.
    attachments = Array(base_column=Varchar(length=20), default=list)
    photos_as_pdf = Boolean(default=False)
    read_receipt = Boolean(default=False)
    # Empty: everyone who may email sees it; otherwise only employees with one of these roles.
    roles = Array(base_column=Varchar(length=20), default=list)
    created_at = Timestamptz(default=TimestamptzNow())
    modified_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)


class Draft(Table):
    """An email being written: blocks as the person left them, saved so a lost connection on
    a tablet loses nothing. `version` guards against two devices overwriting each other."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    template = ForeignKey(references=EmailTemplate, on_delete=OnDelete.set_null, null=True)
    author = ForeignKey(references=Employee, on_delete=OnDelete.cascade, index=True)
    # Indexed: deleting a contact sets its drafts' contact to NULL, and without the index SQLite
    # scans every draft for each contact deleted (minutes for an import's 100,000 contacts).
    contact = ForeignKey(references=Contact, on_delete=OnDelete.set_null, null=True, index=True)
    kind = Varchar(length=30)
    language = Varchar(length=2)
    # JSON documents of Structs (recipients, blocks, attachments): one draft is read whole.
    recipients = Text()
    blocks = Text()
    attachments = Text()
    read_receipt = Boolean(default=False)
    # The client's reply this draft answers (a "reply" draft): sent threaded to it, and it is
    # taken care of once the answer goes.
    reply = ForeignKey(references=ClientReply, on_delete=OnDelete.set_null, null=True)
    version = Integer(default=1)
    created_at = Timestamptz(default=TimestamptzNow())
    updated_at = Timestamptz(default=TimestamptzNow())


class ReportSignature(Table):
    """The client's signature of an order's work report, drawn on the tablet. The order's
    newest row is the one the work report shows. Once a work report went out with it
    (`sent_at`), it stays as it is: a later signature is a new row, so the archive's PDF and
    this row never disagree."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    image_sha256 = Varchar(length=64)
    signer_name = Varchar(length=200)
    # Server time: the tablet's clock is not evidence.
    signed_at = Timestamptz(default=TimestamptzNow())
    captured_by = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    sent_at = Timestamptz(null=True, default=None)
    # What the client saw and signed: the work and material as the report lists them
    # (signatures.report_digest). A report whose work changed since is sent unsigned.
    report_digest = Varchar(length=64, default="")
