"""The blob store: every file (photos, documents, archived messages) kept by its SHA-256.

BLOB_URL chooses where: a folder (the default: app processes on one machine, or on one shared
volume) or an S3-compatible bucket (app servers on several machines). Both backends answer the
same calls, and on both a blob is stored whole before the row that points to it commits: in a
folder it is written to a temporary file, flushed to disk and renamed into place; in a bucket
its PUT has been answered. A committed row never points at a missing or half-written blob. Both
lay blobs out alike (`ab/cd/abcd…`), so a folder copied into a bucket is a store.

Equal bytes are one blob: storing bytes that are already there writes nothing.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import hashlib
import os
import re
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

import anyio
import anyio.to_thread
import msgspec
import obstore
from obstore.exceptions import AlreadyExistsError
from obstore.store import S3Store

from organisatrice.core.db import transaction
from organisatrice.core.errors import NotFound
from organisatrice.settings import get_settings

if TYPE_CHECKING:
    from obstore.store import S3Config

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{2})/(\1\2[0-9a-f]{60})$")
_MISSING = "The stored file is missing; tell your administrator."


class BlobRef(msgspec.Struct, frozen=True):
    sha256: str
    size: int


class StoredBlob(msgspec.Struct, frozen=True):
    """A blob as the store lists it, with the time it was last written."""

    sha256: str
    modified: datetime


def _key(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise NotFound("No such file.")
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


class BlobStore(abc.ABC):
    """What both backends answer."""

    async def put(self, data: bytes) -> tuple[BlobRef, bool]:
        """Store `data`; answer its reference and whether this call created the blob."""
        return await self._create(data)

    async def read(self, sha256: str) -> bytes:
        (data,) = await self.read_many([sha256])
        return data

    async def discard(self, sha256: str) -> None:
        """Remove a blob this request created when the row that was to point to it failed."""
        await self._remove([sha256])

    @abc.abstractmethod
    async def read_many(self, sha256s: Sequence[str]) -> list[bytes]:
        """The bytes of each blob, in one trip where the backend allows."""

    @abc.abstractmethod
    def local_file(self, sha256: str) -> contextlib.AbstractAsyncContextManager[Path]:
        """The blob as a file on this machine while the context lasts, for readers that stream
        it (or hand it to another process) instead of holding it in memory."""

    @abc.abstractmethod
    async def modified(self, sha256: str) -> datetime | None:
        """When the blob was last written; None when there is no such blob."""

    @abc.abstractmethod
    def listing(self) -> AsyncIterator[list[StoredBlob]]:
        """Every blob, a page at a time; other files or objects are not listed."""

    @abc.abstractmethod
    async def _create(self, data: bytes) -> tuple[BlobRef, bool]:
        """Store `data` unless its blob exists; whether this call stored it."""

    @abc.abstractmethod
    async def _write(self, sha256: str, data: bytes) -> None:
        """Store `data` as the blob `sha256`, whether it exists or not."""

    @abc.abstractmethod
    async def _remove(self, sha256s: Sequence[str]) -> None: ...


class FileBlobs(BlobStore):
    """Blobs in a folder, each file written durably (fsync of the file and of its folder)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / _key(sha256)

    async def read_many(self, sha256s: Sequence[str]) -> list[bytes]:
        return await anyio.to_thread.run_sync(self._read_many, sha256s)

    @contextlib.asynccontextmanager
    async def local_file(self, sha256: str) -> AsyncIterator[Path]:
        path = self.path(sha256)
        if not await anyio.Path(path).is_file():
            raise NotFound(_MISSING)
        yield path

    async def modified(self, sha256: str) -> datetime | None:
        try:
            stat = await anyio.Path(self.path(sha256)).stat()
        except FileNotFoundError:
            return None
        return datetime.fromtimestamp(stat.st_mtime, UTC)

    async def listing(self) -> AsyncIterator[list[StoredBlob]]:
        # A page per top folder: 1/256 of the store.
        for top in await anyio.to_thread.run_sync(self._tops):
            yield await anyio.to_thread.run_sync(self._scan, top)

    async def _create(self, data: bytes) -> tuple[BlobRef, bool]:
        return await anyio.to_thread.run_sync(self._create_now, data)

    async def _write(self, sha256: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(self._write_now, sha256, data)

    async def _remove(self, sha256s: Sequence[str]) -> None:
        await anyio.to_thread.run_sync(self._remove_now, sha256s)

    def _read_many(self, sha256s: Sequence[str]) -> list[bytes]:
        try:
            return [self.path(sha).read_bytes() for sha in sha256s]
        except FileNotFoundError:
            raise NotFound(_MISSING) from None

    def _create_now(self, data: bytes) -> tuple[BlobRef, bool]:
        sha = hashlib.sha256(data).hexdigest()
        ref = BlobRef(sha256=sha, size=len(data))
        if self.path(sha).exists():
            return ref, False
        self._write_now(sha, data)
        return ref, True

    def _write_now(self, sha256: str, data: bytes) -> None:
        target = self.path(sha256)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{sha256}.{os.getpid()}.{id(data)}.tmp")
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

    def _remove_now(self, sha256s: Sequence[str]) -> None:
        for sha in sha256s:
            self.path(sha).unlink(missing_ok=True)

    def _tops(self) -> list[Path]:
        if not self.root.is_dir():
            return []
        return sorted(p for p in self.root.iterdir() if re.fullmatch("[0-9a-f]{2}", p.name))

    def _scan(self, top: Path) -> list[StoredBlob]:
        found: list[StoredBlob] = []
        for folder in top.iterdir():
            if not folder.is_dir():
                continue
            for entry in os.scandir(folder):
                if _KEY.match(f"{top.name}/{folder.name}/{entry.name}") and entry.is_file():
                    modified = datetime.fromtimestamp(entry.stat().st_mtime, UTC)
                    found.append(StoredBlob(sha256=entry.name, modified=modified))
        return found


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3Blobs(BlobStore):
    """Blobs in an S3-compatible bucket, through obstore. A blob is created with a conditional
    PUT (If-None-Match), so two processes storing the same bytes create it once."""

    def __init__(self, objects: S3Store) -> None:
        self.objects = objects

    async def read_many(self, sha256s: Sequence[str]) -> list[bytes]:
        return list(await asyncio.gather(*(self._read(sha) for sha in sha256s)))

    @contextlib.asynccontextmanager
    async def local_file(self, sha256: str) -> AsyncIterator[Path]:
        try:
            got = await obstore.get_async(self.objects, _key(sha256))
        except FileNotFoundError:
            raise NotFound(_MISSING) from None
        with tempfile.TemporaryDirectory(prefix="organisatrice-blob-") as folder:
            path = Path(folder) / sha256
            # Streamed in parts: a large spreadsheet never sits in memory whole.
            async with await anyio.open_file(path, "wb") as out:
                async for part in got.stream(min_chunk_size=1024 * 1024):
                    await out.write(part)
            yield path

    async def modified(self, sha256: str) -> datetime | None:
        try:
            meta = await obstore.head_async(self.objects, _key(sha256))
        except FileNotFoundError:
            return None
        return meta["last_modified"]

    async def listing(self) -> AsyncIterator[list[StoredBlob]]:
        async for page in obstore.list(self.objects, chunk_size=1000):
            yield [
                StoredBlob(sha256=found.group(3), modified=meta["last_modified"])
                for meta in page
                if (found := _KEY.match(meta["path"]))
            ]

    async def _create(self, data: bytes) -> tuple[BlobRef, bool]:
        # Hashed outside the event loop: megabytes take milliseconds.
        sha = await anyio.to_thread.run_sync(_sha256, data)
        try:
            await obstore.put_async(self.objects, _key(sha), data, mode="create")
        except AlreadyExistsError:
            return BlobRef(sha256=sha, size=len(data)), False
        return BlobRef(sha256=sha, size=len(data)), True

    async def _write(self, sha256: str, data: bytes) -> None:
        await obstore.put_async(self.objects, _key(sha256), data)

    async def _remove(self, sha256s: Sequence[str]) -> None:
        if sha256s:
            await obstore.delete_async(self.objects, [_key(sha) for sha in sha256s])

    async def _read(self, sha256: str) -> bytes:
        try:
            got = await obstore.get_async(self.objects, _key(sha256))
            return bytes(await got.bytes_async())
        except FileNotFoundError:
            raise NotFound(_MISSING) from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_store(url: str) -> BlobStore:
    """The store at `url` (file:///folder or s3://bucket[/prefix]); a bucket is reached with
    the endpoint, region and keys of the settings."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileBlobs(Path(unquote(parts.path)))
    settings = get_settings()
    config: S3Config = {}
    if settings.s3_endpoint_url:
        config["endpoint"] = settings.s3_endpoint_url
    if settings.s3_region:
        config["region"] = settings.s3_region
    if settings.s3_access_key_id:
        config["access_key_id"] = settings.s3_access_key_id
        config["secret_access_key"] = settings.s3_secret_access_key
    objects = S3Store(
        parts.netloc,
        prefix=parts.path.strip("/") or None,
        config=config,
        client_options={"allow_http": settings.s3_endpoint_url.startswith("http://")},
    )
    return S3Blobs(objects)


@functools.cache
def blob_store() -> BlobStore:
    return open_store(get_settings().blob_url)


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
