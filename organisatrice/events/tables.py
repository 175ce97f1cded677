"""Tables of the events room: where a company's events go, the events themselves (the outbox),
one delivery per endpoint and event, and every attempt of it (the delivery log)."""

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

from organisatrice.roles.tables import Company


class WebhookEndpoint(Table):
    """An address that receives the company's events of the types it subscribed to. The system
    pauses it when it keeps failing; back-office switches it on again."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    url = Varchar(length=2000)
    description = Varchar(length=200, default="")
    event_types = Array(base_column=Varchar(length=40), default=list)
    # Fernet token of the signing secret (whsec_…), keyed from SECRET_KEY like the relay
    # password; the API shows the secret once, when the endpoint is created.
    secret_encrypted = Text()
    active = Boolean(default=True)
    paused_at = Timestamptz(null=True, default=None)
    paused_reason = Text(default="")
    consecutive_failures = Integer(default=0)
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookEvent(Table):
    """An event as sent: `payload` is the JSON body, signed byte for byte; `event_id` is its
    idempotency key (the `webhook-id` header), the same on every attempt."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    event_id = Varchar(length=40, unique=True)
    type = Varchar(length=40)
    payload = Text()
    created_at = Timestamptz(default=TimestamptzNow())


class WebhookDelivery(Table):
    """One event for one endpoint: pending, failed (to be retried at `next_attempt_at`),
    delivered or given up. A worker holds it under a lease while it sends."""

    id = Serial(primary_key=True)
    endpoint = ForeignKey(references=WebhookEndpoint, on_delete=OnDelete.cascade, index=True)
    event = ForeignKey(references=WebhookEvent, on_delete=OnDelete.cascade, index=True)
    status = Varchar(length=12, default="pending")
    attempts = Integer(default=0)
    next_attempt_at = Timestamptz(default=TimestamptzNow(), index=True)
    lease_until = Timestamptz(null=True, default=None)
    lease_owner = Varchar(length=100, default="")
    last_status_code = Integer(null=True, default=None)
    last_error = Text(default="")
    delivered_at = Timestamptz(null=True, default=None)


class WebhookAttempt(Table):
    """One POST of a delivery: when, what the endpoint answered, how long it took."""

    id = Serial(primary_key=True)
    delivery = ForeignKey(references=WebhookDelivery, on_delete=OnDelete.cascade, index=True)
    at = Timestamptz(default=TimestamptzNow())
    status_code = Integer(null=True, default=None)
    duration_ms = Integer(default=0)
    error = Text(default="")
