"""`organisatrice backup` and `restore`, as an operator runs them: an installation with archived
emails is backed up, restored into a new database, data folder and blob store, and the restored
one proves its archive (`archive verify`) and serves the same archive pages and bytes. On the
run's database kind and blob store (SQLite and a folder, or PostgreSQL and SeaweedFS)."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import pytest

_POPULATE = """
import asyncio, json
from organisatrice.app import create_app
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_company, make_employee, make_order, make_relay, make_template

async def main():
    app = create_app()
    company = await make_company()
    await make_relay(company, 9)  # never reached: no worker runs
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    order = await make_order(company)
    template = await make_template(company, attachments=[])
    ids = []
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        for address in ("a@client.example", "b@client.example"):
            draft = await client.post(
                f"/api/orders/{order.id}/drafts",
                json={"template_id": template, "address": address},
            )
            sent = await client.post(f"/api/orders/{order.id}/drafts/{draft.json()['id']}/send")
            assert sent.status_code == 201, sent.text
            ids.append(sent.json()["id"])
        note = await client.post(f"/api/archive/{ids[0]}/notes", json={"text": "Rückruf."})
        assert note.status_code == 201, note.text
    print(json.dumps({"email": dispatcher.email, "ids": ids}))

asyncio.run(main())
"""

_PAGES = """
import asyncio, hashlib, json, sys
from organisatrice.app import create_app
from tests.client import ApiClient

async def main(email, ids):
    async with ApiClient.signed_in(create_app(), email) as client:
        pages = {"list": (await client.get("/api/archive")).json()}
        for i in ids:
            pages[f"entry {i}"] = (await client.get(f"/api/archive/{i}")).json()
            raw = await client.get(f"/api/archive/{i}/raw")
            pages[f"raw {i}"] = [raw.status_code, hashlib.sha256(raw.content).hexdigest()]
    print(json.dumps(pages, sort_keys=True))

asyncio.run(main(sys.argv[1], json.loads(sys.argv[2])))
"""


def _run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], env=env, capture_output=True, text=True, timeout=180
    )


def _ok(env: dict[str, str], *args: str) -> str:
    done = _run(env, *args)
    assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
    return done.stdout


async def _installation(tmp_path: Path, name: str) -> dict[str, str]:
    """The environment of a new installation: its own data folder, database and blob store."""
    env = dict(os.environ, DATA_DIR=str(tmp_path / name), WORKER_IN_APP="0")
    for setting in ("SECRET_KEY",):
        env.pop(setting, None)
    database = os.environ.get("DATABASE_URL", "")
    if database.startswith("postgres"):
        db_name = f"{name}_{secrets.token_hex(4)}"
        connection = await asyncpg.connect(database)
        try:
            await connection.execute(f'CREATE DATABASE "{db_name}"')
        finally:
            await connection.close()
        env["DATABASE_URL"] = urlunsplit(urlsplit(database)._replace(path=f"/{db_name}"))
    else:
        env.pop("DATABASE_URL", None)
    if os.environ.get("BLOB_URL", "").startswith("s3://"):
        env["BLOB_URL"] = f"{os.environ['BLOB_URL'].rstrip('/')}/{name}-{secrets.token_hex(4)}"
    else:
        env.pop("BLOB_URL", None)
        env.pop("BLOB_ROOT", None)
    return env


@pytest.fixture
async def archived(tmp_path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """An installation with two archived emails, one with a note."""
    source = await _installation(tmp_path, "source")
    _ok(source, "-m", "organisatrice", "migrate")
    made = json.loads(_ok(source, "-c", _POPULATE).strip().splitlines()[-1])
    return source, made


async def test_a_backup_restored_elsewhere_proves_its_archive_and_serves_the_same_pages(
    tmp_path: Path, archived: tuple[dict[str, str], dict[str, Any]]
) -> None:
    source, made = archived
    folder = tmp_path / "backup"
    said = _ok(source, "-m", "organisatrice", "backup", str(folder))
    assert "blobs" in said
    manifest = json.loads((folder / "backup.json").read_text())
    assert manifest["blobs"] >= 2
    assert "archive_key.pem" in manifest["keys"]

    target = await _installation(tmp_path, "target")
    _ok(target, "-m", "organisatrice", "restore", str(folder))
    verified = _ok(target, "-m", "organisatrice", "archive", "verify")
    assert "Archive intact: 2 emails of 1 companies" in verified

    ids = json.dumps(made["ids"])
    before = json.loads(_ok(source, "-c", _PAGES, made["email"], ids))
    after = json.loads(_ok(target, "-c", _PAGES, made["email"], ids))
    assert after == before
    assert len(before["list"]["items"]) == 2
    assert [before[f"raw {i}"][0] for i in made["ids"]] == [200, 200]


async def test_a_restore_refuses_a_database_in_use_a_full_folder_and_no_backup(
    tmp_path: Path, archived: tuple[dict[str, str], dict[str, Any]]
) -> None:
    source, _ = archived
    folder = tmp_path / "backup"
    _ok(source, "-m", "organisatrice", "backup", str(folder))

    again = _run(source, "-m", "organisatrice", "backup", str(folder))
    assert again.returncode == 2
    assert "is not empty; back up into a new folder" in again.stderr

    # Into the installation that still runs: its data stays as it was.
    over = _run(source, "-m", "organisatrice", "restore", str(folder))
    assert over.returncode == 2
    assert "already has tables" in over.stderr
    assert "Archive intact: 2 emails" in _ok(source, "-m", "organisatrice", "archive", "verify")

    nothing = tmp_path / "nothing"
    nothing.mkdir()
    target = await _installation(tmp_path, "target")
    missing = _run(target, "-m", "organisatrice", "restore", str(nothing))
    assert missing.returncode == 2
    assert "holds no backup" in missing.stderr
