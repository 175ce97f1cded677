"""Work whose size a user controls, run outside the server's event loop with a budget.

A template, a delivery report or a spreadsheet row is written by someone else; how long it
takes and how much memory it needs is theirs to choose. Run on the event loop, one of them
stalls every company's requests; run in a thread, it can still take all the memory. So such
work runs in a small pool of worker processes: each worker has an address-space limit, each
call a wall-clock budget, and a worker over its budget is killed and replaced. The caller gets
`OverBudget` and turns it into an answer a person understands.

The function and its arguments cross to the worker by pickling: a module-level function and
plain values or msgspec Structs. A `DomainError` raised in the worker (an `Invalid` naming a
field, say) is raised again in the caller as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any, TypeVar

import msgspec

from organisatrice.core import errors

T = TypeVar("T")

# Modules the worker processes load once, before the first call: forking from a server that
# has them costs a millisecond, importing them in every new worker a second.
PRELOAD = [
    "organisatrice.compose.rendering",
    "organisatrice.mail.reports",
    "organisatrice.orders.documents",
    "pypdf",
]


class Budget(msgspec.Struct, frozen=True):
    seconds: float
    memory_mb: int


class OverBudget(Exception):
    """The work took longer or needed more memory than its budget allows; `step` is the last
    one the work named with `note()` (the template field it was rendering, say)."""

    def __init__(self, reason: str, step: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.step = step


# The worker's end of its pipe, while it runs a call: `note()` sends through it.
_calling: list[Connection] = []


def note(step: str) -> None:
    """Say, from inside bounded work, which step it is in; outside a worker, nothing."""
    if _calling:
        _calling[0].send(("step", step))


def _serve(connection: Connection, memory_bytes: int) -> None:
    """A worker: take a call, answer its result, until the server goes away."""
    # The server's signals are the server's: a Ctrl-C in the terminal stops it, not us first.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    _calling.append(connection)
    while True:
        try:
            function, args = connection.recv()
        except (EOFError, OSError):
            return
        try:
            answer: tuple[str, Any] = ("ok", function(*args))
        except errors.DomainError as error:
            answer = (
                "domain",
                (type(error).__name__, error.detail, error.field, error.code, error.params),
            )
        except MemoryError:
            answer = ("over", "memory")
        except RecursionError:
            answer = ("over", "depth")
        except Exception as error:
            answer = ("error", f"{type(error).__name__}: {error}")
        try:
            connection.send(answer)
        except MemoryError:
            connection.send(("over", "memory"))


class _Worker:
    def __init__(self, process: BaseProcess, connection: Connection) -> None:
        self.process = process
        self.connection = connection

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            if self.process.pid is not None:
                os.kill(self.process.pid, signal.SIGKILL)
        self.process.join(timeout=5)
        self.connection.close()


class BoundedPool:
    """`size` worker processes, each limited to `memory_mb`; calls wait for a free worker."""

    def __init__(self, size: int, memory_mb: int) -> None:
        self.size = size
        self.memory_bytes = memory_mb * 1024 * 1024
        self._context = multiprocessing.get_context("forkserver")
        self._context.set_forkserver_preload(PRELOAD)
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()

    def _start(self) -> _Worker:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(theirs, self.memory_bytes), daemon=True, name="bounded-work"
        )
        process.start()
        theirs.close()
        worker = _Worker(process, ours)
        self._all.add(worker)
        return worker

    async def _started(self) -> asyncio.Queue[_Worker]:
        if self._idle is None:
            self._idle = asyncio.Queue()
            for _ in range(self.size):
                self._idle.put_nowait(await asyncio.to_thread(self._start))
        return self._idle

    async def run(self, budget: Budget, function: Callable[..., T], *args: Any) -> T:
        idle = await self._started()
        worker = await idle.get()
        replace = False
        steps: list[str] = []
        try:
            worker.connection.send((function, args))
            kind, value = await asyncio.wait_for(_answer(worker.connection, steps), budget.seconds)
        except TimeoutError:
            replace = True
            raise OverBudget("time", steps[-1] if steps else None) from None
        except (EOFError, OSError):
            # The worker died under the call: the kernel or the address-space limit ended it.
            replace = True
            raise OverBudget("memory", steps[-1] if steps else None) from None
        except BaseException:
            # Cancelled while the worker computes: its answer would reach the next caller.
            replace = True
            raise
        finally:
            if replace:
                self._all.discard(worker)
                await asyncio.to_thread(worker.kill)
                worker = await asyncio.to_thread(self._start)
            idle.put_nowait(worker)
        if kind == "ok":
            return value  # type: ignore[no-any-return]
        if kind == "over":
            raise OverBudget(value, steps[-1] if steps else None)
        if kind == "domain":
            name, detail, field, code, params = value
            raise getattr(errors, name)(detail, code=code, params=params, field=field)
        raise RuntimeError(f"bounded work failed: {value}")

    def close(self) -> None:
        for worker in self._all:
            worker.kill()
        self._all.clear()
        self._idle = None


async def _answer(connection: Connection, steps: list[str]) -> tuple[str, Any]:
    """The worker's answer, awaited on the loop (the pipe's end is watched) and read in a thread;
    the steps it notes on the way are kept in `steps`."""
    descriptor = connection.fileno()
    while True:
        await _readable(descriptor)
        # uvloop, the served app's loop, leaves a watched descriptor non-blocking, and an answer
        # larger than the pipe's buffer (a checked document) arrives in parts: reading it must
        # wait for the rest, and waiting is a thread's job, not the loop's.
        os.set_blocking(descriptor, True)
        while connection.poll():
            answer: tuple[str, Any] = await asyncio.to_thread(connection.recv)
            if answer[0] != "step":
                return answer
            steps.append(answer[1])


async def _readable(descriptor: int) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(descriptor, wake)
    try:
        await ready
    finally:
        loop.remove_reader(descriptor)


_pool: list[BoundedPool] = []


def bounded_pool() -> BoundedPool:
    """The process's pool, made on first use (its workers start on the first call)."""
    if not _pool:
        from organisatrice.settings import get_settings

        settings = get_settings()
        _pool.append(BoundedPool(settings.bounded_workers, settings.bounded_memory_mb))
    return _pool[0]


def close_bounded_pool() -> None:
    if _pool:
        _pool.pop().close()


async def run_bounded(budget: Budget, function: Callable[..., T], *args: Any) -> T:
    """`function(*args)` in a worker process within `budget`; OverBudget when it is not."""
    return await bounded_pool().run(budget, function, *args)
