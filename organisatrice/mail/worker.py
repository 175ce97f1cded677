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
from typing import NamedTuple

from organisatrice.core.blobs import blob_store
from organisatrice.core.db import transaction
from organisatrice.core.rounds import run_rounds, worker_name
from organisatrice.mail.forwards import forwards_wake, send_due_forwards
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
# concurrent GETs from a bucket), the next few while these are on the wire, and the first few of
# the next half batch while the last of this one are: the relay never waits for a read it could
# have had earlier. This bounds what is held in memory at once (a run on the wire, the next one
# read, and the next half's first).
READ_AHEAD_BYTES = 4 * 1024 * 1024


class _Run(NamedTuple):
    """Emails of one company, at most READ_AHEAD_BYTES together (or one), read in one trip."""

    company_id: int
    emails: list[Claimed]


def _runs(claimed: list[Claimed]) -> list[_Run]:
    """The claimed emails by company (one relay connection each), cut into runs."""
    runs: list[_Run] = []
    by_company = sorted(claimed, key=lambda c: c.company_id)
    for company_id, group in groupby(by_company, key=lambda c: c.company_id):
        run: list[Claimed] = []
        total = 0
        for email in group:
            if run and total + email.size > READ_AHEAD_BYTES:
                runs.append(_Run(company_id, run))
                run, total = [], 0
            run.append(email)
            total += email.size
        runs.append(_Run(company_id, run))
    return runs


Reading = asyncio.Future[list[bytes]]


def _reading(runs: list[_Run]) -> Reading | None:
    """The archived bytes of the first run's emails, read in the background."""
    if not runs:
        return None
    return asyncio.ensure_future(blob_store().read_many([e.blob_sha256 for e in runs[0].emails]))


async def _discard(task: Reading | None) -> None:
    """A read ahead that is not needed any more: wait for it to end, drop what it read."""
    if task is None:
        return
    task.cancel()
    await asyncio.wait([task])
    if not task.cancelled():
        task.exception()  # taken, so that asyncio does not report it as never retrieved


async def _send(relays: _Relays, runs: list[_Run], first: Reading | None, results: Results) -> None:
    """Send the runs over their companies' relay connections, adding what each relay said to
    `results`; `first` reads the first run. The next run is read while one is on the wire."""
    upcoming = first
    try:
        for n, (company_id, emails) in enumerate(runs):
            assert upcoming is not None
            datas = await upcoming
            upcoming = _reading(runs[n + 1 :])
            session = await relays.session(company_id)
            if isinstance(session, RelayUnavailable):
                results.extend((email, unreachable(session)) for email in emails)
                continue
            for index, (email, data) in enumerate(zip(emails, datas, strict=True)):
                said: list[tuple[list[str], DeliveryResult]] = []
                try:
                    for envelope in envelopes(email, data):
                        said.append((envelope.recipients, await session.send(envelope)))
                except RelayUnavailable as unavailable:
                    # The connection broke and could not be opened again: the rest waits (of
                    # this email, the recipients not sent to yet; this company's other emails
                    # find the relay unavailable).
                    log.warning(
                        "relay unavailable for company %s: %s", company_id, unavailable.text
                    )
                    relays.sessions[company_id] = unavailable
                    lost = unreachable(unavailable)
                    sent_to = {a for recipients, _ in said for a in recipients}
                    said.append(([a for a in email.recipients if a not in sent_to], lost))
                    results.append((email, combined(said)))
                    results.extend((e, lost) for e in emails[index + 1 :])
                    break
                results.append((email, combined(said)))
    finally:
        await _discard(upcoming)


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
    runs = _runs(current)
    reading = _reading(runs)
    attempted = 0
    unrecorded: Results = []
    async with AsyncExitStack() as stack:
        relays = _Relays(stack)
        while current:
            attempted += len(current)
            more = len(current) == half and time.monotonic() - started < CHAIN_SECONDS
            results: Results = []
            sending = asyncio.ensure_future(_send(relays, runs, reading, results))
            try:
                upcoming = await _record_and_claim(unrecorded, worker, half if more else 0)
            except BaseException:
                # The database failed: the half on the wire finishes; what is not on record
                # is sent again when its lease expires.
                await _finished(sending)
                raise
            runs = _runs(upcoming)
            reading = _reading(runs)
            try:
                await _finished(sending)
            except BaseException:
                if reading is not None:
                    reading.cancel()  # cancelled with the caller: the next half waits its lease
                raise
            unrecorded = results
            failure = sending.exception()
            if failure is not None:
                # What the relay accepted is on record; the rest, and the half just claimed,
                # wait for their leases to expire.
                await _discard(reading)
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
        # Copies of clients' answers to their authors: woken when one is queued.
        run_rounds(
            f"reply forwards {name}",
            send_due_forwards,
            stop=stop,
            wake=forwards_wake(),
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
