"""What the mail room answers: a sent email's state, its recipients and its history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from organisatrice.core.structs import Out


class EmailStatus(StrEnum):
    QUEUED = "queued"
    SENDING = "sending"
    DEFERRED = "deferred"
    SENT = "sent"
    FAILED = "failed"
    DELIVERED = "delivered"
    BOUNCED = "bounced"
    READ = "read"


class RecipientStateOut(Out):
    email: str
    name: str
    field: str
    status: EmailStatus
    detail: str
    updated_at: datetime
    # The contact the address came from, when it came from one: a bounced address can then
    # be corrected where it lives, so the next draft does not propose it again.
    contact_id: int | None = None


class DeliveryEventOut(Out):
    at: datetime
    event: str
    recipient: str
    detail: str


class SentEmailOut(Out):
    id: int
    order_id: int
    subject: str
    kind: str
    status: EmailStatus
    queued_at: datetime
    sent_at: datetime | None
    recipients: list[RecipientStateOut]


class EmailDetailOut(SentEmailOut):
    events: list[DeliveryEventOut]


class RelayOut(Out):
    host: str
    port: int
    tls_mode: str
    username: str
    password_set: bool
    bounce_domain: str
    daily_limit: int
    monthly_limit: int
    configured: bool


class RelayTestOut(Out):
    ok: bool
    detail: str
    dsn: bool
    # Delivery reports can come back: the relay takes our per-message return address.
    tracking: bool
