"""What the events room takes and answers: endpoints, their delivery log, and the data of the
events it sends."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from organisatrice.core.structs import In, Out


class EventType(StrEnum):
    """The events an endpoint may subscribe to (`order.*` will join them)."""

    EMAIL_QUEUED = "email.queued"
    EMAIL_SENT = "email.sent"
    EMAIL_DELIVERED = "email.delivered"
    EMAIL_DELAYED = "email.delayed"
    EMAIL_BOUNCED = "email.bounced"
    EMAIL_READ = "email.read"
    EMAIL_FAILED = "email.failed"
    WORK_REPORT_SENT = "work_report.sent"


# Sent on request to one endpoint, whatever it subscribed to.
TEST_EVENT = "webhook.test"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    # The last attempt failed; the next one is due at `next_attempt_at`.
    FAILED = "failed"
    DELIVERED = "delivered"
    GIVEN_UP = "given_up"


Url = Annotated[str, msgspec.Meta(min_length=1, max_length=2000)]
Description = Annotated[str, msgspec.Meta(max_length=200)]
EventTypes = Annotated[list[EventType], msgspec.Meta(min_length=1, max_length=len(EventType))]


class WebhookEndpointIn(In):
    url: Url
    event_types: EventTypes
    description: Description = ""


class WebhookEndpointPatch(In):
    url: Url | msgspec.UnsetType = msgspec.UNSET
    event_types: EventTypes | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    # True also resumes an endpoint the system paused, with its failures forgotten.
    active: bool | msgspec.UnsetType = msgspec.UNSET


class WebhookEndpointOut(Out):
    id: int
    url: str
    description: str
    event_types: list[EventType]
    active: bool
    # Set when the system paused the endpoint because it kept failing, with the reason.
    paused_at: datetime | None
    paused_reason: str
    # The reason's parts (event, attempts, hours, error: the receiver's answer or what failed),
    # to word it in the reader's language; empty when not paused.
    paused_params: dict[str, str]
    consecutive_failures: int
    created_at: datetime


class WebhookEndpointCreated(WebhookEndpointOut):
    # The signing secret (whsec_…), in this answer only.
    secret: str


class WebhookDeliveryOut(Out):
    id: int
    event_id: str
    event_type: str
    status: DeliveryStatus
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str


class WebhookAttemptOut(Out):
    """One line of the delivery log."""

    id: int
    at: datetime
    delivery_id: int
    event_id: str
    event_type: str
    status_code: int | None
    duration_ms: int
    error: str
    delivery_status: DeliveryStatus


class EmailEventData(Out):
    """The `data` of an `email.*` or `work_report.sent` event: the facts of the email and what
    happened to one recipient (`recipient` is null for what concerns the whole email). Never
    the message's text, never internal notes."""

    email_id: int
    order_id: int
    order_number: str
    # The order's key in the company's own system, where it has one.
    order_external_id: str | None
    kind: str
    subject: str
    recipient: str | None
    status: str
    detail: str
    at: datetime


class WebhookTestData(Out):
    endpoint_id: int
    message: str
