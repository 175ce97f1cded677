"""The sending worker: claims due emails, sends each batch over one relay connection per
company, records what the relay said. Runs inside the app by default, or alone as
`organisatrice worker` when scaled; several workers never take the same email at once."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from itertools import groupby

from organisatrice.core.blobs import blob_store
from organisatrice.mail.outbox import Claimed, claim, record, release
from organisatrice.mail.relay import relay_of
from organisatrice.mail.smtp import Envelope, RelaySession, RelayUnavailable
from organisatrice.settings import get_settings

log = logging.getLogger("organisatrice.mail")

BATCH = 20
POLL_SECONDS = 2.0

_wake = asyncio.Event()


def wake_worker() -> None:
    """Tell an in-process worker that an email was queued, so it goes out at once."""
    _wake.set()


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


async def _send_group(company_id: int, group: list[Claimed]) -> None:
    relay = await relay_of(company_id)
    done: set[int] = set()
    try:
        async with RelaySession(relay, timeout=get_settings().smtp_timeout) as session:
            for email in group:
                data = await blob_store().read(email.blob_sha256)
                result = await session.send(
                    Envelope(
                        sender=email.envelope_sender,
                        recipients=email.recipients,
                        data=data,
                        envelope_id=email.token,
                    )
                )
                await record(email, result)
                done.add(email.id)
    except RelayUnavailable as unavailable:
        log.warning("relay unavailable for company %s: %s", company_id, unavailable.text)
        for email in group:
            if email.id not in done:
                await release(email, unavailable.text)


async def run_batch(worker: str, *, limit: int = BATCH) -> int:
    """Send what is due now; answers how many emails were attempted."""
    claimed = await claim(worker, limit=limit)
    by_company = sorted(claimed, key=lambda c: c.company_id)
    for company_id, group in groupby(by_company, key=lambda c: c.company_id):
        await _send_group(company_id, list(group))
    return len(claimed)


async def run_worker(stop: asyncio.Event, *, worker: str | None = None) -> None:
    name = worker or worker_name()
    log.info("mail worker %s started", name)
    while not stop.is_set():
        try:
            attempted = await run_batch(name)
        except Exception:
            # The queue is in the database: whatever failed here is retried on the next round.
            log.exception("mail worker round failed")
            attempted = 0
        if attempted:
            continue
        _wake.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(_wake.wait())]
        await asyncio.wait(waiters, timeout=POLL_SECONDS, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    log.info("mail worker %s stopped", name)
