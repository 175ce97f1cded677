"""The sending worker: claims due emails, sends each batch over one relay connection per
company, records what the relay said. Runs inside the app by default, or alone as
`organisatrice worker` when scaled; several workers never take the same email at once.

The database work is per batch, not per email, and runs while the relay is busy: one
transaction records the half batch just sent and claims the next half while the current one is
on the wire, so a burst of queued emails costs one commit per half batch and hardly any waiting.
A worker that dies leaves at most a batch `sending` under its lease; the next worker sends it
again (at most one batch of duplicates, each flagged as an interrupted attempt)."""

from __future__ import annotations

import asyncio
import logging
import time
from contextlib import AsyncExitStack
from itertools import groupby

from organisatrice.core.blobs import blob_store
from organisatrice.core.db import transaction
from organisatrice.core.rounds import run_rounds, worker_name
from organisatrice.mail.outbox import Claimed, claim, combined, envelopes, record_all, unreachable
from organisatrice.mail.relay import relay_of
from organisatrice.mail.schemas import EmailStatus
from organisatrice.mail.smtp import DeliveryResult, RelaySession, RelayUnavailable
from organisatrice.mail.state_log import log_email_state
from organisatrice.mail.tracking import send_daily_probes
from organisatrice.settings import get_settings

log = logging.getLogger("organisatrice.mail")

# At most this many emails are `sending` under one worker's lease at a time. Each half batch
# costs one recording transaction of about ten statements whatever its size: at 20, that fixed
# cost took the drain below 0.7x raw aiosmtplib once every recipient had its own envelope.
BATCH = 50
# One `run_batch` call chains batches while the queue stays full, for about this long, so the
# worker still looks at its stop signal every second or so.
CHAIN_SECONDS = 1.0
POLL_SECONDS = 2.0
PROBE_POLL_SECONDS = 300.0

_wake = asyncio.Event()


def wake_worker() -> None:
    """Tell an in-process worker that an email was queued, so it goes out at once."""
    _wake.set()


Results = list[tuple[Claimed, DeliveryResult]]


class _Relays:
    """The relay sessions of one `run_batch` call, opened on first use and kept for the batches
    it chains; a relay that could not be reached is not tried again in the same call."""

    def __init__(self, stack: AsyncExitStack) -> None:
        self.stack = stack
        self.sessions: dict[int, RelaySession | RelayUnavailable] = {}

    async def session(self, company_id: int) -> RelaySession | RelayUnavailable:
        if company_id not in self.sessions:
            relay = await relay_of(company_id)
            try:
                self.sessions[company_id] = await self.stack.enter_async_context(
                    RelaySession(relay, timeout=get_settings().smtp_timeout)
                )
            except RelayUnavailable as unavailable:
                log.warning("relay unavailable for company %s: %s", company_id, unavailable.text)
                self.sessions[company_id] = unavailable
        return self.sessions[company_id]


# The bytes of a few emails are read from the blob store in one trip (to a thread, or as
# concurrent GETs from a bucket), the next few while these are on the wire; this bounds what is
# held in memory at once.
READ_AHEAD_BYTES = 4 * 1024 * 1024


def _read_ahead(group: list[Claimed]) -> list[list[Claimed]]:
    """The group cut into runs of emails of at most READ_AHEAD_BYTES together (or one)."""
    runs: list[list[Claimed]] = []
    run: list[Claimed] = []
    total = 0
    for email in group:
        if run and total + email.size > READ_AHEAD_BYTES:
            runs.append(run)
            run, total = [], 0
        run.append(email)
        total += email.size
    if run:
        runs.append(run)
    return runs


def _reading(emails: list[Claimed]) -> asyncio.Future[list[bytes]]:
    """The archived bytes of each email, read in the background."""
    return asyncio.ensure_future(blob_store().read_many([email.blob_sha256 for email in emails]))


async def _discard(task: asyncio.Future[list[bytes]]) -> None:
    """A read ahead that is not needed any more: wait for it to end, drop what it read."""
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # taken, so that asyncio does not report it as never retrieved


async def _send_group(
    relays: _Relays, company_id: int, group: list[Claimed], results: Results
) -> None:
    """Send a company's claimed emails over its relay connection, adding what the relay said to
    `results`. The next emails' bytes are read while the current ones are on the wire."""
    session = await relays.session(company_id)
    if isinstance(session, RelayUnavailable):
        results.extend((email, unreachable(session)) for email in group)
        return
    runs = _read_ahead(group)
    upcoming: asyncio.Future[list[bytes]] | None = _reading(runs[0])
    try:
        for n, run in enumerate(runs):
            assert upcoming is not None
            datas = await upcoming
            upcoming = _reading(runs[n + 1]) if n + 1 < len(runs) else None
            for email, data in zip(run, datas, strict=True):
                said: list[tuple[list[str], DeliveryResult]] = []
                try:
                    for envelope in envelopes(email, data):
                        said.append((envelope.recipients, await session.send(envelope)))
                except RelayUnavailable as unavailable:
                    # The connection broke and could not be opened again: the rest waits
                    # (of this email, the recipients not sent to yet).
                    log.warning(
                        "relay unavailable for company %s: %s", company_id, unavailable.text
                    )
                    relays.sessions[company_id] = unavailable
                    lost = unreachable(unavailable)
                    sent_to = {a for recipients, _ in said for a in recipients}
                    said.append(([a for a in email.recipients if a not in sent_to], lost))
                    results.append((email, combined(said)))
                    done = {e.id for e, _ in results}
                    results.extend((e, lost) for e in group if e.id not in done)
                    return
                results.append((email, combined(said)))
    finally:
        if upcoming is not None:
            await _discard(upcoming)


async def _send(relays: _Relays, claimed: list[Claimed], results: Results) -> None:
    by_company = sorted(claimed, key=lambda c: c.company_id)
    for company_id, group in groupby(by_company, key=lambda c: c.company_id):
        await _send_group(relays, company_id, list(group), results)


async def _record(done: Results) -> None:
    """Write what the relay said about `done`; a log line per email once it is written."""
    _log_outcomes(done, await record_all(done))


def _log_outcomes(done: Results, statuses: list[EmailStatus]) -> None:
    for (email, _), status in zip(done, statuses, strict=True):
        log_email_state(email.id, email.company_id, status)


async def _record_and_claim(done: Results, worker: str, limit: int) -> list[Claimed]:
    """One transaction: what the relay said about `done`, and the next `limit` emails taken."""
    if not done and not limit:
        return []
    async with transaction():
        statuses = await record_all(done)
        claimed = await claim(worker, limit=limit) if limit else []
    _log_outcomes(done, statuses)
    return claimed


async def _finished(task: asyncio.Future[None]) -> None:
    """Wait for `task` without taking its outcome; cancelled with the caller."""
    try:
        await asyncio.wait([task])
    except asyncio.CancelledError:
        task.cancel()
        raise


async def run_batch(worker: str, *, limit: int = BATCH) -> int:
    """Send what is due now; answers how many emails were attempted.

    Half a batch at a time: while one half is on the wire, one transaction records the half
    sent before it and claims the next, so the database and the relay work at once, and at most
    `limit` emails are `sending` under this worker's lease. It goes on while full halves keep
    coming, for about CHAIN_SECONDS."""
    half = max(limit // 2, 1)
    started = time.monotonic()
    current = await claim(worker, limit=half)
    if not current:
        return 0
    attempted = 0
    unrecorded: Results = []
    async with AsyncExitStack() as stack:
        relays = _Relays(stack)
        while current:
            attempted += len(current)
            more = len(current) == half and time.monotonic() - started < CHAIN_SECONDS
            results: Results = []
            sending = asyncio.ensure_future(_send(relays, current, results))
            try:
                upcoming = await _record_and_claim(unrecorded, worker, half if more else 0)
            except BaseException:
                # The database failed: the half on the wire finishes; what is not on record
                # is sent again when its lease expires.
                await _finished(sending)
                raise
            await _finished(sending)
            unrecorded = results
            failure = sending.exception()
            if failure is not None:
                # What the relay accepted is on record; the rest, and the half just claimed,
                # wait for their leases to expire.
                await _record(unrecorded)
                raise failure
            current = upcoming
        await _record(unrecorded)
    return attempted


async def run_worker(stop: asyncio.Event, *, worker: str | None = None) -> None:
    name = worker or worker_name()
    await asyncio.gather(
        run_rounds(
            f"mail worker {name}",
            lambda: run_batch(name),
            stop=stop,
            wake=_wake,
            poll_seconds=POLL_SECONDS,
        ),
        # Daily tracking probes: due at most once a day per company, so looked for rarely.
        run_rounds(
            f"tracking probes {name}",
            send_daily_probes,
            stop=stop,
            wake=asyncio.Event(),
            poll_seconds=PROBE_POLL_SECONDS,
        ),
    )
