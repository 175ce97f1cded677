"""The outbox of events: an event is written with one delivery per endpoint that wants it, in
the transaction of the change that caused it, so that neither exists without the other; the
delivery loop (delivery.py) sends them afterwards."""

from __future__ import annotations

import secrets
from collections.abc import Collection, Sequence
from datetime import UTC, datetime
from typing import Any

import msgspec
from piccolo.query import Select

from organisatrice.events.tables import WebhookDelivery, WebhookEndpoint, WebhookEvent


class Subscriber(msgspec.Struct, frozen=True, kw_only=True):
    endpoint_id: int
    company_id: int
    event_types: frozenset[str]


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    company_id: int
    type: str
    data: Any
    endpoint_ids: list[int]


class _Envelope(msgspec.Struct, kw_only=True):
    """The body of every event, as the Standard Webhooks specification shapes it (with the id
    of the `webhook-id` header also in the body)."""

    id: str
    type: str
    timestamp: datetime
    data: Any


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(12)}"


async def subscribers(companies: Collection[int] | Select[Any]) -> list[Subscriber]:
    """The active endpoints of these companies, given as ids or as a select of ids (paused
    endpoints too: their events wait for them)."""
    if not isinstance(companies, Select):
        if not companies:
            return []
        companies = list(companies)
    rows = await WebhookEndpoint.select(
        WebhookEndpoint.id, WebhookEndpoint.company, WebhookEndpoint.event_types
    ).where(WebhookEndpoint.company.is_in(companies) & WebhookEndpoint.active.eq(True))
    return [
        Subscriber(
            endpoint_id=r["id"], company_id=r["company"], event_types=frozenset(r["event_types"])
        )
        for r in rows
    ]


async def write(events: Sequence[NewEvent]) -> dict[str, list[int]]:
    """Store the events and their deliveries, in the caller's transaction, in two statements;
    answers each event id with the ids of its deliveries."""
    wanted = [event for event in events if event.endpoint_ids]
    if not wanted:
        return {}
    now = datetime.now(UTC)
    rows: list[WebhookEvent] = []
    for event in wanted:
        event_id = new_event_id()
        body = _Envelope(id=event_id, type=event.type, timestamp=now, data=event.data)
        rows.append(
            WebhookEvent(
                company=event.company_id,
                event_id=event_id,
                type=event.type,
                payload=msgspec.json.encode(body).decode(),
                created_at=now,
            )
        )
    stored = await WebhookEvent.insert(*rows).returning(WebhookEvent.id, WebhookEvent.event_id)
    row_ids = {r["event_id"]: r["id"] for r in stored}
    deliveries = [
        (row.event_id, endpoint_id)
        for row, event in zip(rows, wanted, strict=True)
        for endpoint_id in event.endpoint_ids
    ]
    made = await WebhookDelivery.insert(
        *[
            WebhookDelivery(
                endpoint=endpoint_id, event=row_ids[event_id], next_attempt_at=now, status="pending"
            )
            for event_id, endpoint_id in deliveries
        ]
    ).returning(WebhookDelivery.id, WebhookDelivery.event, WebhookDelivery.endpoint)
    event_ids = {row_id: event_id for event_id, row_id in row_ids.items()}
    answer: dict[str, list[int]] = {row.event_id: [] for row in rows}
    for r in sorted(made, key=lambda r: r["id"]):
        answer[event_ids[r["event"]]].append(r["id"])
    return answer


async def emit(company_id: int, event_type: str, data: Any) -> str | None:
    """Queue an event for every active endpoint of the company subscribed to `event_type`, in
    the caller's transaction; answers its id, or None when no endpoint wants it."""
    endpoint_ids = [
        s.endpoint_id for s in await subscribers([company_id]) if event_type in s.event_types
    ]
    written = await write(
        [NewEvent(company_id=company_id, type=event_type, data=data, endpoint_ids=endpoint_ids)]
    )
    return next(iter(written), None)
