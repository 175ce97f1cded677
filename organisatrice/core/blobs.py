"""The blob store: every file (photos, documents, archived messages) kept by its SHA-256.

A blob is written to a temporary file, flushed to disk and renamed into place before the row that
points to it commits, so a committed row never points at a missing or half-written file. The
root is configurable so several app processes can share one volume.
"""

from __future__ import annotations

import functools
import hashlib
import os
import re
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.to_thread
import msgspec

from organisatrice.core.db import transaction
from organisatrice.core.errors import NotFound
from organisatrice.settings import get_settings

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BlobRef(msgspec.Struct, frozen=True):
    sha256: str
    size: int


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        if not _SHA256.match(sha256):
            raise NotFound("No such file.")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    async def put(self, data: bytes) -> tuple[BlobRef, bool]:
        """Store `data`; answer its reference and whether this call created the file."""
        return await anyio.to_thread.run_sync(self._put, data)

    async def read(self, sha256: str) -> bytes:
        return await anyio.to_thread.run_sync(self._read, sha256)

    async def discard(self, sha256: str) -> None:
        """Remove a blob this request created when the row that was to point to it failed."""
        await anyio.to_thread.run_sync(self._discard, sha256)

    def _put(self, data: bytes) -> tuple[BlobRef, bool]:
        sha = hashlib.sha256(data).hexdigest()
        ref = BlobRef(sha256=sha, size=len(data))
        target = self.path(sha)
        if target.exists():
            return ref, False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{sha}.{os.getpid()}.{id(data)}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)
        return ref, True

    def _read(self, sha256: str) -> bytes:
        try:
            return self.path(sha256).read_bytes()
        except FileNotFoundError:
            raise NotFound("The stored file is missing; tell your administrator.") from None

    def _discard(self, sha256: str) -> None:
        self.path(sha256).unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def blob_store() -> BlobStore:
    return BlobStore(get_settings().blob_root)


async def store_then_record(
    blobs: list[bytes], record: Callable[[list[str]], Awaitable[int]]
) -> int:
    """Write `blobs` durably, then run `record` (with their SHA-256s) in one transaction. If the
    row cannot be written, the blobs this call created are removed again, so a failed upload
    leaves neither row nor file; blobs that existed before belong to others and stay."""
    store = blob_store()
    created: list[str] = []
    shas: list[str] = []
    try:
        for data in blobs:
            ref, is_new = await store.put(data)
            shas.append(ref.sha256)
            if is_new:
                created.append(ref.sha256)
        async with transaction():
            return await record(shas)
    except BaseException:
        # Shielded: when the request is cancelled, the clean-up must still run to the end.
        with anyio.CancelScope(shield=True):
            for sha in created:
                await store.discard(sha)
        raise
