"""Blobs in the object store: the app's store (core/blobs.py) against raw obstore calls on the
same bucket, in one run.

Written: COUNT new blobs of SIZE bytes, CONCURRENCY at a time, through `BlobStore.put` (hash,
conditional PUT, in a worker thread) against `obstore.put_async` of the same bytes under the
same keys. Read: the same blobs through `BlobStore.read` against `obstore.get_async`. Each round
writes fresh bytes, so that neither side finds them stored. Only where BLOB_URL is a bucket
(the PostgreSQL part runs on SeaweedFS); a folder store has no raw client to compare with.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import obstore

from bench.common import Measurement, Row, alternate, ratio_row
from organisatrice.core.blobs import S3Blobs, open_store
from organisatrice.settings import get_settings

TARGET = 0.8
SIZE = 256 * 1024
CONCURRENCY = 8
T = TypeVar("T")


async def _all(work: list[Callable[[], Awaitable[T]]]) -> list[T]:
    """Each step's answer, CONCURRENCY steps at a time."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(step: Callable[[], Awaitable[T]]) -> T:
        async with limit:
            return await step()

    return list(await asyncio.gather(*(one(step) for step in work)))


def _rate(count: int, seconds: float) -> Measurement:
    return {"blobs/s": count / seconds, "MB/s": count * SIZE / seconds / 1e6}


def _key(sha: str) -> str:
    return f"{sha[:2]}/{sha[2:4]}/{sha}"


async def run(size: str, database: str, *, rounds: int, warmup: int) -> list[Row]:
    url = get_settings().blob_url
    if not url.startswith("s3://"):
        return []
    count = 200 if size == "full" else 20
    # Each side in a prefix of its own: neither finds the other's blobs stored.
    ours_store = open_store(f"{url}/bench-{secrets.token_hex(4)}", timedelta(hours=1))
    raw_store = open_store(f"{url}/bench-{secrets.token_hex(4)}", timedelta(hours=1))
    assert isinstance(ours_store, S3Blobs) and isinstance(raw_store, S3Blobs)
    raw = raw_store.objects
    written: dict[str, list[str]] = {"ours": [], "raw": []}

    async def ours_put(data: bytes) -> str:
        ref, _ = await ours_store.put(data)
        return ref.sha256

    async def raw_put(data: bytes) -> str:
        key = _key(hashlib.sha256(data).hexdigest())
        await obstore.put_async(raw, key, data, mode="create")
        return key

    async def raw_get(key: str) -> bytes:
        got = await obstore.get_async(raw, key)
        return bytes(await got.bytes_async())

    def writer(
        side: str, put: Callable[[bytes], Awaitable[str]]
    ) -> Callable[[], Awaitable[Measurement]]:
        async def write() -> Measurement:
            blobs = [os.urandom(SIZE) for _ in range(count)]
            start = time.perf_counter()
            written[side] = await _all([functools.partial(put, d) for d in blobs])
            return _rate(count, time.perf_counter() - start)

        return write

    def reader(
        side: str, get: Callable[[str], Awaitable[bytes]]
    ) -> Callable[[], Awaitable[Measurement]]:
        async def read() -> Measurement:
            start = time.perf_counter()
            await _all([functools.partial(get, k) for k in written[side]])
            return _rate(count, time.perf_counter() - start)

        return read

    writes = await alternate(
        {"ours": writer("ours", ours_put), "raw": writer("raw", raw_put)},
        rounds=rounds,
        warmup=warmup,
    )
    # Reads of what the last write round stored, each side its own.
    reads = await alternate(
        {"ours": reader("ours", ours_store.read), "raw": reader("raw", raw_get)},
        rounds=rounds,
        warmup=warmup,
    )
    rows = []
    for what, measured in (("write", writes), ("read", reads)):
        rows.append(
            ratio_row(
                benchmark=f"Blobs {what}: {count} × {SIZE // 1024} KB, {CONCURRENCY} at a time",
                database=database,
                unit="blobs/s",
                ours=measured["ours"],
                baseline=measured["raw"],
                baseline_name=f"raw obstore {what} on the same bucket",
                key="blobs/s",
                target=f"≥ {TARGET}×",
                met=lambda r: r is not None and r >= TARGET,
                note=(
                    f"SeaweedFS (S3) on loopback; ours {measured['ours']['MB/s']:.0f} MB/s, "
                    f"raw {measured['raw']['MB/s']:.0f} MB/s; ours "
                    + (
                        "hashes, then PUTs if absent (If-None-Match) in a worker thread"
                        if what == "write"
                        else "GETs in a worker thread"
                    )
                    + ", raw awaits obstore's own async calls"
                ),
            )
        )
    return rows
