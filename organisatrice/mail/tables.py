"""Tables of the mail room: the relay of each company, and every email as frozen at send time
with its recipients and its delivery events. An email row is the outbox entry and the archive
entry at once: its bytes never change after it is written."""

from __future__ import annotations

from piccolo.columns import (
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

from organisatrice.orders.tables import Client, Order
from organisatrice.roles.tables import Company, Employee


class MailRelay(Table):
    """The company's SMTP relay; without a row the app's default relay is used."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, unique=True)
    host = Varchar(length=253)
    port = Integer(default=587)
    tls_mode = Varchar(length=10, default="starttls")
    username = Varchar(length=254, default="")
    # Fernet token of the password, keyed from SECRET_KEY; never returned by the API.
    password_encrypted = Text(default="")
    # How the app signs in: "password", or OAuth 2.0 with "microsoft" (client credentials of
    # the tenant's app registration) or "google" (a refresh token from the consent flow).
    auth_method = Varchar(length=20, default="password")
    oauth_tenant = Varchar(length=100, default="")
    oauth_client_id = Varchar(length=200, default="")
    # Fernet tokens like the password; never returned by the API.
    oauth_client_secret_encrypted = Text(default="")
    oauth_refresh_token_encrypted = Text(default="")
    # Why the last token request failed (empty when it worked): shown in the relay test and
    # to back-office as a notification until a token is had again.
    oauth_failure = Text(default="")
    oauth_failure_code = Varchar(length=40, default="")
    oauth_failed_at = Timestamptz(null=True, default=None)
    bounce_domain = Varchar(length=253, default="")
    # Replies to the order: Reply-To is the email's own address on the bounce domain, so the
    # client's answer lands on the order (once a tracking probe has come back: the receiver is
    # reachable there); off, replies go to the author's mailbox.
    replies_to_order = Boolean(default=True)
    daily_limit = Integer(default=300)
    monthly_limit = Integer(default=1000)


class SentEmail(Table):
    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.restrict, index=True)
    author = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True, index=True)
    # Copied from the order at send time: the archive filters on them without joins, and they
    # stay what they were when the email went out.
    client = ForeignKey(references=Client, on_delete=OnDelete.restrict, index=True)
    order_number = Varchar(length=30, index=True)
    # Every recipient address, space-separated, for the substring search (trigram index).
    recipient_list = Text(default="")
    template_id = Integer(null=True, default=None)
    template_name = Varchar(length=200, default="")
    kind = Varchar(length=30, index=True)
    subject = Text()
    sender = Varchar(length=254)
    # JSON of the frozen facts: recipients with names, the six blocks, attachments with hashes.
    recipients = Text()
    blocks = Text()
    attachments = Text()
    message_id = Varchar(length=300, index=True)
    blob_sha256 = Varchar(length=64)
    size = Integer()
    token = Varchar(length=64, unique=True, index=True)
    envelope_sender = Varchar(length=300)
    read_receipt = Boolean(default=False)
    resend_of: ForeignKey[SentEmail] = ForeignKey(
        references="SentEmail", on_delete=OnDelete.set_null, null=True
    )
    # The client's reply this email answers (sent from the reply on the order).
    answers_reply: ForeignKey[ClientReply] = ForeignKey(
        references="ClientReply", on_delete=OnDelete.set_null, null=True
    )
    status = Varchar(length=20, index=True)
    queued_at = Timestamptz(default=TimestamptzNow(), index=True)
    sent_at = Timestamptz(null=True, default=None)
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    deadline_at = Timestamptz()
    lease_until = Timestamptz(null=True, default=None)
    lease_owner = Varchar(length=100, default="")
    # The archive's hash chain: this entry's hash covers the previous entry's of the company.
    chain_prev = Varchar(length=64, default="")
    chain_hash = Varchar(length=64, default="")
    # 1: a plain SHA-256 of some facts (entries archived before version 2); 2: keyed with the
    # archive key (outside the database) over every frozen fact, with the trail below.
    chain_version = Integer(default=1)
    # The head of this email's chain of internal notes (archive room), covered by the trail.
    notes_head = Varchar(length=64, default="")
    # Keyed MAC of its frozen facts alone, apart from the chain: a chain rewritten from some
    # entry on still shows which entry's facts were changed.
    facts_mac = Varchar(length=64, default="")
    # Keyed MAC of what happened to the email after it was frozen: its delivery events, its
    # recipients' states and its notes' head. Sealed anew in every transaction that adds one.
    trail_mac = Varchar(length=64, default="")


class ChainHead(Table):
    """The last hash of each company's archive chain; locked while an entry is appended, so
    two sends at once cannot both link to the same predecessor."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, unique=True)
    head = Varchar(length=64, default="")
    # Ed25519 signature of the company and its head with the archive key: a chain recomputed
    # or cut short without the key does not end in a signed head.
    signature = Varchar(length=128, default="")


class EmailRecipient(Table):
    """One envelope recipient of an email and how far it got; one bad address never marks the
    others."""

    id = Serial(primary_key=True)
    sent_email = ForeignKey(references=SentEmail, on_delete=OnDelete.cascade, index=True)
    email = Varchar(length=254, index=True)
    name = Varchar(length=200, default="")
    field = Varchar(length=3)
    # This recipient's own return address (VERP: bounce+TOKEN@bounce-domain), so a report that
    # comes back can speak only of the recipient it was sent for. Empty on emails archived
    # before recipients had one (their reports use the email's token).
    # Unique: an index in the migration (SQLite cannot add a UNIQUE column).
    token = Varchar(length=32, null=True, default=None)
    status = Varchar(length=20)
    detail = Text(default="")
    updated_at = Timestamptz(default=TimestamptzNow())


class DeliveryEvent(Table):
    id = Serial(primary_key=True)
    sent_email = ForeignKey(references=SentEmail, on_delete=OnDelete.cascade, index=True)
    at = Timestamptz(default=TimestamptzNow())
    event = Varchar(length=20)
    recipient = Varchar(length=254, default="")
    detail = Text(default="")


class InboundReport(Table):
    """A delivery report or read receipt that came back, kept whole; `problem` says why it
    could not be attributed, so back-office can look at it instead of it being dropped."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    sent_email = ForeignKey(references=SentEmail, on_delete=OnDelete.set_null, null=True)
    received_at = Timestamptz(default=TimestamptzNow(), index=True)
    envelope_from = Varchar(length=300, default="")
    kind = Varchar(length=20)
    blob_sha256 = Varchar(length=64)
    problem = Text(default="")


class ClientReply(Table):
    """An answer to a sent email that came back to its reply address, kept whole (the blob is
    the message as received); the rest is read from it once, for the order's conversation."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    sent_email = ForeignKey(references=SentEmail, on_delete=OnDelete.cascade, index=True)
    order = ForeignKey(references=Order, on_delete=OnDelete.restrict, index=True)
    received_at = Timestamptz(default=TimestamptzNow(), index=True)
    envelope_from = Varchar(length=300, default="")
    sender = Varchar(length=300, default="")
    sender_name = Varchar(length=200, default="")
    subject = Text(default="")
    message_id = Varchar(length=300, default="")
    in_reply_to = Varchar(length=300, default="")
    # What the client wrote, and the quoted history below it (folded away in the UI).
    text = Text(default="")
    quoted = Text(default="")
    # JSON list of {filename, content_type, size}; the bytes stay in the message.
    attachments = Text(default="[]")
    # An out-of-office or other automatic answer (RFC 3834): shown, but nobody is notified.
    automatic = Boolean(default=False)
    # Sent from an address the email did not go to.
    unknown_sender = Boolean(default=False)
    # The receiving MX's Authentication-Results (SPF, DKIM, DMARC), as it wrote them.
    authentication = Text(default="")
    blob_sha256 = Varchar(length=64)
    # Someone took care of it (answered, or saw nothing to do): it leaves the notifications.
    handled_at = Timestamptz(null=True, default=None)
    handled_by = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    # The HTML part as the sanitiser (nh3) left it, shown in a sandboxed frame; "" when none.
    html = Text(default="")
    # The copy to the author's own mailbox (mail/forwards.py): "" none, "queued", "sent",
    # "failed"; retried at `forward_next_at` (also the lease of the worker sending it).
    forward_state = Varchar(length=10, default="", index=True)
    forward_attempts = Integer(default=0)
    forward_next_at = Timestamptz(null=True, default=None)


class TrackingCheck(Table):
    """Whether reports can find their way back for the company: its last probe (an email to
    its own return address, mail/tracking.py), when one last came back, and whether a probe
    goes out every day."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, unique=True)
    daily = Boolean(default=False)
    probe_token = Varchar(length=32, null=True, default=None, unique=True)
    sent_at = Timestamptz(null=True, default=None)
    returned_at = Timestamptz(null=True, default=None)
    # Why the last probe could not be sent (empty when the relay took it); `problem_code` is
    # stable, for the UI to word.
    problem = Text(default="")
    problem_code = Varchar(length=40, default="")
    verified_at = Timestamptz(null=True, default=None)
