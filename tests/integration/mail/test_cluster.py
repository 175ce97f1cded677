"""Many processes on one PostgreSQL and one object store, as a hosting company runs them: three
app servers, two workers and one receiver of reports, each a real `organisatrice` process. A
dispatcher sends through all three servers; one server, one worker and the receiver are killed
with SIGKILL mid-flight; nothing is lost: every queued email reaches the relay (a duplicate only
for what was in flight at the kill, with the same Message-ID), and every report is recorded
once, whichever process took it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import functools
import itertools
import signal
import subprocess
from collections import Counter
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path

import aiosmtplib
import httpx
import pytest

from organisatrice.core.db import is_sqlite
from organisatrice.mail.tables import EmailRecipient, InboundReport, SentEmail
from organisatrice.mail.worker import BATCH
from tests.factories import (
    DEFAULT_PASSWORD,
    make_company,
    make_employee,
    make_order,
    make_relay,
    make_template,
)
from tests.integration.mail.test_inbound import BOUNCE_DOMAIN, dsn, mdn
from tests.processes import app_process, until
from tests.smtp_relay import RelayHandler, free_port, smtp_relay

pytestmark = pytest.mark.skipif(
    is_sqlite(), reason="app servers on several machines share PostgreSQL and a bucket"
)

LEASE_SECONDS = 3
EMAILS = 45


def _process(
    tmp_path: Path, name: str, *args: str, **env: str
) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return app_process(
        tmp_path / f"{name}.log",
        *args,
        WORKER_IN_APP="0",
        INBOUND_IN_APP="0",
        MAIL_LEASE_SECONDS=str(LEASE_SECONDS),
        **env,
    )


def _server(stack: ExitStack, tmp_path: Path, name: str) -> tuple[str, subprocess.Popen[bytes]]:
    port = free_port()
    process = stack.enter_context(
        _process(tmp_path, name, "serve", HOST="127.0.0.1", PORT=str(port))
    )
    return f"http://127.0.0.1:{port}", process


def _receiver(stack: ExitStack, tmp_path: Path, name: str, port: int) -> subprocess.Popen[bytes]:
    return stack.enter_context(
        _process(tmp_path, name, "inbound", INBOUND_HOST="127.0.0.1", INBOUND_PORT=str(port))
    )


async def _ready(base: str) -> bool:
    try:
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{base}/api/health/ready", timeout=2)).status_code == 200
    except httpx.TransportError:
        return False


async def _smtp_ready(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return False
    writer.close()
    return True


async def _signed_in(base: str, address: str) -> httpx.AsyncClient:
    client = httpx.AsyncClient(base_url=base, timeout=30)
    await client.get("/api/health")
    answer = await client.post(
        "/api/session",
        json={"email": address, "password": DEFAULT_PASSWORD},
        headers={"x-csrftoken": client.cookies["csrftoken"]},
    )
    assert answer.status_code == 200, answer.text
    return client


async def _send(client: httpx.AsyncClient, base: str, order: int, template: int, n: int) -> None:
    """One email from a draft, through the server at `base` (the session works on any)."""
    client.base_url = httpx.URL(base)
    headers = {"x-csrftoken": client.cookies["csrftoken"]}
    draft = await client.post(
        f"/api/orders/{order}/drafts",
        json={"template_id": template, "address": f"client{n}@client.example"},
        headers=headers,
    )
    assert draft.status_code == 201, draft.text
    sent = await client.post(
        f"/api/orders/{order}/drafts/{draft.json()['id']}/send", headers=headers
    )
    assert sent.status_code == 201, sent.text


def _message_ids(relay: RelayHandler) -> Counter[str]:
    return Counter(
        str(email.message_from_bytes(r.data, policy=email.policy.default)["Message-ID"])
        for r in relay.received
    )


async def _count(company: int, status: str) -> int:
    where = (SentEmail.company == company) & (SentEmail.status == status)
    return int(await SentEmail.count().where(where))


async def _report(port: int, rcpt: str, data: bytes) -> None:
    # With the empty return path that reports carry (RFC 3464, RFC 8098).
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as smtp:
        await smtp.sendmail("", [rcpt], data)


async def test_three_servers_two_workers_a_receiver_and_a_kill_of_each_lose_nothing(
    tmp_path: Path,
) -> None:
    company = await make_company()
    dispatcher = await make_employee(company)
    order = (await make_order(company)).id
    template = await make_template(company, attachments=[])
    report_port = free_port()
    with smtp_relay() as (relay, relay_port), ExitStack() as stack:
        relay.data_delay = 0.03
        await make_relay(company, relay_port)
        servers = [_server(stack, tmp_path, f"app{n}") for n in range(3)]
        receiver = _receiver(stack, tmp_path, "inbound", report_port)
        for base, _ in servers:
            await until(functools.partial(_ready, base), seconds=60, what=f"{base} ready")
        await until(lambda: _smtp_ready(report_port), seconds=60, what="the receiver")

        # Sent through the three servers in turn; the second dies after its first few, and
        # its share goes to the others (as a proxy does with a server that stops answering).
        client = await _signed_in(servers[0][0], dispatcher.email)
        alive = [base for base, _ in servers]
        try:
            turn = itertools.cycle(range(3))
            for n in range(EMAILS):
                if n == 10:
                    servers[1][1].send_signal(signal.SIGKILL)
                    servers[1][1].wait()
                    alive.remove(servers[1][0])
                base = servers[next(turn)][0]
                await _send(client, base if base in alive else alive[0], order, template, n)
        finally:
            await client.aclose()
        assert await _count(company, "queued") == EMAILS

        first = stack.enter_context(_process(tmp_path, "worker1", "worker"))
        stack.enter_context(_process(tmp_path, "worker2", "worker"))

        async def some_arrived() -> bool:
            return len(relay.received) >= 10

        await until(some_arrived, seconds=60, what="10 emails at the relay")
        first.send_signal(signal.SIGKILL)
        first.wait()
        in_flight = await _count(company, "sending")
        assert in_flight <= BATCH

        async def all_sent() -> bool:
            return await _count(company, "sent") == EMAILS

        await until(all_sent, seconds=180, what="every email sent by the other worker")
        ids = _message_ids(relay)
        assert len(ids) == EMAILS
        assert sum(ids.values()) - EMAILS <= in_flight

        # Reports: a bounce to the receiver, which is then killed; a read receipt to the one
        # started in its place.
        emails = await (
            SentEmail.select(SentEmail.id, SentEmail.token, SentEmail.message_id)
            .where(SentEmail.company == company)
            .order_by(SentEmail.id)
            .limit(2)
        )
        bounced, read = emails
        recipient = await (
            EmailRecipient.select(EmailRecipient.email, EmailRecipient.token)
            .where(EmailRecipient.sent_email == bounced["id"])
            .first()
        )
        assert recipient is not None and recipient["token"]
        await _report(
            report_port,
            f"bounce+{recipient['token']}@{BOUNCE_DOMAIN}",
            dsn(
                recipient["token"],
                bounced["message_id"],
                (recipient["email"], "failed", "5.1.1", "550 5.1.1 User unknown"),
            ),
        )
        receiver.send_signal(signal.SIGKILL)
        receiver.wait()
        _receiver(stack, tmp_path, "inbound2", report_port)
        await until(lambda: _smtp_ready(report_port), seconds=60, what="the new receiver")
        reader = "client1@client.example"
        await _report(
            report_port,
            f"bounce+{read['token']}@{BOUNCE_DOMAIN}",
            mdn(read["token"], read["message_id"], reader),
        )

        # What the dispatcher sees, on a server that sent none of these.
        client = await _signed_in(servers[2][0], dispatcher.email)
        try:
            states = {}
            for row in (bounced, read):
                answer = await client.get(f"/api/archive/{row['id']}")
                assert answer.status_code == 200, answer.text
                states[row["id"]] = answer.json()["status"]
        finally:
            await client.aclose()
    assert states == {bounced["id"]: "bounced", read["id"]: "read"}
    reports = await InboundReport.select(InboundReport.sent_email).where(
        InboundReport.company == company
    )
    assert Counter(r["sent_email"] for r in reports) == {bounced["id"]: 1, read["id"]: 1}
