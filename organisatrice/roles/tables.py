"""Tables of the roles room: the company (tenant), its employees, sign-in sessions."""

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


class Company(Table):
    id = Serial(primary_key=True)
    name = Varchar(length=200)
    street = Varchar(length=200, default="")
    postal_code = Varchar(length=20, default="")
    city = Varchar(length=100, default="")
    country = Varchar(length=2, default="CH")
    phone = Varchar(length=50, default="")
    email = Varchar(length=254, default="")
    website = Varchar(length=200, default="")
    logo_sha256 = Varchar(length=64, null=True, default=None)
    brand_colour = Varchar(length=7, default="#1d4ed8")
    email_enabled = Boolean(default=True)
    # The address emails go out from; its domain also names the Message-IDs.
    sender_address = Varchar(length=254, default="")
    # Largest email, counted after encoding; photos are resized to fit.
    mail_size_budget = Integer(default=10_000_000)
    created_at = Timestamptz(default=TimestamptzNow())


class Employee(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    first_name = Varchar(length=100)
    last_name = Varchar(length=100)
    # Sign-in is by email alone, so an address names one employee across all companies.
    email = Varchar(length=254, unique=True)
    phone = Varchar(length=50, default="")
    locale = Varchar(length=5, default="de")
    time_zone = Varchar(length=64, default="Europe/Zurich")
    password_hash = Varchar(length=200)
    active = Boolean(default=True)
    roles = Array(base_column=Varchar(length=20), default=list)
    may_email = Boolean(default=True)
    signature = Text(default="")
    # Which notifications the employee gets and which also by email (roles/notices.py), as
    # JSON; empty: every one shown, none emailed.
    notice_choices = Text(default="")
    created_at = Timestamptz(default=TimestamptzNow())
    # Where the employee signed in from lately (client addresses): failures from elsewhere do
    # not lock them out there.
    usual_sources = Array(base_column=Varchar(length=45), default=list)


class SignInSession(Table):
    """A server-side session: the cookie holds a random token, the table only its hash."""

    id = Serial(primary_key=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    employee = ForeignKey(references=Employee, on_delete=OnDelete.cascade, index=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz(index=True)


class SignInFailure(Table):
    """Failed sign-ins, counted per address to throttle password guessing across processes."""

    id = Serial(primary_key=True)
    email = Varchar(length=254, index=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    # The client address the attempt came from (behind a trusted proxy: the one it names).
    source = Varchar(length=45, default="", index=True)


class PermissionChange(Table):
    """Who changed roles, switches or responsibilities, when, and from what to what."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    changed_by = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    at = Timestamptz(default=TimestamptzNow(), index=True)
    subject = Varchar(length=20)
    subject_id = Integer()
    subject_label = Varchar(length=300, default="")
    field = Varchar(length=50)
    before = Text(default="")
    after = Text(default="")


class ApiToken(Table):
    """A machine's credential (an ERP's, say): the company it acts for and what it may do. The
    secret is shown once; only its SHA-256 is kept."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    name = Varchar(length=100)
    scopes = Array(base_column=Varchar(length=30), default=list)
    token_hash = Varchar(length=64, unique=True, index=True)
    # The secret's first characters, so a person can tell two tokens apart in the list.
    prefix = Varchar(length=12)
    created_by = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    last_used_at = Timestamptz(null=True, default=None)
    expires_at = Timestamptz(null=True, default=None)
    revoked_at = Timestamptz(null=True, default=None)


class PasswordLink(Table):
    """A single-use link to set a password: a reset back-office sent, or the invitation of a
    new employee. The link carries a random secret; only its SHA-256 is kept."""

    id = Serial(primary_key=True)
    employee = ForeignKey(references=Employee, on_delete=OnDelete.cascade, index=True)
    token_hash = Varchar(length=64, unique=True, index=True)
    purpose = Varchar(length=20)
    created_by = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    created_at = Timestamptz(default=TimestamptzNow())
    expires_at = Timestamptz()
    used_at = Timestamptz(null=True, default=None)
