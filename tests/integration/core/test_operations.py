"""What operators ask: readiness, and /metrics (who may read it, and that its numbers move with
what happens: an email queued and sent, a request answered, across a server's processes);
JSON logs."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from litestar import Litestar
from prometheus_client.parser import text_string_to_metric_families

from organisatrice.core import health
from organisatrice.core.blobs import open_store
from organisatrice.core.metrics import MULTIPROCESS_DIR
from organisatrice.mail.worker import run_batch
from organisatrice.roles.policy import Role
from organisatrice.settings import get_settings
from tests.client import ApiClient
from tests.factories import make_company, make_employee, make_order, make_relay, make_template
from tests.smtp_relay import smtp_relay

LOOPBACK = "127.0.0.1"


Key = tuple[str, tuple[tuple[str, str], ...]]


async def _metrics(app: Litestar) -> dict[Key, float]:
    async with ApiClient.open(app, source=LOOPBACK) as operator:
        answer = await operator.get("/metrics")
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(answer.text)
        for sample in family.samples
    }


def _value(found: dict[Key, float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def metrics_token() -> Iterator[str]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("METRICS_TOKEN", "scrape-secret-1234")
        get_settings.cache_clear()
        yield "scrape-secret-1234"
    get_settings.cache_clear()


async def test_the_app_is_ready_when_database_migrations_and_blob_store_are(
    anonymous: ApiClient,
) -> None:
    answer = await anonymous.get("/api/health/ready")
    assert answer.status_code == 200, answer.text
    assert answer.json()["checks"] == {"database": "ok", "migrations": "ok", "blob_store": "ok"}


async def test_the_app_is_not_ready_while_its_blob_store_cannot_be_reached(
    app: Litestar, anonymous: ApiClient
) -> None:
    with pytest.MonkeyPatch.context() as patch:
        # A store under a file where a folder should be: every look-up fails.
        unreachable = open_store("file:///dev/null/blobs", timedelta(hours=1))
        patch.setattr(health, "blob_store", lambda: unreachable)
        answer = await anonymous.get("/api/health/ready")
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert body["ready"] is False
    assert body["checks"]["database"] == "ok"
    assert body["checks"]["blob_store"].startswith("unreachable")


async def test_metrics_are_for_this_machine_or_the_token_only(
    app: Litestar, metrics_token: str
) -> None:
    async with ApiClient.open(app, source="203.0.113.7") as stranger:
        assert (await stranger.get("/metrics")).status_code == 403
        wrong = await stranger.get("/metrics", headers={"Authorization": "Bearer guess"})
        assert wrong.status_code == 403
        right = await stranger.get("/metrics", headers={"Authorization": f"Bearer {metrics_token}"})
        assert right.status_code == 200
        assert "organisatrice_outbox_depth" in right.text
    async with ApiClient.open(app, source=LOOPBACK) as proxied:
        # A reverse proxy on this machine connects from loopback: what it passes on is not
        # this machine asking.
        answer = await proxied.get("/metrics", headers={"X-Forwarded-For": "198.51.100.4"})
        assert answer.status_code == 403
        assert "operator" in answer.json()["detail"]


async def test_metrics_follow_an_email_from_the_queue_to_the_relay(app: Litestar) -> None:
    company = await make_company()
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    order = await make_order(company)
    template = await make_template(company, attachments=[])
    with smtp_relay() as (relay, port):
        await make_relay(company, port)
        before = await _metrics(app)
        async with ApiClient.signed_in(app, dispatcher.email) as client:
            draft = await client.post(
                f"/api/orders/{order.id}/drafts",
                json={"template_id": template, "address": "client@client.example"},
            )
            sent = await client.post(f"/api/orders/{order.id}/drafts/{draft.json()['id']}/send")
            assert sent.status_code == 201, sent.text
        queued = await _metrics(app)
        while await run_batch("metrics-test"):
            pass
    assert [r.rcpt_tos for r in relay.received] == [["client@client.example"]]
    handed = await _metrics(app)

    def grew(after: dict[Key, float], name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert grew(queued, "organisatrice_outbox_depth") == 1
    assert _value(queued, "organisatrice_outbox_oldest_seconds") >= 0
    assert grew(queued, "organisatrice_email_states_total", state="queued") == 1
    # The send request itself was timed under its operation, as a success.
    assert grew(queued, "organisatrice_request_seconds_count", route="SendDraft", status="2xx") == 1
    # Ours left the queue (others' emails that earlier tests left may have left with it).
    assert grew(handed, "organisatrice_outbox_depth") <= 0
    assert grew(handed, "organisatrice_email_states_total", state="sent") >= 1


def test_a_server_of_two_processes_counts_both_and_logs_json(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind((LOOPBACK, 0))
        port = s.getsockname()[1]
    env = dict(os.environ, HOST=LOOPBACK, PORT=str(port), LOG_FORMAT="json", WORKER_IN_APP="0")
    env.pop(MULTIPROCESS_DIR, None)
    log = tmp_path / "server.log"
    with log.open("wb") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "organisatrice", "serve", "--workers", "2"],
            env=env,
            stdout=out,
            stderr=out,
        )
    base = f"http://{LOOPBACK}:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/api/health/ready", timeout=2).status_code == 200:
                    break
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()[-3000:]
            time.sleep(0.1)

        def health_requests() -> float:
            answer = httpx.get(f"{base}/metrics", timeout=10)
            assert answer.status_code == 200, answer.text
            return sum(
                sample.value
                for family in text_string_to_metric_families(answer.text)
                for sample in family.samples
                if sample.name == "organisatrice_request_seconds_count"
                and sample.labels["route"] == "GetHealth"
            )

        before = health_requests()
        # A connection each: the two processes take turns accepting them.
        for _ in range(20):
            assert httpx.get(f"{base}/api/health", timeout=10).status_code == 200
        # Whichever process answers, it adds up both.
        assert [health_requests() - before for _ in range(4)] == [20.0] * 4
    finally:
        server.terminate()
        server.wait(timeout=20)
    lines = [line for line in log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]
    assert {"time", "level", "logger", "message"} <= set(records[0])
    assert any(r["logger"] == "uvicorn.access" and "/api/health" in r["message"] for r in records)
