"""Send path, drain: queued emails to "accepted by the relay", by our worker (the `run_batch` loop:
claim with a lease, read the archived bytes, send over the company's relay connection, record
per recipient), against raw aiosmtplib sending the same bytes over one reused connection.

The receiver is Postfix's smtp-sink. Each round puts the same emails back to `queued` (untimed)
and drains them; the emails are frozen once, through the real `freeze`, so their rows, bytes and
recipients are what the send path makes.
"""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime

import aiosmtplib
import msgspec

from bench.common import Measurement, Row, alternate, elapsed, ratio_row
from bench.sink import smtp_sink
from organisatrice.core.blobs import blob_store
from organisatrice.core.db import transaction
from organisatrice.mail.message import Address, Attachment, MessageSpec, build_message
from organisatrice.mail.outbox import Frozen, freeze, new_token
from organisatrice.mail.tables import SentEmail
from organisatrice.mail.worker import run_batch
from tests.factories import make_company, make_employee, make_order, make_relay


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    label: str
    count: int
    size: int
    target: bool


def plans(size: str) -> list[Plan]:
    if size == "tiny":
        return [
            Plan(label="30 KB", count=30, size=30_000, target=True),
            Plan(label="2 MB", count=3, size=2_000_000, target=False),
        ]
    return [
        Plan(label="30 KB", count=2000, size=30_000, target=True),
        Plan(label="2 MB", count=200, size=2_000_000, target=False),
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


async def drain_raw(queue: Queue, port: int) -> Measurement:
    start = time.perf_counter()
    client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
    await client.connect()
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
            print(f"  drain {plan.count} × {plan.label} on {database}: queueing", flush=True)
            queue = await make_queue(plan, port)

            async def ours(queue: Queue = queue) -> Measurement:
                return await drain_ours(queue)

            async def raw(queue: Queue = queue) -> Measurement:
                return await drain_raw(queue, port)

            async def between(name: str, queue: Queue = queue) -> None:
                if name == "ours":
                    await requeue(queue.company)

            measured = await alternate(
                {"ours": ours, "raw": raw}, rounds=rounds, warmup=warmup, between=between
            )
            rows.append(
                ratio_row(
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
            )
    return rows
