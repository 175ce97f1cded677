"""Password hashing with argon2id, off the event loop.

The parameters are OWASP's recommendation for argon2id (19 MiB, 2 passes, one lane) rather than
argon2-cffi's default (64 MiB, 3 passes, four lanes: a quarter of a second of both cores on a
small machine): one sign-in then takes one core for a few dozen milliseconds, and a flood of
them cannot take the machine from everyone else. Hashes made with other parameters still
verify (each hash names its own).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

MIN_LENGTH = 10


def _yield_to_requests() -> None:
    """Hashing threads (and the lanes argon2 starts from them, which inherit it) run at the
    lowest CPU priority: a flood of sign-ins takes only what serving requests leaves over."""
    with contextlib.suppress(AttributeError, OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


# argon2 is slow by design. It runs on these threads (argon2-cffi releases the interpreter lock
# while it hashes), never on the event loop, at the lowest priority, and a flood of sign-ins
# queues here instead of taking every core.
_HASHING = ThreadPoolExecutor(
    max_workers=1, thread_name_prefix="argon2", initializer=_yield_to_requests
)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("no such employee, same cost")


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when `password` matches. Without a hash (unknown address) it still spends the same
    time, so response times do not reveal which addresses exist."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and bool(password_hash)
    except (VerificationError, InvalidHashError):
        return False


async def hash_password_off_loop(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_HASHING, hash_password, password)


async def verify_password_off_loop(password_hash: str | None, password: str) -> bool:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_HASHING, verify_password, password_hash, password)
