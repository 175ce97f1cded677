"""Which reads are searches: reads whose cost depends on the values they look for.

The code that runs a search declares it (`with long_reads(): ...`); the engines read the flag.
SQLite runs searches in its reader threads, so that the event loop serves other requests
meanwhile (core/sqlite.py). PostgreSQL plans each execution of a search with its values
(core/postgres.py). Every other read is quick and planned once.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager

_LONG_READS: contextvars.ContextVar[bool] = contextvars.ContextVar("long_reads", default=False)


@contextmanager
def long_reads() -> Iterator[None]:
    """Around a search (an archive search, an export, the orders' word search)."""
    token = _LONG_READS.set(True)
    try:
        yield
    finally:
        _LONG_READS.reset(token)


def in_long_reads() -> bool:
    return _LONG_READS.get()
