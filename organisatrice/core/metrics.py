"""What an operator watches, at /metrics in Prometheus's text format (prometheus-client).

Counted where it happens, in the process it happens in: request latency (RequestTimer, around
every request), emails changing state (mail/state_log, the one place that says so), delivery
reports received (the receiver). Read from the database at each scrape: the outbox's depth and
the age of its oldest waiting email, which every process sees alike.

Processes on one machine (`serve --workers N`, `worker`, `inbound`) count into one folder when
PROMETHEUS_MULTIPROC_DIR names it (`serve --workers N` makes a fresh one for its processes), and
/metrics adds them up; without it, a process shows its own counts.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime
from typing import Any

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST

REQUEST_SECONDS = Histogram(
    "organisatrice_request_seconds",
    "Time from a request's arrival to its answer's end, by route and status class.",
    ["route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
EMAIL_STATES = Counter(
    "organisatrice_email_states",
    "Emails that reached a state: queued, sent, deferred, failed, bounced, delivered, read.",
    ["state"],
)
REPORTS_RECEIVED = Counter(
    "organisatrice_reports_received",
    "Delivery reports and read receipts received, by what they were read as.",
    ["kind"],
)


class OutboxState(msgspec.Struct, frozen=True, kw_only=True):
    """The queue as the database has it at one moment."""

    depth: int
    oldest: datetime | None


class _Outbox(Collector):
    def __init__(self, state: OutboxState) -> None:
        self.state = state

    def collect(self) -> Any:
        yield GaugeMetricFamily(
            "organisatrice_outbox_depth",
            "Emails waiting to be handed to a relay (queued, deferred or being sent).",
            value=self.state.depth,
        )
        age = (datetime.now(UTC) - self.state.oldest).total_seconds() if self.state.oldest else 0
        yield GaugeMetricFamily(
            "organisatrice_outbox_oldest_seconds",
            "Age of the oldest waiting email (0 when none waits).",
            value=max(age, 0.0),
        )


def exposition(outbox: OutboxState) -> bytes:
    """The text a scrape gets: this machine's counts and the queue."""
    if os.environ.get(MULTIPROCESS_DIR):
        counted = CollectorRegistry()
        MultiProcessCollector(counted)  # type: ignore[no-untyped-call]
    else:
        counted = REGISTRY
    queue = CollectorRegistry()
    queue.register(_Outbox(outbox))
    return generate_latest(counted) + generate_latest(queue)


class RequestTimer:
    """ASGI middleware: each HTTP request's time, labelled with its route's operation (not its
    path: ids would make a series per order)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def sending(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            handler = scope.get("route_handler")
            route = str(getattr(handler, "operation_id", None) or getattr(handler, "name", ""))
            REQUEST_SECONDS.labels(route or "other", f"{status // 100}xx").observe(
                time.perf_counter() - started
            )
