"""Tables of the archive room. The emails themselves are the mail room's frozen entries."""

from __future__ import annotations

from piccolo.columns import (
    Date,
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

from organisatrice.mail.tables import SentEmail
from organisatrice.orders.tables import Order
from organisatrice.roles.tables import Company, Employee


class InternalNote(Table):
    """A remark of the staff beside an archived email: append-only, never sent."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    sent_email = ForeignKey(references=SentEmail, on_delete=OnDelete.cascade, index=True)
    author = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    at = Timestamptz(default=TimestamptzNow())
    text = Text()
    # Keyed MAC over the note and the one before it on the same email: an edited or removed
    # note breaks the email's chain of notes, whose head the email's trail covers.
    mac = Varchar(length=64, default="")


class ManualHandover(Table):
    """A document handed over or posted on paper, recorded beside the emails."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.cascade, index=True)
    author = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    kind = Varchar(length=30)
    handed_over_on = Date()
    note = Text(default="")
    recorded_at = Timestamptz(default=TimestamptzNow())


class RetentionCheckpoint(Table):
    """Archived emails deleted by back-office: who, when, how many, which range, and the last
    deleted entry's chain hash, from which the remaining chain is verified."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    deleted_by = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    at = Timestamptz(default=TimestamptzNow())
    deleted_count = Integer()
    older_than = Timestamptz()
    first_deleted_at = Timestamptz(null=True, default=None)
    last_deleted_at = Timestamptz(null=True, default=None)
    last_deleted_id = Integer(default=0)
    last_deleted_hash = Varchar(length=64, default="")


class NoticeEmailed(Table):
    """A notification emailed to an employee who asked for it: never twice the same."""

    id = Serial(primary_key=True)
    employee = ForeignKey(references=Employee, on_delete=OnDelete.cascade, index=True)
    # "email:<id>:<status>" or "reply:<id>": what the notification was about.
    notice = Varchar(length=64)
    # "<employee id>:<notice>"; unique, so two senders cannot both send it.
    key = Varchar(length=90, unique=True)
    sent_at = Timestamptz(default=TimestamptzNow())
