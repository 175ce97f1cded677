"""Delivering events: a worker claims due deliveries under a lease, signs each body as the
Standard Webhooks specification says (the `standardwebhooks` library), POSTs it to the address
the outbound guard answers, and records the attempt in the delivery log.

A 2xx answer delivers; anything else is retried with growing pauses for more than a day, with
the same event id, so a receiver that was down gets each event once it is up and can drop the
ones it already has. An event still failing after the last retry is given up, and its endpoint
paused: back-office sees why in the endpoint list and switches it on again. Runs beside the
mail worker: in the app by default, or in `organisatrice worker`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
from standardwebhooks import Webhook

from organisatrice.core.codes import Code
from organisatrice.core.db import bound_list, is_sqlite, transaction
from organisatrice.core.errors import Invalid
from organisatrice.core.outbound import WEB_PORTS, IPAddress, outbound_address
from organisatrice.core.rounds import run_rounds, worker_name
from organisatrice.events.schemas import DeliveryStatus
from organisatrice.events.tables import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from organisatrice.mail.relay import decrypt_password

log = logging.getLogger("organisatrice.events")

# The pause after each failed attempt: more than 24 hours from the first attempt to the last
# (about 26), then the event is given up.
RETRY_DELAYS = (
    timedelta(seconds=30),
    timedelta(minutes=2),
    timedelta(minutes=10),
    timedelta(hours=1),
    timedelta(hours=3),
    timedelta(hours=6),
    timedelta(hours=8),
    timedelta(hours=8),
)
TIMEOUT_SECONDS = 10.0
# Longer than a batch takes to one endpoint at TIMEOUT_SECONDS each.
LEASE = timedelta(minutes=5)
BATCH = 20
POLL_SECONDS = 2.0
# How much of an error answer's body the delivery log keeps.
EXCERPT_BYTES = 300
USER_AGENT = "Organisatrice-Webhooks/1"

_wake = asyncio.Event()


def wake_webhooks() -> None:
    """Tell an in-process delivery loop that a delivery is due now."""
    _wake.set()


def _now() -> datetime:
    return datetime.now(UTC)


class Claimed(msgspec.Struct, frozen=True, kw_only=True):
    delivery_id: int
    attempts: int
    endpoint_id: int
    url: str
    secret_encrypted: str
    event_id: str
    payload: str


class Outcome(msgspec.Struct, frozen=True, kw_only=True):
    status_code: int | None
    duration_ms: int
    error: str

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


async def endpoint_address(url: str) -> tuple[httpx.URL, IPAddress]:
    """The endpoint's URL and the address to send to, or `Invalid` naming the field `url`."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as bad:
        raise Invalid(
            f"This is not a web address: {bad}.", code=Code.URL_INVALID, field="url"
        ) from None
    if parsed.scheme not in ("https", "http") or not parsed.host:
        raise Invalid(
            "The address must start with https:// and name a host.",
            code=Code.URL_INVALID,
            field="url",
        )
    if parsed.userinfo:
        raise Invalid(
            "Put no user name or password in the address: the signature of every event "
            "tells the receiver that it comes from us.",
            code=Code.URL_WITH_CREDENTIALS,
            field="url",
        )
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    address = await outbound_address(parsed.host, port, usual_ports=WEB_PORTS, field="url")
    if parsed.scheme == "http" and address.is_global:
        raise Invalid(
            "Use https:// for a public address: events carry clients' email addresses.",
            code=Code.URL_NEEDS_HTTPS,
            field="url",
        )
    return parsed, address


# Due: waiting and due now, not under a live lease, of an endpoint that is on and not paused.
# Written out in each statement, every value a bound parameter.
_DUE_SQLITE = (
    "SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint "
    "WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= {} "
    "AND (d.lease_until IS NULL OR d.lease_until < {}) AND e.active AND e.paused_at IS NULL "
    "ORDER BY d.next_attempt_at, d.id LIMIT {}"
)
_TAKE_SQLITE = "UPDATE webhook_delivery SET lease_until = {}, lease_owner = {} WHERE id IN ({})"
_TAKE_POSTGRES = (
    "WITH due AS (SELECT d.id FROM webhook_delivery d JOIN webhook_endpoint e ON e.id = d.endpoint "
    "WHERE d.status IN ('pending', 'failed') AND d.next_attempt_at <= {} "
    "AND (d.lease_until IS NULL OR d.lease_until < {}) AND e.active AND e.paused_at IS NULL "
    "ORDER BY d.next_attempt_at, d.id LIMIT {} FOR UPDATE OF d SKIP LOCKED) "
    "UPDATE webhook_delivery w SET lease_until = {}, lease_owner = {} "
    "FROM due WHERE w.id = due.id RETURNING w.id"
)


async def claim(worker: str, *, limit: int) -> list[Claimed]:
    """Take up to `limit` due deliveries under this worker's lease (committed when this
    returns); no other worker takes them while the lease holds."""
    now = _now()
    until = now + LEASE
    async with transaction():
        if is_sqlite():
            # This IMMEDIATE transaction holds SQLite's only write lock from SELECT to UPDATE.
            due = await WebhookDelivery.raw(_DUE_SQLITE, now, now, limit)
            if due:
                await WebhookDelivery.raw(
                    _TAKE_SQLITE, until, worker, bound_list([r["id"] for r in due])
                )
        else:
            due = await WebhookDelivery.raw(_TAKE_POSTGRES, now, now, limit, until, worker)
    return await claimed([int(r["id"]) for r in due])


async def claimed(delivery_ids: list[int]) -> list[Claimed]:
    """What sending these deliveries needs, oldest due first."""
    if not delivery_ids:
        return []
    rows = (
        await WebhookDelivery.select(
            WebhookDelivery.id.as_alias("delivery_id"),
            WebhookDelivery.attempts,
            WebhookDelivery.endpoint.id.as_alias("endpoint_id"),
            WebhookDelivery.endpoint.url.as_alias("url"),
            WebhookDelivery.endpoint.secret_encrypted.as_alias("secret_encrypted"),
            WebhookDelivery.event.event_id.as_alias("event_id"),
            WebhookDelivery.event.payload.as_alias("payload"),
        )
        .where(WebhookDelivery.id.is_in(delivery_ids))
        .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id)
    )
    return msgspec.convert(rows, list[Claimed])


def _signed_headers(delivery: Claimed, body: bytes) -> dict[str, str]:
    try:
        secret = decrypt_password(delivery.secret_encrypted)
    except RuntimeError:
        raise Invalid(
            "The signing secret cannot be decrypted: SECRET_KEY changed since the endpoint was "
            "created. Delete the endpoint and create it again.",
            code=Code.WEBHOOK_SECRET_UNREADABLE,
        ) from None
    now = _now()
    return {
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(delivery.event_id, now, body),
        "content-type": "application/json",
        "user-agent": USER_AGENT,
    }


def _refusal(response: httpx.Response, excerpt: bytes) -> str:
    if 300 <= response.status_code < 400:
        return (
            f"HTTP {response.status_code}: redirects are not followed; enter the address it "
            f"points to ({response.headers.get('location', 'none given')})."
        )
    text = excerpt.decode("utf-8", "replace").strip()
    return f"HTTP {response.status_code} {response.reason_phrase}: {text}".rstrip(": ")


async def _post(client: httpx.AsyncClient, delivery: Claimed) -> tuple[int, str]:
    """POST the event to the address the guard allowed; answers the status and, for an answer
    that is not 2xx, what it said."""
    url, address = await endpoint_address(delivery.url)
    body = delivery.payload.encode()
    request = client.build_request(
        "POST",
        # To the address judged, not the name again (DNS rebinding); the name in Host and TLS.
        url.copy_with(host=str(address)),
        content=body,
        headers={"host": url.netloc.decode("ascii"), **_signed_headers(delivery, body)},
        extensions={"sni_hostname": url.host} if url.scheme == "https" else {},
    )
    response = await client.send(request, stream=True)
    try:
        if 200 <= response.status_code < 300:
            return response.status_code, ""
        excerpt = b""
        async for chunk in response.aiter_bytes():
            excerpt += chunk
            if len(excerpt) >= EXCERPT_BYTES:
                break
        return response.status_code, _refusal(response, excerpt[:EXCERPT_BYTES])
    finally:
        await response.aclose()


async def attempt(client: httpx.AsyncClient, delivery: Claimed) -> Outcome:
    """One attempt; whatever went wrong is the outcome's error, for the delivery log."""
    started = time.monotonic()
    status_code: int | None = None
    try:
        async with asyncio.timeout(TIMEOUT_SECONDS):
            status_code, error = await _post(client, delivery)
    except Invalid as refused:
        error = refused.detail
    except TimeoutError:
        error = f"No answer within {TIMEOUT_SECONDS:g} seconds."
    except httpx.HTTPError as failed:
        error = f"{type(failed).__name__}: {failed}".rstrip(": ")
    duration_ms = round((time.monotonic() - started) * 1000)
    return Outcome(status_code=status_code, duration_ms=duration_ms, error=error[:1000])


Results = list[tuple[Claimed, Outcome]]


async def _deliver_to_endpoint(group: list[Claimed], results: Results) -> list[Claimed]:
    """One endpoint's deliveries in order over one connection; after a failure the rest are
    not tried now (answered, to wait for the next round): a receiver that is down costs one
    attempt a round, not one per event."""
    # A client per endpoint: a connection is never reused for another host on the same address.
    async with httpx.AsyncClient(
        timeout=TIMEOUT_SECONDS, follow_redirects=False, trust_env=False
    ) as client:
        for n, delivery in enumerate(group):
            outcome = await attempt(client, delivery)
            results.append((delivery, outcome))
            if not outcome.delivered:
                return group[n + 1 :]
    return []


# Stored in English; read back into its parts (core/sentences.py) for the UI to word.
PAUSED_REASON = (
    "Event {event} could not be delivered in {attempts} attempts over {hours} hours (last: "
    "{error}). Check the receiver, then switch the endpoint on again; the events since then "
    "wait for it."
)


def _paused_reason(delivery: Claimed, outcome: Outcome) -> str:
    hours = round(sum(RETRY_DELAYS, timedelta()).total_seconds() / 3600)
    return PAUSED_REASON.format(
        event=delivery.event_id,
        attempts=len(RETRY_DELAYS) + 1,
        hours=hours,
        error=outcome.error,
    )


async def record(results: Results, postponed: Sequence[Claimed] = ()) -> None:
    """Write the attempts, what becomes of each delivery, and each endpoint's failure count; an
    endpoint whose event was given up is paused. One transaction."""
    now = _now()
    paused: dict[int, str] = {}
    async with transaction():
        if results:
            await WebhookAttempt.insert(
                *[
                    WebhookAttempt(
                        delivery=d.delivery_id,
                        at=now,
                        status_code=o.status_code,
                        duration_ms=o.duration_ms,
                        error=o.error,
                    )
                    for d, o in results
                ]
            )
        failures: dict[int, list[bool]] = defaultdict(list)
        for delivery, outcome in results:
            attempts = delivery.attempts + 1
            failures[delivery.endpoint_id].append(not outcome.delivered)
            values: dict[Any, Any] = {
                WebhookDelivery.attempts: attempts,
                WebhookDelivery.lease_until: None,
                WebhookDelivery.lease_owner: "",
                WebhookDelivery.last_status_code: outcome.status_code,
                WebhookDelivery.last_error: outcome.error,
            }
            if outcome.delivered:
                values[WebhookDelivery.status] = DeliveryStatus.DELIVERED.value
                values[WebhookDelivery.delivered_at] = now
            elif attempts > len(RETRY_DELAYS):
                values[WebhookDelivery.status] = DeliveryStatus.GIVEN_UP.value
                paused[delivery.endpoint_id] = _paused_reason(delivery, outcome)
            else:
                values[WebhookDelivery.status] = DeliveryStatus.FAILED.value
                values[WebhookDelivery.next_attempt_at] = now + RETRY_DELAYS[attempts - 1]
            await WebhookDelivery.update(values).where(WebhookDelivery.id == delivery.delivery_id)
        if postponed:
            await WebhookDelivery.update(
                {
                    WebhookDelivery.lease_until: None,
                    WebhookDelivery.lease_owner: "",
                    WebhookDelivery.next_attempt_at: now + RETRY_DELAYS[0],
                }
            ).where(WebhookDelivery.id.is_in([d.delivery_id for d in postponed]))
        for endpoint_id, failed in failures.items():
            count: Any = WebhookEndpoint.consecutive_failures + len(failed)
            if not all(failed):
                # Counted again from the last success.
                count = failed[::-1].index(False)
            await WebhookEndpoint.update({WebhookEndpoint.consecutive_failures: count}).where(
                WebhookEndpoint.id == endpoint_id
            )
        for endpoint_id, reason in paused.items():
            log.warning("webhook endpoint %s paused: %s", endpoint_id, reason)
            await WebhookEndpoint.update(
                {WebhookEndpoint.paused_at: now, WebhookEndpoint.paused_reason: reason}
            ).where((WebhookEndpoint.id == endpoint_id) & WebhookEndpoint.paused_at.is_null())


async def deliver(deliveries: list[Claimed]) -> int:
    """Send claimed deliveries, each endpoint's in order and endpoints side by side, and record
    what happened; answers how many were attempted."""
    groups: dict[int, list[Claimed]] = defaultdict(list)
    for delivery in deliveries:
        groups[delivery.endpoint_id].append(delivery)
    results: Results = []
    outcomes = await asyncio.gather(
        *(_deliver_to_endpoint(group, results) for group in groups.values()),
        return_exceptions=True,
    )
    postponed = [d for rest in outcomes if isinstance(rest, list) for d in rest]
    # What was sent is on record even if one endpoint's round failed; the rest of that
    # endpoint's deliveries wait for their leases to expire.
    await record(results, postponed)
    for failure in outcomes:
        if isinstance(failure, BaseException):
            raise failure
    return len(results)


async def run_round(worker: str, *, limit: int = BATCH) -> int:
    """Deliver what is due now; answers how many deliveries were attempted."""
    due = await claim(worker, limit=limit)
    return await deliver(due) if due else 0


async def run_webhooks(stop: asyncio.Event, *, worker: str | None = None) -> None:
    name = worker or worker_name()
    await run_rounds(
        f"webhook delivery {name}",
        lambda: run_round(name),
        stop=stop,
        wake=_wake,
        poll_seconds=POLL_SECONDS,
    )
