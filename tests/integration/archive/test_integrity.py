"""`organisatrice archive verify` and retention: one changed byte is found and named; a
deletion is recorded and leaves the chain verifiable."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar

from organisatrice.archive.integrity import verify_company
from organisatrice.archive.tables import InternalNote, RetentionCheckpoint
from organisatrice.core.blobs import blob_store
from organisatrice.mail.tables import ChainHead, DeliveryEvent, EmailRecipient, SentEmail
from organisatrice.roles.tables import PermissionChange
from tests.client import ApiClient
from tests.factories import make_employee
from tests.integration.archive.helpers import Office, drain, office, reseal, send
from tests.smtp_relay import smtp_relay


def _cli(*words: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "organisatrice", "archive", *words],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=120,
    )


def _verify_cli() -> subprocess.CompletedProcess[str]:
    return _cli("verify")


async def test_verify_passes_on_a_clean_archive_and_names_the_entry_with_one_changed_byte(
    app: Litestar,
) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port, attachments=[])
        emails = [await send(app, setup, f"r{i}@client.example") for i in range(3)]
    assert await verify_company(setup.company) == (3, "")
    clean = _verify_cli()
    assert clean.returncode == 0, clean.stderr
    assert "Archive intact" in clean.stdout
    victim = await SentEmail.select().where(SentEmail.id == emails[1]["id"]).first()
    assert victim is not None
    store = blob_store()
    original = await store.read(victim["blob_sha256"])
    changed = bytearray(original)
    changed[len(changed) // 2] ^= 0x01
    # Behind the store's back, as a failing disk or an intruder would: other bytes under the name.
    await store._write(victim["blob_sha256"], bytes(changed))
    try:
        _, problem = await verify_company(setup.company)
        assert problem.startswith(f"entry {emails[1]['id']} (order ")
        assert "stored message was changed" in problem
        broken = _verify_cli()
        assert broken.returncode == 1
        assert f"entry {emails[1]['id']}" in broken.stderr
    finally:
        await store._write(victim["blob_sha256"], original)


async def test_verify_notices_changed_facts_and_removed_entries(app: Litestar) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port, attachments=[])
        emails = [await send(app, setup, f"r{i}@client.example") for i in range(3)]
    await SentEmail.update({SentEmail.subject: "Rewritten"}).where(SentEmail.id == emails[0]["id"])
    _, problem = await verify_company(setup.company)
    assert f"entry {emails[0]['id']}" in problem and "facts were changed" in problem
    await SentEmail.update({SentEmail.subject: emails[0]["subject"]}).where(
        SentEmail.id == emails[0]["id"]
    )
    assert (await verify_company(setup.company))[1] == ""
    await SentEmail.delete().where(SentEmail.id == emails[1]["id"])
    _, problem = await verify_company(setup.company)
    assert f"entry {emails[2]['id']}" in problem and "before it was changed or removed" in problem
    await reseal(setup.company)  # leave an intact archive for the tests after this one


async def test_retention_deletes_after_confirming_the_count_and_keeps_the_chain_verifiable(
    app: Litestar,
) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port, attachments=[])
        emails = [await send(app, setup, f"r{i}@client.example") for i in range(4)]
    old = datetime.now(UTC) - timedelta(days=400)
    for e in emails[:2]:
        await SentEmail.update({SentEmail.queued_at: old}).where(SentEmail.id == e["id"])
    # Queued times are part of the chain: re-seal the fixture the way the send path would have.
    await reseal(setup.company)
    older_than = (datetime.now(UTC) - timedelta(days=365)).isoformat()
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        preview = await client.get("/api/archive/retention", params={"older_than": older_than})
        assert preview.status_code == 200, preview.text
        assert preview.json()["count"] == 2
        wrong = await client.post(
            "/api/archive/retention", json={"older_than": older_than, "confirm_count": 3}
        )
        assert wrong.status_code == 409
        assert "2 emails are older" in wrong.json()["detail"]
        assert await SentEmail.count().where(SentEmail.company == setup.company) == 4
        done = await client.post(
            "/api/archive/retention", json={"older_than": older_than, "confirm_count": 2}
        )
        assert done.status_code == 200, done.text
    remaining = await SentEmail.select(SentEmail.id).where(SentEmail.company == setup.company)
    assert sorted(r["id"] for r in remaining) == sorted(e["id"] for e in emails[2:])
    [checkpoint] = await RetentionCheckpoint.select().where(
        RetentionCheckpoint.company == setup.company
    )
    assert checkpoint["deleted_count"] == 2
    assert checkpoint["deleted_by"] == setup.dispatcher.id
    assert await PermissionChange.exists().where(
        (PermissionChange.company == setup.company) & (PermissionChange.field == "archive_deleted")
    )
    assert await verify_company(setup.company) == (2, "")


async def _annotated_archive(app: Litestar) -> tuple[Office, list[dict[str, Any]]]:
    with smtp_relay() as (_, port):
        setup = await office(port, attachments=[])
        emails = [await send(app, setup, f"r{i}@client.example") for i in range(3)]
        await drain()
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        for text in ("Called the client.", "Sent on paper too."):
            note = await client.post(f"/api/archive/{emails[1]['id']}/notes", json={"text": text})
            assert note.status_code == 201, note.text
    assert (await verify_company(setup.company))[1] == ""
    return setup, emails


def _recomputed_without_key(prev: str, email_id: int, row: dict[str, Any]) -> str:
    """What someone who can write the database but has no key can compute: a plain SHA-256."""
    digest = hashlib.sha256(f"{prev}\n{email_id}\n".encode())
    for name in sorted(row):
        digest.update(f"{name}={row[name]}\n".encode())
    return digest.hexdigest()


@pytest.mark.parametrize(
    "tamper",
    [
        "note_edited",
        "note_deleted",
        "order_number",
        "template_name",
        "author",
        "recipient_status",
        "event_deleted",
        "subject_with_chain_recomputed",
    ],
)
async def test_every_kind_of_tampering_is_found_and_names_the_entry(
    app: Litestar, tamper: str
) -> None:
    setup, emails = await _annotated_archive(app)
    victim = emails[1]["id"]
    if tamper == "note_edited":
        await InternalNote.update({InternalNote.text: "Nothing happened."}).where(
            InternalNote.sent_email == victim
        )
    elif tamper == "note_deleted":
        last = await InternalNote.select(InternalNote.id).where(InternalNote.sent_email == victim)
        await InternalNote.delete().where(InternalNote.id == max(r["id"] for r in last))
    elif tamper in ("order_number", "template_name"):
        column = SentEmail._meta.get_column_by_name(tamper)
        await SentEmail.update({column: "9999-0001"}).where(SentEmail.id == victim)
    elif tamper == "author":
        other = await make_employee(setup.company)
        await SentEmail.update({SentEmail.author: other.id}).where(SentEmail.id == victim)
    elif tamper == "recipient_status":
        await EmailRecipient.update({EmailRecipient.status: "read"}).where(
            EmailRecipient.sent_email == victim
        )
    elif tamper == "event_deleted":
        await DeliveryEvent.delete().where(
            (DeliveryEvent.sent_email == victim) & (DeliveryEvent.event == "sent")
        )
    else:
        await SentEmail.update({SentEmail.subject: "Rewritten"}).where(SentEmail.id == victim)
        prev = ""
        for row in (
            await SentEmail.select()
            .where(SentEmail.company == setup.company)
            .order_by(SentEmail.id)
        ):
            sealed = _recomputed_without_key(prev, row["id"], dict(row))
            await SentEmail.update(
                {SentEmail.chain_prev: prev, SentEmail.chain_hash: sealed}
            ).where(SentEmail.id == row["id"])
            prev = sealed
        await ChainHead.update({ChainHead.head: prev}).where(ChainHead.company == setup.company)
    _, problem = await verify_company(setup.company)
    assert problem.startswith(f"entry {victim} (order "), problem
    broken = _verify_cli()
    assert broken.returncode == 1 and f"entry {victim}" in broken.stderr
    await reseal(setup.company)  # leave an intact archive for the tests after this one


async def test_a_checkpoint_kept_elsewhere_finds_the_archive_rolled_back(
    app: Litestar, tmp_path: Path
) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port, attachments=[])
        emails = [await send(app, setup, f"r{i}@client.example") for i in range(2)]
    printed = _cli("checkpoint").stdout
    kept = tmp_path / "checkpoint.jsonl"
    kept.write_text(printed)
    mine = [line for line in printed.splitlines() if f'"company":{setup.company},' in line]
    assert len(mine) == 1 and f'"entry":{emails[1]["id"]}' in mine[0]
    assert _cli("verify", "--checkpoint", str(kept)).returncode == 0
    # Someone with the key file removes the newest email and signs the shorter chain.
    await SentEmail.delete().where(SentEmail.id == emails[1]["id"])
    await reseal(setup.company)
    assert (await verify_company(setup.company))[1] == ""
    rolled_back = _cli("verify", "--checkpoint", str(kept))
    assert rolled_back.returncode == 1
    assert f"entry {emails[1]['id']} of company {setup.company}" in rolled_back.stderr


async def test_a_retention_date_before_the_year_1_in_utc_is_refused_not_a_server_error(
    app: Litestar,
) -> None:
    setup = await office(9, attachments=[])
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        answer = await client.post(
            "/api/archive/retention",
            json={"older_than": "0001-01-01T00:00:00+04:01", "confirm_count": 0},
        )
    assert answer.status_code == 422, answer.text
    assert "out of range" in answer.json()["detail"]
