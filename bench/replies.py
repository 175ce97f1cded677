"""Client replies in: answers to sent emails through the app's receiver (RCPT checks the token,
the answer is read off the event loop with a budget, stored whole, recorded on the order),
against a raw aiosmtpd server that only stores the bytes in the same blob store.

Each round sends one answer (about 8 KB: a few lines over the quoted email) to each of the sent
emails, over CONNECTIONS SMTP connections at once, each reconnecting after as many messages as
the receiver takes on one connection.
"""

from __future__ import annotations

import asyncio
import time
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiosmtpd.controller import Controller

from bench.common import Measurement, Row, alternate, free_port, ratio_row
from bench.drain import Plan, make_queue
from organisatrice.core.blobs import blob_store
from organisatrice.mail.inbound import MAX_MESSAGES_PER_CONNECTION, start_inbound
from organisatrice.mail.tables import ClientReply, SentEmail

TARGET = 0.3
CONNECTIONS = 4


class _Sink:
    """Takes every message and stores its bytes: nothing else."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        stored = asyncio.run_coroutine_threadsafe(
            blob_store().put(envelope.original_content), self.loop
        )
        await asyncio.wrap_future(stored)
        return "250 OK"


def _answer(token: str, n: int, round_: int) -> bytes:
    message = EmailMessage()
    message["From"] = f"Anna Meier <client{n}@client.example>"
    message["To"] = f"reply+{token}@bounces.firm.example"
    message["Subject"] = f"Re: Work report 2026-{n:05d}"
    message["Message-ID"] = f"<answer-{round_}-{n}@client.example>"
    message["In-Reply-To"] = f"<bench-{n}@firm.example>"
    quoted = "\n".join(f"> Line {i} of the work report we sent you." for i in range(160))
    message.set_content(
        f"Thank you, approved ({round_}).\nPlease also send the photos.\n\n"
        f"On Fri, 5 Dec 2026 at 10:12, Lea Keller <lea.keller@firm.example> wrote:\n{quoted}\n"
    )
    return message.as_bytes()


async def _send_all(port: int, messages: list[tuple[str, bytes]]) -> float:
    start = time.perf_counter()

    async def connection(part: list[tuple[str, bytes]]) -> None:
        # A new connection after as many messages as the receiver takes on one (both sides).
        for start in range(0, len(part), MAX_MESSAGES_PER_CONNECTION):
            async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=60) as smtp:
                for rcpt, data in part[start : start + MAX_MESSAGES_PER_CONNECTION]:
                    await smtp.sendmail("client@client.example", [rcpt], data)

    await asyncio.gather(*(connection(messages[i::CONNECTIONS]) for i in range(CONNECTIONS)))
    return time.perf_counter() - start


async def run(size: str, database: str, *, rounds: int, warmup: int) -> list[Row]:
    count = 300 if size == "full" else 20
    queue = await make_queue(Plan(label="replies", count=count, size=5_000, target=False), 9)
    tokens = [
        r["token"]
        for r in await SentEmail.select(SentEmail.token)
        .where(SentEmail.company == queue.company)
        .order_by(SentEmail.id)
    ]
    loop = asyncio.get_running_loop()
    ours_port, raw_port = free_port(), free_port()
    receiver = start_inbound("127.0.0.1", ours_port, loop)
    sink = Controller(_Sink(loop), hostname="127.0.0.1", port=raw_port, data_size_limit=10**8)
    sink.start()
    sent = {"ours": 0, "raw": 0}
    try:

        async def through(name: str, port: int) -> Measurement:
            sent[name] += 1
            messages = [
                (f"reply+{token}@bounces.firm.example", _answer(token, n, sent[name]))
                for n, token in enumerate(tokens)
            ]
            seconds = await _send_all(port, messages)
            return {"replies/s": count / seconds, "seconds": seconds}

        async def ours() -> Measurement:
            return await through("ours", ours_port)

        async def raw() -> Measurement:
            return await through("raw", raw_port)

        measured = await alternate({"ours": ours, "raw": raw}, rounds=rounds, warmup=warmup)
    finally:
        receiver.stop()
        sink.stop()
    recorded = await ClientReply.count().where(ClientReply.company == queue.company)
    if recorded != count * sent["ours"]:
        raise RuntimeError(f"{recorded} replies recorded of {count * sent['ours']} sent")
    return [
        ratio_row(
            benchmark=f"Client replies in, {count} per round, {CONNECTIONS} connections",
            database=database,
            unit="replies/s",
            ours=measured["ours"],
            baseline=measured["raw"],
            baseline_name="aiosmtpd storing the bytes in the same blob store",
            key="replies/s",
            target=f"≥ {TARGET}×",
            met=lambda r: r is not None and r >= TARGET,
            note=(
                "answers of about 8 KB (a few lines over the quoted email) to sent emails; ours "
                "checks the token at RCPT, reads each answer in a bounded worker process "
                "(quoted history folded, automatic answers told apart), stores it whole and "
                "records it on the order"
            ),
        )
    ]
