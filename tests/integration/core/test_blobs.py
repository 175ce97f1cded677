"""The blob store on the backend the run uses (a folder, or SeaweedFS under tests/object_store.py):
round trip, content addressing, missing blobs, two processes on one store, and the sweep with
the races it must survive."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest

from organisatrice.core import blobs
from organisatrice.core.blobs import BlobStore, blob_store, open_store, sweep
from organisatrice.core.errors import NotFound
from organisatrice.roles.tables import Company
from organisatrice.settings import get_settings
from tests.factories import make_company

# Short enough to wait for, long enough that a blob stored just before a sweep is young on a
# busy machine: S3 keeps times to the second, so "young" has 4 s to spare.
GRACE = timedelta(seconds=5)
PAST_GRACE = 5.5


@pytest.fixture
def scratch() -> BlobStore:
    """A store of its own (a subfolder, a prefix in the bucket) with a short grace period, so
    the sweep sees only this test's blobs."""
    return open_store(f"{get_settings().blob_url}/sweep-{secrets.token_hex(6)}", GRACE)


async def _refer(sha256: str) -> None:
    """A row that names the blob: a company's logo."""
    company = await make_company()
    await Company.update({Company.logo_sha256: sha256}).where(Company.id == company)


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


async def test_sweep_removes_an_old_unreferenced_blob_and_keeps_the_others(
    scratch: BlobStore,
) -> None:
    unreferenced, _ = await scratch.put(b"a failed upload")
    referenced, _ = await scratch.put(b"a logo")
    await _refer(referenced.sha256)
    await asyncio.sleep(PAST_GRACE)
    young, _ = await scratch.put(b"an upload whose row is not written yet")
    result = await sweep(scratch)
    assert (result.blobs, result.removed) == (3, 1)
    assert await scratch.modified(unreferenced.sha256) is None
    assert await scratch.read(referenced.sha256) == b"a logo"
    assert await scratch.read(young.sha256) == b"an upload whose row is not written yet"


async def test_sweep_keeps_a_new_blob_whose_row_commits_while_it_runs(
    scratch: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An upload stores its blob, the sweep lists it and finds no row naming it, then the row
    commits: the blob is young, so it stays."""
    upload, _ = await scratch.put(b"a photo being uploaded")
    referenced = blobs._referenced

    async def row_commits_after_the_look(candidates: set[str]) -> set[str]:
        found = await referenced(candidates)
        await _refer(upload.sha256)
        return found

    monkeypatch.setattr(blobs, "_referenced", row_commits_after_the_look)
    await sweep(scratch)
    assert await scratch.read(upload.sha256) == b"a photo being uploaded"


async def test_sweep_keeps_an_old_blob_stored_again_while_it_runs(
    scratch: BlobStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Equal bytes are one blob: an upload of bytes whose blob is old and unreferenced (a logo
    removed last week, uploaded again) finds it stored. Its put makes it young, so the sweep,
    which had it on its list, looks again and keeps it."""
    logo = b"the logo, removed and uploaded again"
    old, _ = await scratch.put(logo)
    await asyncio.sleep(PAST_GRACE)
    referenced = blobs._referenced

    async def uploaded_again_after_the_look(candidates: set[str]) -> set[str]:
        assert old.sha256 in candidates
        found = await referenced(candidates)
        again, created = await scratch.put(logo)
        assert not created
        await _refer(again.sha256)
        return found

    monkeypatch.setattr(blobs, "_referenced", uploaded_again_after_the_look)
    result = await sweep(scratch)
    assert result.removed == 0
    assert await scratch.read(old.sha256) == logo


async def test_the_sweep_knows_every_column_that_names_a_blob() -> None:
    assert {(t._meta.tablename, c._meta.name) for t, c in blobs._blob_columns()} == {
        ("company", "logo_sha256"),
        ("photo", "image_sha256"),
        ("photo", "thumbnail_sha256"),
        ("document", "blob_sha256"),
        ("sent_email", "blob_sha256"),
        ("inbound_report", "blob_sha256"),
        ("import_job", "blob_sha256"),
        ("report_signature", "image_sha256"),
        ("client_reply", "blob_sha256"),
    }


def test_blobs_sweep_command_removes_nothing_young() -> None:
    swept = subprocess.run(
        [sys.executable, "-m", "organisatrice", "blobs", "sweep"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert swept.returncode == 0, swept.stderr
    assert swept.stdout.startswith("Removed 0 of ")
