"""The blob store: every file (photos, documents, archived messages) kept by its SHA-256.

BLOB_URL chooses where: a folder (the default: app processes on one machine, or on one shared
volume) or an S3-compatible bucket (app servers on several machines). Both backends answer the
same calls, and on both a blob is stored whole before the row that points to it commits: in a
folder it is written to a temporary file, flushed to disk and renamed into place; in a bucket
its PUT has been answered. A committed row never points at a missing or half-written blob. Both
lay blobs out alike (`ab/cd/abcd…`), so a folder copied into a bucket is a store.

Equal bytes are one blob. A blob that no row names any more (an upload whose row failed, a
replaced logo, an archive past its retention) is removed by `sweep` once it is older than the
grace period: an upload's blob is young until its row has committed, so the sweep leaves it
alone. Storing bytes that are already there writes nothing, unless the blob is old (it may be
on the sweep's list): then it is written again, young, under the lock that the sweep's removal
takes, so the sweep never removes a blob that `put` has just answered for. Hence the two rules
for rooms: a new reference to a blob is made only from a `put` of its bytes, and a column that
names a blob ends in `sha256` (the sweep finds them by that name).
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
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import anyio
import anyio.to_thread
import msgspec
import obstore
from obstore.exceptions import AlreadyExistsError
from obstore.store import S3Store
from piccolo.columns import Column
from piccolo.conf.apps import Finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString
from piccolo.table import Table

from organisatrice.core.codes import Code
from organisatrice.core.db import engine, transaction
from organisatrice.core.errors import NotFound
from organisatrice.settings import get_settings

if TYPE_CHECKING:
    from obstore.store import S3Config

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_KEY = re.compile(r"^([0-9a-f]{2})/([0-9a-f]{2})/(\1\2[0-9a-f]{60})$")
_MISSING = "The stored file is missing; tell your administrator."
# The sweep removes blobs in batches, each under the lock (on SQLite the write lock): short holds.
SWEEP_BATCH = 100
# Rows read at a time when the sweep collects the blobs that rows name.
REFERENCE_PAGE = 10_000
_LOCK = "SELECT pg_advisory_xact_lock(hashtext('blobs:sweep'))"
_LOCK_SHARED = "SELECT pg_advisory_xact_lock_shared(hashtext('blobs:sweep'))"


class BlobRef(msgspec.Struct, frozen=True):
    sha256: str
    size: int


class StoredBlob(msgspec.Struct, frozen=True):
    """A blob as the store lists it, with the time it was last written."""

    sha256: str
    modified: datetime


class SweepResult(msgspec.Struct, frozen=True):
    blobs: int
    removed: int


def _key(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise NotFound("No such file.", code=Code.FILE_NOT_FOUND)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


def _now() -> datetime:
    return datetime.now(UTC)


class BlobStore(abc.ABC):
    """What both backends answer. `grace`: how old an unreferenced blob must be to be swept."""

    def __init__(self, grace: timedelta) -> None:
        self.grace = grace

    async def put(self, data: bytes) -> tuple[BlobRef, bool]:
        """Store `data`; answer its reference and whether this call created the blob."""
        ref, created = await self._create(data)
        if not created:
            modified = await self.modified(ref.sha256)
            if modified is None or modified < _now() - self.grace / 2:
                # Perhaps on a running sweep's list: written again, young, under the lock its
                # removal takes, before the caller records a row that names it.
                async with _sweep_lock(shared=True):
                    await self._write(ref.sha256, data)
        return ref, created

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

    def __init__(self, root: Path, grace: timedelta) -> None:
        super().__init__(grace)
        self.root = root

    def path(self, sha256: str) -> Path:
        return self.root / _key(sha256)

    async def read_many(self, sha256s: Sequence[str]) -> list[bytes]:
        return await anyio.to_thread.run_sync(self._read_many, sha256s)

    @contextlib.asynccontextmanager
    async def local_file(self, sha256: str) -> AsyncIterator[Path]:
        path = self.path(sha256)
        if not await anyio.Path(path).is_file():
            raise NotFound(_MISSING, code=Code.STORED_FILE_MISSING)
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
            raise NotFound(_MISSING, code=Code.STORED_FILE_MISSING) from None

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
    PUT (If-None-Match), so two processes storing the same bytes create it once.

    obstore's blocking calls run in worker threads rather than its `*_async` calls: an async
    call's result is handed back to Python from obstore's own runtime threads, and when a short
    process (a CLI command, a worker stopping) exits right after its last call, such a thread
    can still be touching Python while the interpreter finalises, and the process dies of
    SIGABRT or SIGBUS (obstore 0.12, pyo3-async-runtimes; about one exit in fifty). The blocking
    calls release the GIL and hand nothing back from those threads."""

    def __init__(self, objects: S3Store, grace: timedelta) -> None:
        super().__init__(grace)
        self.objects = objects

    async def read_many(self, sha256s: Sequence[str]) -> list[bytes]:
        return list(await asyncio.gather(*(self._read(sha) for sha in sha256s)))

    @contextlib.asynccontextmanager
    async def local_file(self, sha256: str) -> AsyncIterator[Path]:
        with tempfile.TemporaryDirectory(prefix="organisatrice-blob-") as folder:
            path = Path(folder) / sha256
            await anyio.to_thread.run_sync(self._download, sha256, path)
            yield path

    def _download(self, sha256: str, path: Path) -> None:
        try:
            got = obstore.get(self.objects, _key(sha256))
        except FileNotFoundError:
            raise NotFound(_MISSING, code=Code.STORED_FILE_MISSING) from None
        # Streamed in parts: a large spreadsheet never sits in memory whole.
        with path.open("wb") as out:
            for part in got.stream(min_chunk_size=1024 * 1024):
                out.write(part)

    async def modified(self, sha256: str) -> datetime | None:
        try:
            meta = await anyio.to_thread.run_sync(obstore.head, self.objects, _key(sha256))
        except FileNotFoundError:
            return None
        return meta["last_modified"]

    async def listing(self) -> AsyncIterator[list[StoredBlob]]:
        pages = obstore.list(self.objects, chunk_size=1000)
        while page := await anyio.to_thread.run_sync(next, pages, None):
            yield [
                StoredBlob(sha256=found.group(3), modified=meta["last_modified"])
                for meta in page
                if (found := _KEY.match(meta["path"]))
            ]

    async def _create(self, data: bytes) -> tuple[BlobRef, bool]:
        return await anyio.to_thread.run_sync(self._create_here, data)

    def _create_here(self, data: bytes) -> tuple[BlobRef, bool]:
        sha = _sha256(data)
        try:
            obstore.put(self.objects, _key(sha), data, mode="create")
        except AlreadyExistsError:
            return BlobRef(sha256=sha, size=len(data)), False
        return BlobRef(sha256=sha, size=len(data)), True

    async def _write(self, sha256: str, data: bytes) -> None:
        await anyio.to_thread.run_sync(
            functools.partial(obstore.put, self.objects, _key(sha256), data)
        )

    async def _remove(self, sha256s: Sequence[str]) -> None:
        if sha256s:
            keys = [_key(sha) for sha in sha256s]
            await anyio.to_thread.run_sync(obstore.delete, self.objects, keys)

    async def _read(self, sha256: str) -> bytes:
        return await anyio.to_thread.run_sync(self._read_here, sha256)

    def _read_here(self, sha256: str) -> bytes:
        try:
            return bytes(obstore.get(self.objects, _key(sha256)).bytes())
        except FileNotFoundError:
            raise NotFound(_MISSING, code=Code.STORED_FILE_MISSING) from None


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def open_store(url: str, grace: timedelta) -> BlobStore:
    """The store at `url` (file:///folder or s3://bucket[/prefix]); a bucket is reached with
    the endpoint, region and keys of the settings."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileBlobs(Path(unquote(parts.path)), grace)
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
    return S3Blobs(objects, grace)


@functools.cache
def blob_store() -> BlobStore:
    settings = get_settings()
    return open_store(settings.blob_url, timedelta(hours=settings.blob_grace_hours))


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


# ---------------------------------------------------------------------------- the sweep


@contextlib.asynccontextmanager
async def _sweep_lock(*, shared: bool) -> AsyncIterator[None]:
    """Held by the sweep while it removes old blobs, and shared by puts that make an old blob
    young again: on PostgreSQL an advisory lock, on SQLite the write lock."""
    async with transaction():
        db = engine()
        if isinstance(db, PostgresEngine):
            await db.run_querystring(QueryString(_LOCK_SHARED if shared else _LOCK))
        yield


async def sweep(store: BlobStore | None = None) -> SweepResult:
    """Remove the blobs that no row names and that were last written longer ago than the grace
    period. Each is looked at again under the lock just before it goes: one that a put made
    young meanwhile stays (see the module's docstring)."""
    store = store or blob_store()
    started = _now()
    blobs = 0
    old: set[str] = set()
    async for page in store.listing():
        blobs += len(page)
        old.update(blob.sha256 for blob in page if blob.modified < started - store.grace)
    unreferenced = sorted(old - await _referenced(old))
    removed = 0
    for start in range(0, len(unreferenced), SWEEP_BATCH):
        batch = unreferenced[start : start + SWEEP_BATCH]
        async with _sweep_lock(shared=False):
            written = await asyncio.gather(*(store.modified(sha) for sha in batch))
            cutoff = _now() - store.grace
            gone = [
                sha
                for sha, modified in zip(batch, written, strict=True)
                if modified is not None and modified < cutoff
            ]
            await store._remove(gone)
        removed += len(gone)
    return SweepResult(blobs=blobs, removed=removed)


@functools.cache
def _blob_columns() -> tuple[tuple[type[Table], Column], ...]:
    """Every column of every room's tables that names a blob."""
    return tuple(
        (table, column)
        for table in Finder().get_table_classes()
        for column in table._meta.columns
        if column._meta.name.endswith("sha256")
    )


async def _referenced(candidates: set[str]) -> set[str]:
    """Which of `candidates` a row names: each table read once, a page of ids at a time."""
    found: set[str] = set()
    if not candidates:
        return found
    for table, column in _blob_columns():
        key = table._meta.primary_key
        after: Any = None
        while True:
            query = table.select(key, column).order_by(key).limit(REFERENCE_PAGE)
            if after is not None:
                query = query.where(key > after)
            rows = await query
            found.update(r[column._meta.name] for r in rows if r[column._meta.name] in candidates)
            if len(rows) < REFERENCE_PAGE:
                break
            after = rows[-1][key._meta.name]
    return found
