"""The worker as its own process: killed in the middle of a batch, and two at once on
PostgreSQL. Real processes, a real relay on loopback, the suite's database."""

from __future__ import annotations

import asyncio
import email
import email.policy
import subprocess
from collections import Counter
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from pathlib import Path

import pytest

from organisatrice.core.db import is_sqlite
from organisatrice.mail.message import Address, MessageSpec, build_message
from organisatrice.mail.outbox import Frozen, freeze, new_token
from organisatrice.mail.tables import SentEmail
from organisatrice.mail.worker import BATCH
from tests.factories import make_company, make_employee, make_order, make_relay
from tests.processes import app_process, until
from tests.smtp_relay import RelayHandler, smtp_relay

LEASE_SECONDS = 2


async def _queue(count: int, port: int) -> int:
    """`count` queued emails of a fresh company whose relay is the test relay."""
    company = await make_company()
    await make_relay(company, port)
    author = await make_employee(company)
    order = await make_order(company)
    for n in range(count):
        built = build_message(
            MessageSpec(
                sender=Address("office@firm.example", "Firm"),
                reply_to=None,
                to=[Address(f"client{n}@client.example")],
                cc=[],
                bcc=[],
                subject=f"Work report {n}",
                text=f"Report {n}\n",
                html=f"<p>Report {n}</p>",
                attachments=[],
                inline_images=[],
                message_id_domain="firm.example",
                date=datetime.now(UTC),
            )
        )
        await freeze(
            Frozen(
                company_id=company,
                order_id=order.id,
                order_number=order.number,
                client_id=order.client_id,
                author_id=author.id,
                template_id=None,
                template_name="",
                kind="work_report",
                subject=f"Work report {n}",
                sender="office@firm.example",
                recipients=[("to", f"client{n}@client.example", "")],
                recipients_json="{}",
                blocks_json="{}",
                attachments_json="[]",
                message_id=built.message_id,
                data=built.data,
                read_receipt=False,
                bounce_domain="bounces.test.example",
                token=new_token(),
            )
        )
    return company


async def _count(company: int, status: str) -> int:
    return int(
        await SentEmail.count().where((SentEmail.company == company) & (SentEmail.status == status))
    )


def _worker(tmp_path: Path, name: str) -> AbstractContextManager[subprocess.Popen[bytes]]:
    return app_process(tmp_path / f"{name}.log", "worker", MAIL_LEASE_SECONDS=str(LEASE_SECONDS))


def _message_ids(relay: RelayHandler) -> Counter[str]:
    return Counter(
        str(email.message_from_bytes(r.data, policy=email.policy.default)["Message-ID"])
        for r in relay.received
    )


async def test_worker_killed_mid_batch_loses_nothing_and_duplicates_only_what_was_in_flight(
    tmp_path: Path,
) -> None:
    with smtp_relay() as (relay, port):
        relay.data_delay = 0.02
        company = await _queue(200, port)
        with _worker(tmp_path, "first") as first:
            await until(lambda: _arrived(relay, 40), seconds=60, what="40 emails at the relay")
            first.kill()
            first.wait()
        in_flight = await _count(company, "sending")
        assert 0 < in_flight <= BATCH  # at most one batch under the lease
        await asyncio.sleep(LEASE_SECONDS + 0.5)
        with _worker(tmp_path, "second"):

            async def all_sent() -> bool:
                return await _count(company, "sent") == 200

            await until(all_sent, seconds=120, what="all 200 emails sent")
        ids = _message_ids(relay)
    assert len(ids) == 200
    duplicates = sum(ids.values()) - 200
    assert duplicates <= in_flight
    interrupted = await SentEmail.raw(
        "SELECT COUNT(*) AS n FROM delivery_event e JOIN sent_email s ON s.id = e.sent_email "
        "WHERE s.company = {} AND e.event = 'interrupted'",
        company,
    )
    assert interrupted[0]["n"] == in_flight


async def _arrived(relay: RelayHandler, count: int) -> bool:
    return len(relay.received) >= count


@pytest.mark.skipif(is_sqlite(), reason="row locks with SKIP LOCKED are PostgreSQL's")
async def test_two_workers_on_postgresql_send_each_email_exactly_once(tmp_path: Path) -> None:
    with smtp_relay() as (relay, port):
        company = await _queue(500, port)
        with _worker(tmp_path, "one"), _worker(tmp_path, "two"):

            async def all_sent() -> bool:
                return await _count(company, "sent") == 500

            await until(all_sent, seconds=180, what="all 500 emails sent")
        ids = _message_ids(relay)
    assert len(ids) == 500
    assert set(ids.values()) == {1}
