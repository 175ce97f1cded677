"""Back-office's webhook endpoints: register, change, remove, send a test event, read the
delivery log, send an event again. Every query is scoped to the actor's company; another
company's ids are not found."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime
from typing import Any

import msgspec

from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import Conflict, NotFound
from organisatrice.core.sentences import read_back
from organisatrice.core.structs import Page
from organisatrice.events.delivery import (
    LEASE,
    PAUSED_REASON,
    claimed,
    deliver,
    endpoint_address,
    wake_webhooks,
)
from organisatrice.events.outbox import NewEvent, write
from organisatrice.events.schemas import (
    TEST_EVENT,
    DeliveryStatus,
    EventType,
    WebhookAttemptOut,
    WebhookDeliveryOut,
    WebhookEndpointCreated,
    WebhookEndpointIn,
    WebhookEndpointOut,
    WebhookEndpointPatch,
    WebhookTestData,
)
from organisatrice.events.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from organisatrice.mail.relay import encrypt_password
from organisatrice.roles.policy import Actor

# Every event is sent to each endpoint that wants it: a bound on that fan-out.
MAX_ENDPOINTS = 20

_ENDPOINT = WebhookEndpoint.all_columns(exclude=[WebhookEndpoint.secret_encrypted])


def new_secret() -> str:
    """A signing secret as Standard Webhooks writes it: whsec_ and 32 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def _out(row: dict[str, Any]) -> WebhookEndpointOut:
    known = set(EventType)
    return WebhookEndpointOut(
        id=row["id"],
        url=row["url"],
        description=row["description"],
        event_types=[EventType(t) for t in row["event_types"] if t in known],
        active=row["active"],
        paused_at=row["paused_at"],
        paused_reason=row["paused_reason"],
        paused_params=read_back(PAUSED_REASON, row["paused_reason"]) or {},
        consecutive_failures=row["consecutive_failures"],
        created_at=row["created_at"],
    )


async def _own(actor: Actor, endpoint_id: int) -> dict[str, Any]:
    row: dict[str, Any] | None = (
        await WebhookEndpoint.select(*_ENDPOINT)
        .where((WebhookEndpoint.company == actor.company_id) & (WebhookEndpoint.id == endpoint_id))
        .first()
    )
    if row is None:
        raise NotFound(
            f"Webhook endpoint {endpoint_id} does not exist.",
            code=Code.WEBHOOK_NOT_FOUND,
            params={"id": endpoint_id},
        )
    return row


def _types(event_types: list[EventType]) -> list[str]:
    return sorted({t.value for t in event_types})


async def list_endpoints(actor: Actor) -> list[WebhookEndpointOut]:
    rows = (
        await WebhookEndpoint.select(*_ENDPOINT)
        .where(WebhookEndpoint.company == actor.company_id)
        .order_by(WebhookEndpoint.id)
    )
    return [_out(r) for r in rows]


async def create_endpoint(actor: Actor, data: WebhookEndpointIn) -> WebhookEndpointCreated:
    """Register an endpoint; its address must pass the outbound guard. The answer carries the
    signing secret, which is never shown again."""
    await endpoint_address(data.url)
    secret = new_secret()
    async with transaction():
        if await WebhookEndpoint.count().where(WebhookEndpoint.company == actor.company_id) >= (
            MAX_ENDPOINTS
        ):
            raise Conflict(
                f"A company may have {MAX_ENDPOINTS} webhook endpoints; remove one first.",
                code=Code.TOO_MANY_WEBHOOKS,
                params={"max": MAX_ENDPOINTS},
            )
        [made] = await WebhookEndpoint.insert(
            WebhookEndpoint(
                company=actor.company_id,
                url=data.url,
                description=data.description,
                event_types=_types(data.event_types),
                secret_encrypted=encrypt_password(secret),
            )
        ).returning(WebhookEndpoint.id)
        row = await _own(actor, made["id"])
    return WebhookEndpointCreated(**msgspec.structs.asdict(_out(row)), secret=secret)


async def change_endpoint(
    actor: Actor, endpoint_id: int, data: WebhookEndpointPatch
) -> WebhookEndpointOut:
    """Change the address, description, event types or switch; switching it on also resumes
    an endpoint the system paused, with its failures forgotten."""
    await _own(actor, endpoint_id)
    values: dict[Any, Any] = {}
    if data.url is not msgspec.UNSET:
        await endpoint_address(data.url)
        values[WebhookEndpoint.url] = data.url
    if data.description is not msgspec.UNSET:
        values[WebhookEndpoint.description] = data.description
    if data.event_types is not msgspec.UNSET:
        values[WebhookEndpoint.event_types] = _types(data.event_types)
    if data.active is True:
        values[WebhookEndpoint.active] = True
        values[WebhookEndpoint.paused_at] = None
        values[WebhookEndpoint.paused_reason] = ""
        values[WebhookEndpoint.consecutive_failures] = 0
    elif data.active is False:
        values[WebhookEndpoint.active] = False
    async with transaction():
        await _own(actor, endpoint_id)
        if values:
            await WebhookEndpoint.update(values).where(WebhookEndpoint.id == endpoint_id)
        row = await _own(actor, endpoint_id)
    if data.active is True:
        wake_webhooks()
    return _out(row)


async def delete_endpoint(actor: Actor, endpoint_id: int) -> None:
    """Remove the endpoint with its deliveries and their log."""
    async with transaction():
        await _own(actor, endpoint_id)
        await WebhookEndpoint.delete().where(WebhookEndpoint.id == endpoint_id)


_DELIVERY = (
    WebhookDelivery.id,
    WebhookDelivery.event.event_id.as_alias("event_id"),
    WebhookDelivery.event.type.as_alias("event_type"),
    WebhookDelivery.status,
    WebhookDelivery.attempts,
    WebhookDelivery.next_attempt_at,
    WebhookDelivery.last_status_code,
    WebhookDelivery.last_error,
)


async def _delivery_out(delivery_id: int) -> WebhookDeliveryOut:
    row = await WebhookDelivery.select(*_DELIVERY).where(WebhookDelivery.id == delivery_id).first()
    assert row is not None
    waiting = row["status"] in (DeliveryStatus.PENDING.value, DeliveryStatus.FAILED.value)
    return WebhookDeliveryOut(
        id=row["id"],
        event_id=row["event_id"],
        event_type=row["event_type"],
        status=DeliveryStatus(row["status"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"] if waiting else None,
        last_status_code=row["last_status_code"],
        last_error=row["last_error"],
    )


async def send_test(actor: Actor, endpoint_id: int) -> WebhookDeliveryOut:
    """Send a `webhook.test` event to the endpoint now, whatever it subscribed to, and answer
    how it went; if it failed, it is retried like any event."""
    async with transaction():
        row = await _own(actor, endpoint_id)
        written = await write(
            [
                NewEvent(
                    company_id=actor.company_id,
                    type=TEST_EVENT,
                    data=WebhookTestData(
                        endpoint_id=endpoint_id,
                        message=f"A test event for {row['description'] or row['url']}.",
                    ),
                    endpoint_ids=[endpoint_id],
                )
            ]
        )
        [[delivery_id]] = written.values()
        # Held by this request while it sends, so that the delivery loop leaves it alone.
        await WebhookDelivery.update(
            {
                WebhookDelivery.lease_until: datetime.now(UTC) + LEASE,
                WebhookDelivery.lease_owner: "test",
            }
        ).where(WebhookDelivery.id == delivery_id)
    await deliver(await claimed([delivery_id]))
    return await _delivery_out(delivery_id)


async def delivery_log(
    actor: Actor, endpoint_id: int, *, page: int, per_page: int
) -> Page[WebhookAttemptOut]:
    """Every attempt to send to the endpoint, newest first."""
    await _own(actor, endpoint_id)
    where = WebhookAttempt.delivery.endpoint == endpoint_id
    total = await WebhookAttempt.count().where(where)
    rows = (
        await WebhookAttempt.select(
            WebhookAttempt.id,
            WebhookAttempt.at,
            WebhookAttempt.delivery.as_alias("delivery_id"),
            WebhookAttempt.delivery._.event._.event_id.as_alias("event_id"),
            WebhookAttempt.delivery._.event._.type.as_alias("event_type"),
            WebhookAttempt.status_code,
            WebhookAttempt.duration_ms,
            WebhookAttempt.error,
            WebhookAttempt.delivery.status.as_alias("delivery_status"),
        )
        .where(where)
        .order_by(WebhookAttempt.id, ascending=False)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(
        items=msgspec.convert(rows, list[WebhookAttemptOut]),
        total=total,
        page=page,
        per_page=per_page,
    )


async def resend(actor: Actor, endpoint_id: int, delivery_id: int) -> WebhookDeliveryOut:
    """Send one event to the endpoint again, with the same event id, from the first attempt
    of the retry schedule (after the endpoint is switched on, if it is paused)."""
    async with transaction():
        found = (
            await WebhookDelivery.select(WebhookDelivery.id)
            .where(
                (WebhookDelivery.id == delivery_id)
                & (WebhookDelivery.endpoint == endpoint_id)
                & (WebhookDelivery.endpoint.company == actor.company_id)
            )
            .first()
        )
        if found is None:
            raise NotFound(
                f"Delivery {delivery_id} of webhook endpoint {endpoint_id} does not exist.",
                code=Code.WEBHOOK_DELIVERY_NOT_FOUND,
                params={"id": delivery_id},
            )
        await WebhookDelivery.update(
            {
                WebhookDelivery.status: DeliveryStatus.PENDING.value,
                WebhookDelivery.attempts: 0,
                WebhookDelivery.next_attempt_at: datetime.now(UTC),
                WebhookDelivery.lease_until: None,
                WebhookDelivery.lease_owner: "",
            }
        ).where(WebhookDelivery.id == delivery_id)
    wake_webhooks()
    return await _delivery_out(delivery_id)
