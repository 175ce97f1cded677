"""Send path, drain: queued emails to "accepted by the relay", by our worker (the `run_batch` loop:
claim with a lease, read the archived bytes, send over the company's relay connection, record
per recipient), against raw aiosmtplib sending the same bytes over one reused connection.

The receiver is Postfix's smtp-sink. Each round puts the same emails back to `queued` (untimed)
and drains them; the emails are frozen once, through the real `freeze`, so their rows, bytes and
recipients are what the send path makes.

With OAuth, smtp-sink cannot serve (it announces no XOAUTH2): the relay is aiosmtpd with the
project's local OAuth server, in a process of their own (bench/oauth_relay.py). There the
worker signs in with a Microsoft client-credentials token, cached across connections, against
raw aiosmtplib signing in once with a token fetched beforehand; and against itself with no
sign-in on the same relay, which is what OAuth costs.
"""

from __future__ import annotations

import os
import random
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import aiosmtplib
import httpx
import msgspec
from piccolo.columns import Column

from bench.common import (
    Measurement,
    Row,
    alternate,
    elapsed,
    free_port,
    ratio_row,
    start_child,
    stop_child,
    wait_for_port,
)
from bench.oauth_relay import CLIENT_ID, CLIENT_SECRET
from bench.sink import smtp_sink
from organisatrice.core.blobs import blob_store
from organisatrice.core.db import transaction
from organisatrice.mail.message import Address, Attachment, MessageSpec, build_message
from organisatrice.mail.outbox import Frozen, freeze, new_token
from organisatrice.mail.relay import encrypt_password
from organisatrice.mail.tables import MailRelay, SentEmail
from organisatrice.mail.worker import run_batch
from organisatrice.settings import get_settings
from tests.factories import make_company, make_employee, make_order, make_relay

MAILBOX = "office@firm.example"


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    label: str
    count: int
    size: int
    target: bool
    oauth: bool = False


def plans(size: str) -> list[Plan]:
    if size == "tiny":
        return [
            Plan(label="30 KB", count=30, size=30_000, target=True),
            Plan(label="2 MB", count=3, size=2_000_000, target=False),
            Plan(label="30 KB", count=30, size=30_000, target=True, oauth=True),
        ]
    return [
        Plan(label="30 KB", count=2000, size=30_000, target=True),
        Plan(label="2 MB", count=200, size=2_000_000, target=False),
        Plan(label="30 KB", count=2000, size=30_000, target=True, oauth=True),
    ]


class Queue(msgspec.Struct, kw_only=True):
    company: int
    # What raw aiosmtplib sends: (envelope sender, recipients, bytes), as archived.
    envelopes: list[tuple[str, list[str], bytes]]


def sample_message(n: int, size: int, rng: random.Random) -> bytes:
    # An attachment of random bytes (incompressible, like a PDF or photo), sized so that with
    # base64 and the two bodies the whole message is about `size` bytes.
    attachment = rng.randbytes(max(size * 3 // 4 - 3000, 100))
    return build_message(
        MessageSpec(
            sender=Address("office@firm.example", "Lea Keller | Firm AG"),
            reply_to=Address("lea.keller@firm.example", "Lea Keller"),
            to=[Address(f"client{n}@client.example", "Anna Meier")],
            cc=[],
            bcc=[],
            subject=f"Work report 2026-{n:05d}",
            text="Dear Ms Meier,\n\nPlease find attached the work report.\n\nKind regards\n",
            html="<html><body><p>Dear Ms Meier,</p><p>Please find attached the work "
            "report.</p><p>Kind regards</p></body></html>",
            attachments=[Attachment(f"Work report {n}.pdf", "application/pdf", attachment)],
            inline_images=[],
            message_id_domain="firm.example",
            date=datetime.now(UTC),
        )
    ).data


async def make_queue(plan: Plan, port: int) -> Queue:
    company = await make_company(f"Drain {plan.label} {time.time_ns()}")
    await make_relay(company, port, daily_limit=10**9, monthly_limit=10**9)
    if plan.oauth:
        await sign_in_with_oauth(company, on=True)
    author = await make_employee(company)
    order = await make_order(company)
    rng = random.Random(plan.size)
    for n in range(plan.count):
        data = sample_message(n, plan.size, rng)
        address = f"client{n}@client.example"
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
                subject=f"Work report 2026-{n:05d}",
                sender="office@firm.example",
                recipients=[("to", address, "Anna Meier")],
                recipients_json="{}",
                blocks_json="{}",
                attachments_json="[]",
                message_id=f"<bench-{company}-{n}@firm.example>",
                data=data,
                read_receipt=False,
                bounce_domain="bounces.firm.example",
                token=new_token(),
            )
        )
    rows = (
        await SentEmail.select(SentEmail.envelope_sender, SentEmail.blob_sha256)
        .where(SentEmail.company == company)
        .order_by(SentEmail.id)
    )
    store = blob_store()
    envelopes = [
        (r["envelope_sender"], [f"client{n}@client.example"], await store.read(r["blob_sha256"]))
        for n, r in enumerate(rows)
    ]
    return Queue(company=company, envelopes=envelopes)


async def requeue(company: int) -> None:
    """Every email of the company back to `queued`, due now, as if just frozen."""
    now = datetime.now(UTC)
    async with transaction():
        await SentEmail.raw(
            "UPDATE sent_email SET status = 'queued', next_attempt_at = {}, lease_until = NULL, "
            "lease_owner = '', sent_at = NULL, attempts = 0 WHERE company = {}",
            now,
            company,
        )
        await SentEmail.raw(
            "UPDATE email_recipient SET status = 'queued', detail = '' "
            "WHERE sent_email IN (SELECT id FROM sent_email WHERE company = {})",
            company,
        )
        await SentEmail.raw(
            "DELETE FROM delivery_event WHERE event <> 'queued' "
            "AND sent_email IN (SELECT id FROM sent_email WHERE company = {})",
            company,
        )


async def sign_in_with_oauth(company: int, *, on: bool) -> None:
    """The company's relay signs in with Microsoft's client credentials, or not at all."""
    oauth: dict[Column, object] = {
        MailRelay.username: MAILBOX,
        MailRelay.auth_method: "microsoft",
        MailRelay.oauth_tenant: "bench.onmicrosoft.com",
        MailRelay.oauth_client_id: CLIENT_ID,
        MailRelay.oauth_client_secret_encrypted: encrypt_password(CLIENT_SECRET),
    }
    none: dict[Column, object] = {MailRelay.username: "", MailRelay.auth_method: "password"}
    await MailRelay.update(oauth if on else none).where(MailRelay.company == company)


@contextmanager
def oauth_relay() -> Iterator[tuple[int, int]]:
    """`with oauth_relay() as (oauth_port, smtp_port):` bench/oauth_relay.py running, and the
    app's Microsoft token endpoint pointed at it."""
    oauth_port, smtp_port = free_port(), free_port()
    child = start_child(
        [sys.executable, "-m", "bench.oauth_relay", str(oauth_port), str(smtp_port)]
    )
    before = os.environ.get("OAUTH_MICROSOFT_TOKEN_URL")
    try:
        wait_for_port(oauth_port, child)
        wait_for_port(smtp_port, child)
        os.environ["OAUTH_MICROSOFT_TOKEN_URL"] = (
            f"http://127.0.0.1:{oauth_port}/{{tenant}}/oauth2/v2.0/token"
        )
        get_settings.cache_clear()
        yield oauth_port, smtp_port
    finally:
        if before is None:
            os.environ.pop("OAUTH_MICROSOFT_TOKEN_URL", None)
        else:
            os.environ["OAUTH_MICROSOFT_TOKEN_URL"] = before
        get_settings.cache_clear()
        stop_child(child)


def fetch_token(oauth_port: int) -> str:
    """A client-credentials token for the raw baseline, fetched before it is timed."""
    answer = httpx.post(
        f"http://127.0.0.1:{oauth_port}/bench.onmicrosoft.com/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
            "scope": "https://outlook.office365.com/.default",
        },
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


async def _sent(company: int) -> int:
    return int(
        await SentEmail.count().where((SentEmail.company == company) & (SentEmail.status == "sent"))
    )


async def drain_ours(queue: Queue) -> Measurement:
    start = time.perf_counter()
    while await run_batch("bench-worker"):
        pass
    seconds = elapsed(start)
    sent = await _sent(queue.company)
    if sent != len(queue.envelopes):
        raise RuntimeError(f"the worker sent {sent} of {len(queue.envelopes)} emails")
    return {"emails/s": len(queue.envelopes) / seconds, "seconds": seconds}


async def drain_raw(queue: Queue, port: int, *, token: str | None = None) -> Measurement:
    start = time.perf_counter()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
    await client.connect()
    if token is not None:
        await client.auth_xoauth2(MAILBOX, token)
    dsn = client.supports_extension("dsn")
    for n, (sender, recipients, data) in enumerate(queue.envelopes):
        await client.sendmail(
            sender,
            recipients,
            data,
            # The same DSN parameters as our worker asks for.
            mail_options=["RET=HDRS", f"ENVID=bench{n}"] if dsn else [],
            rcpt_options=["NOTIFY=SUCCESS,FAILURE,DELAY"] if dsn else [],
        )
    await client.quit()
    seconds = elapsed(start)
    return {"emails/s": len(queue.envelopes) / seconds, "seconds": seconds}


async def run(size: str, database: str, *, rounds: int, warmup: int) -> list[Row]:
    rows = []
    with smtp_sink() as port:
        for plan in plans(size):
            if not plan.oauth:
                rows.append(await _drain_row(plan, port, database, rounds=rounds, warmup=warmup))
    with oauth_relay() as (oauth_port, smtp_port):
        for plan in plans(size):
            if plan.oauth:
                rows += await _oauth_rows(
                    plan, oauth_port, smtp_port, database, rounds=rounds, warmup=warmup
                )
    return rows


async def _drain_row(plan: Plan, port: int, database: str, *, rounds: int, warmup: int) -> Row:
    print(f"  drain {plan.count} × {plan.label} on {database}: queueing", flush=True)
    queue = await make_queue(plan, port)

    async def ours() -> Measurement:
        return await drain_ours(queue)

    async def raw() -> Measurement:
        return await drain_raw(queue, port)

    async def between(name: str) -> None:
        if name == "ours":
            await requeue(queue.company)

    measured = await alternate(
        {"ours": ours, "raw": raw}, rounds=rounds, warmup=warmup, between=between
    )
    return ratio_row(
        benchmark=f"Send path drain, {plan.count} × {plan.label}",
        database=database,
        unit="emails/s",
        ours=measured["ours"],
        baseline=measured["raw"],
        baseline_name="raw aiosmtplib, one connection",
        key="emails/s",
        target="≥ 0.7× raw" if plan.target else "(information)",
        met=(lambda r: r is not None and r >= 0.7) if plan.target else None,
    )


async def _oauth_rows(
    plan: Plan, oauth_port: int, smtp_port: int, database: str, *, rounds: int, warmup: int
) -> list[Row]:
    print(f"  drain {plan.count} × {plan.label} with OAuth on {database}: queueing", flush=True)
    queue = await make_queue(plan, smtp_port)
    token = fetch_token(oauth_port)

    async def ours() -> Measurement:
        return await drain_ours(queue)

    async def raw() -> Measurement:
        return await drain_raw(queue, smtp_port, token=token)

    async def between(name: str) -> None:
        if name != "raw":
            await sign_in_with_oauth(queue.company, on=name == "ours")
            await requeue(queue.company)

    measured = await alternate(
        {"ours": ours, "raw": raw, "ours without sign-in": ours},
        rounds=rounds,
        warmup=warmup,
        between=between,
    )
    title = f"Send path drain, {plan.count} × {plan.label}, OAuth relay (XOAUTH2, token cached)"
    return [
        ratio_row(
            benchmark=title,
            database=database,
            unit="emails/s",
            ours=measured["ours"],
            baseline=measured["raw"],
            baseline_name="raw aiosmtplib, one connection, one XOAUTH2 sign-in",
            key="emails/s",
            target="≥ 0.7× raw",
            met=lambda r: r is not None and r >= 0.7,
            note="relay: aiosmtpd in its own process (smtp-sink has no XOAUTH2)",
        ),
        ratio_row(
            benchmark=f"OAuth's cost: drain {plan.count} × {plan.label} with vs without sign-in",
            database=database,
            unit="emails/s",
            ours=measured["ours"],
            baseline=measured["ours without sign-in"],
            baseline_name="our worker, same relay, no sign-in",
            key="emails/s",
            target="(information)",
        ),
    ]
