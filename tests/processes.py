"""The app's own commands (`organisatrice serve`, `worker`, `inbound`) as real processes for the
tests that kill them, and waiting for what those processes do."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def app_process(log: Path, *args: str, **env: str) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m organisatrice *args` with the suite's environment plus `env`, its output in
    `log`; stopped with SIGTERM on exit (killed after 20 s), unless a test killed it first."""
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "organisatrice", *args],
            env=dict(os.environ, **env),
            stdout=output,
            stderr=output,
        )
        try:
            yield process
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()


async def until(condition: Callable[[], Awaitable[bool]], *, seconds: float, what: str) -> None:
    """Wait until `condition` holds; fail naming `what` after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if await condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
