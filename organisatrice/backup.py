"""`organisatrice backup FOLDER` and `organisatrice restore FOLDER`: the database, every blob and
the data folder's keys, as one folder that a restore into an empty installation turns back into
the same archive (`archive verify` passes on it).

The database is copied first (SQLite's online backup: a consistent copy while the app runs;
PostgreSQL's pg_dump, one snapshot), then the blobs: a row in the copy names only blobs stored
before it committed, and the sweep removes none younger than its grace period, so each is still
there to copy. The blobs land in a folder laid out as a store (`ab/cd/abcd…`). The keys come
along (the archive key, the session secret): without the archive key a restored archive cannot
prove itself, so keep backups as safe as the data folder itself.
"""

from __future__ import annotations

import asyncio
import glob
import shutil
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import anyio.to_thread
import msgspec
from piccolo.querystring import QueryString

from organisatrice.core.blobs import BlobStore, blob_store, open_store
from organisatrice.core.db import engine
from organisatrice.core.errors import NotFound
from organisatrice.mail.chain import KEY_FILE
from organisatrice.settings import get_settings

MANIFEST = "backup.json"
SQLITE_FILE = "database.sqlite3"
POSTGRES_FILE = "database.pgdump"
BLOBS = "blobs"
KEYS = "keys"
# The data folder's files that a restored installation needs as they were.
KEY_FILES = (KEY_FILE, "secret_key")


class BackupProblem(Exception):
    """Why a backup or restore cannot go on, in words for the operator."""


class Manifest(msgspec.Struct, frozen=True, kw_only=True):
    made_at: datetime
    database: str
    blobs: int
    keys: list[str]


async def backup(folder: Path) -> Manifest:
    """Copy the database, every blob and the keys into `folder` (new or empty)."""
    _new_folder(folder)
    settings = get_settings()
    if settings.database_kind == "sqlite":
        await anyio.to_thread.run_sync(_sqlite_copy, settings.sqlite_path, folder / SQLITE_FILE)
    else:
        await _tool(
            "pg_dump",
            "--format=custom",
            "--no-owner",
            f"--file={folder / POSTGRES_FILE}",
            f"--dbname={settings.database_url}",
        )
    copied = await _copy_blobs(blob_store(), _folder_store(folder / BLOBS))
    manifest = Manifest(
        made_at=datetime.now(UTC),
        database=settings.database_kind,
        blobs=copied,
        keys=_keep_keys(settings.data_dir, folder / KEYS),
    )
    (folder / MANIFEST).write_bytes(msgspec.json.encode(manifest))
    return manifest


def _new_folder(folder: Path) -> None:
    if folder.exists() and any(folder.iterdir()):
        raise BackupProblem(f"{folder} is not empty; back up into a new folder.")
    folder.mkdir(parents=True, exist_ok=True)


def _keep_keys(data_dir: Path, keys: Path) -> list[str]:
    keys.mkdir()
    kept = []
    for name in KEY_FILES:
        if (data_dir / name).exists():
            shutil.copy2(data_dir / name, keys / name)
            kept.append(name)
    return kept


async def restore(folder: Path) -> Manifest:
    """Bring a backup made by `backup` into this installation, whose database must be new
    (no tables: restore before `migrate`) and whose keys, if any, must be the backup's."""
    manifest = _manifest(folder)
    settings = get_settings()
    if manifest.database != settings.database_kind:
        raise BackupProblem(
            f"The backup is of a {manifest.database} database; DATABASE_URL names "
            f"{settings.database_kind}. Restore into the same kind of database."
        )
    if await _has_tables():
        raise BackupProblem(
            "The database already has tables; restore into a new, empty database (before "
            "`migrate`)."
        )
    _check_keys(manifest, folder / KEYS, settings.data_dir)
    # Blobs before the rows that name them, as the app writes them.
    restored = await _copy_blobs(_folder_store(folder / BLOBS), blob_store())
    if restored != manifest.blobs:
        raise BackupProblem(f"The backup lists {manifest.blobs} blobs but holds {restored}.")
    _restore_keys(manifest, folder / KEYS, settings.data_dir)
    if settings.database_kind == "sqlite":
        await anyio.to_thread.run_sync(_sqlite_copy, folder / SQLITE_FILE, settings.sqlite_path)
    else:
        await _tool(
            "pg_restore",
            "--no-owner",
            "--exit-on-error",
            f"--dbname={settings.database_url}",
            str(folder / POSTGRES_FILE),
        )
    return manifest


def _manifest(folder: Path) -> Manifest:
    try:
        return msgspec.json.decode((folder / MANIFEST).read_bytes(), type=Manifest)
    except (OSError, msgspec.DecodeError, msgspec.ValidationError):
        raise BackupProblem(
            f"{folder} holds no backup ({MANIFEST} is missing or unreadable)."
        ) from None


def _check_keys(manifest: Manifest, keys: Path, data_dir: Path) -> None:
    """An archive key of its own means this data folder signed an archive already: replacing it
    would orphan that archive. (Every start makes a session secret; the backup's replaces it.)"""
    ours = data_dir / KEY_FILE
    given = keys / KEY_FILE
    if KEY_FILE in manifest.keys and ours.exists() and ours.read_bytes() != given.read_bytes():
        raise BackupProblem(f"{ours} differs from the backup's; restore into an empty data folder.")


def _restore_keys(manifest: Manifest, keys: Path, data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    for name in manifest.keys:
        shutil.copy2(keys / name, data_dir / name)
        (data_dir / name).chmod(0o600)


def _folder_store(path: Path) -> BlobStore:
    return open_store(path.resolve().as_uri(), timedelta(hours=get_settings().blob_grace_hours))


async def _copy_blobs(source: BlobStore, target: BlobStore) -> int:
    """Every blob of `source` into `target`, each checked against its name on the way."""
    copied = 0
    async for page in source.listing():
        for blob in page:
            try:
                data = await source.read(blob.sha256)
            except NotFound:
                continue  # swept since it was listed: no row named it
            ref, _ = await target.put(data)
            if ref.sha256 != blob.sha256:
                raise BackupProblem(f"The blob {blob.sha256} is damaged: its bytes do not match.")
            copied += 1
    return copied


def _sqlite_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(source)) as reading, closing(sqlite3.connect(target)) as writing:
        reading.backup(writing)


async def _has_tables() -> bool:
    settings = get_settings()
    if settings.database_kind == "sqlite":
        return _sqlite_has_tables(settings.sqlite_path)
    found = await engine().run_querystring(
        QueryString(
            "SELECT count(*) AS tables FROM information_schema.tables WHERE table_schema = 'public'"
        )
    )
    return bool(found[0]["tables"])


def _sqlite_has_tables(path: Path) -> bool:
    # Asked with sqlite3 itself: the app's engine would create the file.
    if not path.exists():
        return False
    with closing(sqlite3.connect(path)) as db:
        (tables,) = db.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()
    return bool(tables)


async def _tool(name: str, *args: str) -> None:
    """Run one of PostgreSQL's tools: the newest installed (Debian keeps each major version
    apart; pg_dump must be at least the server's), else the one on PATH."""
    newest = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=_major, reverse=True)
    program = newest[0] if newest else shutil.which(name)
    if program is None:
        raise BackupProblem(f"{name} was not found; install PostgreSQL's client tools.")
    process = await asyncio.create_subprocess_exec(
        program, *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    _, errors = await process.communicate()
    if process.returncode != 0:
        raise BackupProblem(f"{name} failed: {errors.decode(errors='replace').strip()[-2000:]}")


def _major(path: str) -> int:
    version = Path(path).parent.parent.name
    return int(version) if version.isdigit() else 0
