"""The loop of a background worker (the mail worker, the webhook delivery): a round of work,
again at once while rounds find work, else a pause until woken or the poll interval passes.

What a round works on is in the database, so a round that fails is logged and its work is
taken up by a later round; the loop itself never dies of it.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections.abc import Awaitable, Callable

log = logging.getLogger("organisatrice")


def worker_name() -> str:
    """This process, as leases name their holder."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def run_rounds(
    what: str,
    one_round: Callable[[], Awaitable[int]],
    *,
    stop: asyncio.Event,
    wake: asyncio.Event,
    poll_seconds: float,
) -> None:
    """Run `one_round` (it answers how much it did) until `stop` is set."""
    log.info("%s started", what)
    while not stop.is_set():
        try:
            done = await one_round()
        except Exception:
            log.exception("%s: a round failed", what)
            done = 0
        if done:
            continue
        wake.clear()
        waiters = [asyncio.ensure_future(stop.wait()), asyncio.ensure_future(wake.wait())]
        await asyncio.wait(waiters, timeout=poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
    log.info("%s stopped", what)
