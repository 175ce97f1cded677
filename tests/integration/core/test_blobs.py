"""The blob store on the backend the run uses (a folder, or a bucket): round trip, content
addressing, missing blobs, two processes on one store."""

from __future__ import annotations

import asyncio
import secrets
import sys

import pytest

from organisatrice.core.blobs import blob_store
from organisatrice.core.errors import NotFound


async def test_put_read_and_discard_round_trip() -> None:
    store = blob_store()
    data = secrets.token_bytes(70_000)
    ref, created = await store.put(data)
    assert created
    assert ref.size == len(data)
    assert await store.read(ref.sha256) == data
    async with store.local_file(ref.sha256) as path:
        assert path.read_bytes() == data
    await store.discard(ref.sha256)
    with pytest.raises(NotFound, match="missing"):
        await store.read(ref.sha256)


async def test_storing_the_same_bytes_again_creates_and_rewrites_nothing() -> None:
    store = blob_store()
    data = secrets.token_bytes(1000)
    first, created = await store.put(data)
    written = await store.modified(first.sha256)
    second, again = await store.put(data)
    assert (created, again) == (True, False)
    assert second == first
    assert await store.modified(first.sha256) == written


async def test_a_missing_or_malformed_blob_is_not_found() -> None:
    store = blob_store()
    absent = "0" * 64
    with pytest.raises(NotFound, match="missing"):
        await store.read(absent)
    with pytest.raises(NotFound, match="missing"):
        async with store.local_file(absent):
            pass
    with pytest.raises(NotFound, match="No such file"):
        await store.read("../../etc/passwd")
    assert await store.modified(absent) is None


async def test_a_blob_one_process_stores_another_reads() -> None:
    data = secrets.token_bytes(5000)
    ref, _ = await blob_store().put(data)
    other = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _OTHER_PROCESS,
        ref.sha256,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(other.communicate(), 60)
    assert other.returncode == 0, err.decode()
    read_there, stored_there = out.decode().split()
    assert read_there == str(len(data))
    assert await blob_store().read(stored_there) == data[::-1]


_OTHER_PROCESS = """
import asyncio, sys
from organisatrice.core.blobs import blob_store

async def main():
    data = await blob_store().read(sys.argv[1])
    ref, _ = await blob_store().put(data[::-1])
    print(len(data), ref.sha256)

asyncio.run(main())
"""
