"""What the mail room answers: a sent email's state, its recipients and its history."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Literal

from organisatrice.core.codes import HistoryCode
from organisatrice.core.structs import Out


class EmailStatus(StrEnum):
    """One vocabulary of outcomes, per recipient and for the email (its recipients' most
    pressing). `deferred`: the relay did not take it yet, we try again. `delayed`: the relay
    took it and a report says delivery is slow. `bounced`: not delivered, whether the relay
    refused the address or a later report bounced it (the detail says which). `failed`: we could
    not hand it to the relay before the deadline."""

    QUEUED = "queued"
    SENDING = "sending"
    DEFERRED = "deferred"
    SENT = "sent"
    DELAYED = "delayed"
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
    # The detail's code and params when it is in our words (mail/lines.py), for the UI.
    code: HistoryCode | None = None
    params: dict[str, str] = {}
    # The contact the address came from, when it came from one: a bounced address can then
    # be corrected where it lives, so the next draft does not propose it again.
    contact_id: int | None = None


class DeliveryEventOut(Out):
    at: datetime
    event: str
    recipient: str
    detail: str
    code: HistoryCode | None = None
    params: dict[str, str] = {}


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
    # Clients' answers land on the order (once the bounce domain's receiver is reachable).
    replies_to_order: bool = True
    # "password", or OAuth 2.0 with "microsoft" (client credentials) or "google" (consent).
    auth_method: str = "password"
    oauth_tenant: str = ""
    oauth_client_id: str = ""
    oauth_client_secret_set: bool = False
    # Google: the consent was given and a refresh token is stored.
    oauth_connected: bool = False
    # The last token request failed (a revoked grant, an expired secret): what, and when.
    oauth_failure: str = ""
    oauth_failure_code: str = ""
    oauth_failed_at: datetime | None = None


class RelayStep(StrEnum):
    CONNECTION = "connection"
    TLS = "tls"
    AUTHENTICATION = "authentication"
    SENDER = "sender"
    RETURN_PATH = "return_path"
    DSN = "dsn"


class RelayFindingOut(Out):
    """One step of the relay test: `code` is stable (the UI words it in the reader's
    language), `text` says it in English with what the relay answered, and `reply` is that
    answer alone, as the relay gave it ("550 5.7.1 Sender not allowed"), when it gave one."""

    step: RelayStep
    outcome: Literal["passed", "warning", "failed", "skipped"]
    code: str
    text: str
    reply: str = ""


class RelayTestOut(Out):
    ok: bool
    detail: str
    dsn: bool
    # Delivery reports can come back: the relay takes our per-message return address.
    tracking: bool
    findings: list[RelayFindingOut] = []


class OAuthConsentOut(Out):
    """Where to send the browser for the provider's consent page."""

    authorization_url: str
