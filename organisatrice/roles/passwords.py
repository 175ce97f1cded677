"""Password hashing with argon2id (argon2-cffi's defaults follow RFC 9106)."""

from __future__ import annotations

import asyncio
import functools
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()

MIN_LENGTH = 10
# argon2 takes tens of milliseconds of CPU by design. It runs on these threads (argon2-cffi
# releases the interpreter lock while it hashes), never on the event loop, and a flood of
# sign-ins queues here instead of taking every thread of the process.
_HASHING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="argon2")


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
