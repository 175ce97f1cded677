"""The archive's integrity: verify the hash chain of every company and the bytes of every
entry, and delete old entries under a recorded checkpoint that keeps the rest verifiable."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

import msgspec

from organisatrice.archive.entries import note_mac
from organisatrice.archive.schemas import RetentionPreviewOut, VerifyOut
from organisatrice.archive.tables import InternalNote, RetentionCheckpoint
from organisatrice.core.blobs import blob_store
from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import Conflict, NotFound
from organisatrice.mail.chain import CHAIN_VERSION, archive_key, entry_hash, lock_head, seals
from organisatrice.mail.tables import ChainHead, SentEmail
from organisatrice.roles.audit import record_change
from organisatrice.roles.policy import Actor
from organisatrice.roles.tables import Company

BATCH = 500


def _describe(row: dict[str, Any]) -> str:
    return (
        f'entry {row["id"]} (order {row["order_number"]}, "{row["subject"]}", queued '
        f"{row['queued_at']:%Y-%m-%d %H:%M} UTC)"
    )


async def _chain_start(company_id: int) -> tuple[str, int]:
    """Where the company's chain starts: after the last deletion, or at the beginning."""
    checkpoint = (
        await RetentionCheckpoint.select()
        .where(RetentionCheckpoint.company == company_id)
        .order_by(RetentionCheckpoint.id, ascending=False)
        .first()
    )
    if checkpoint is None:
        return "", 0
    return checkpoint["last_deleted_hash"], checkpoint["last_deleted_id"]


async def verify_company(company_id: int) -> tuple[int, str]:
    """How many entries were checked, and the first problem ("" when intact)."""
    prev, after_id = await _chain_start(company_id)
    store = blob_store()
    checked = 0
    chain_problem = ""
    while True:
        rows = (
            await SentEmail.select()
            .where((SentEmail.company == company_id) & (SentEmail.id > after_id))
            .order_by(SentEmail.id)
            .limit(BATCH)
        )
        keyed = [r["id"] for r in rows if r["chain_version"] >= CHAIN_VERSION]
        sealed = await seals(keyed)
        notes = await _notes_heads(keyed)
        for row in rows:
            checked += 1
            try:
                data = await store.read(row["blob_sha256"])
            except NotFound:
                return checked, f"{_describe(row)}: its stored message is missing."
            if hashlib.sha256(data).hexdigest() != row["blob_sha256"]:
                return checked, f"{_describe(row)}: its stored message was changed."
            if row["id"] in sealed:
                if sealed[row["id"]].facts != row["facts_mac"]:
                    return checked, f"{_describe(row)}: its recorded facts were changed."
                if notes.get(row["id"], "") != row["notes_head"]:
                    return checked, f"{_describe(row)}: its internal notes were changed or removed."
                if sealed[row["id"]].trail != row["trail_mac"]:
                    return checked, (
                        f"{_describe(row)}: its delivery history or its recipients' states "
                        "were changed."
                    )
            # A broken link is named once no entry after it shows its own change: a chain
            # rewritten without the key breaks at its first entry, not at the changed one.
            if not chain_problem and row["chain_prev"] != prev:
                chain_problem = f"{_describe(row)}: the entry before it was changed or removed."
            elif not chain_problem and entry_hash(prev, row["id"], dict(row)) != row["chain_hash"]:
                chain_problem = f"{_describe(row)}: its recorded facts were changed."
            prev = row["chain_hash"]
            after_id = row["id"]
        if len(rows) < BATCH:
            break
    if chain_problem:
        return checked, chain_problem
    head = await ChainHead.select().where(ChainHead.company == company_id).first()
    if head is not None and head["head"] != prev:
        return checked, "The newest entries of the archive were removed."
    if (
        head is not None
        and head["signature"]
        and not archive_key().signed(company_id, head["head"], head["signature"])
    ):
        return checked, "The archive's chain does not end in the head signed with its key."
    return checked, ""


async def _notes_heads(email_ids: list[int]) -> dict[int, str]:
    """Each email's chain of notes recomputed from its notes as they stand; a note whose own
    MAC does not follow from the one before it ends the chain (an edited or removed note)."""
    heads: dict[int, str] = {}
    if not email_ids:
        return heads
    for note in (
        await InternalNote.select()
        .where(InternalNote.sent_email.is_in(email_ids))
        .order_by(InternalNote.id)
    ):
        email_id = note["sent_email"]
        prev = heads.get(email_id, "")
        if prev == "broken":
            continue
        heads[email_id] = note["mac"] if note_mac(prev, note) == note["mac"] else "broken"
    return heads


async def verify_all() -> VerifyOut:
    companies = [r["id"] for r in await Company.select(Company.id).order_by(Company.id)]
    total = 0
    for company_id in companies:
        checked, problem = await verify_company(company_id)
        total += checked
        if problem:
            return VerifyOut(intact=False, entries=total, companies=len(companies), problem=problem)
    return VerifyOut(intact=True, entries=total, companies=len(companies), problem="")


def _older(actor: Actor, older_than: datetime) -> Any:
    return (SentEmail.company == actor.company_id) & (SentEmail.queued_at < older_than)


async def retention_preview(actor: Actor, older_than: datetime) -> RetentionPreviewOut:
    where = _older(actor, older_than)
    first = await SentEmail.select(SentEmail.queued_at).where(where).order_by(SentEmail.id).first()
    last = (
        await SentEmail.select(SentEmail.queued_at)
        .where(where)
        .order_by(SentEmail.id, ascending=False)
        .first()
    )
    return RetentionPreviewOut(
        older_than=older_than,
        count=await SentEmail.count().where(where),
        first=first["queued_at"] if first else None,
        last=last["queued_at"] if last else None,
    )


async def delete_older(
    actor: Actor, older_than: datetime, confirm_count: int
) -> RetentionPreviewOut:
    """Delete the company's archived emails queued before `older_than`, if their number is
    the one the person confirmed. Entries go in chain order from the oldest, so the rest of
    the chain starts at the recorded checkpoint and stays verifiable."""
    async with transaction():
        await lock_head(actor.company_id)
        preview = await retention_preview(actor, older_than)
        if preview.count != confirm_count:
            raise Conflict(
                f"{preview.count} emails are older than that date now, not {confirm_count}; "
                "confirm the new number.",
                code=Code.RETENTION_COUNT_CHANGED,
                params={"count": preview.count, "confirmed": confirm_count},
                field="confirm_count",
            )
        rows = (
            await SentEmail.select(
                SentEmail.id, SentEmail.chain_hash, SentEmail.queued_at, SentEmail.blob_sha256
            )
            .where(SentEmail.company == actor.company_id)
            .order_by(SentEmail.id)
            .limit(preview.count)
        )
        if any(r["queued_at"] >= older_than for r in rows):
            raise Conflict(
                "Some older emails were queued after newer ones; delete up to an earlier date.",
                code=Code.RETENTION_OUT_OF_ORDER,
            )
        if rows:
            ids = [r["id"] for r in rows]
            await InternalNote.delete().where(InternalNote.sent_email.is_in(ids))
            await SentEmail.delete().where(SentEmail.id.is_in(ids))
            await RetentionCheckpoint.insert(
                RetentionCheckpoint(
                    company=actor.company_id,
                    deleted_by=actor.employee_id,
                    deleted_count=len(rows),
                    older_than=older_than,
                    first_deleted_at=preview.first,
                    last_deleted_at=preview.last,
                    last_deleted_id=ids[-1],
                    last_deleted_hash=rows[-1]["chain_hash"],
                )
            )
            await record_change(
                actor,
                subject="company",
                subject_id=actor.company_id,
                subject_label=actor.company_name,
                field="archive_deleted",
                before={"count": len(rows), "older_than": older_than.isoformat()},
                after=None,
            )
    # The messages' bytes go too: deleting is what retention is for.
    for sha in {r["blob_sha256"] for r in rows}:
        if not await SentEmail.exists().where(SentEmail.blob_sha256 == sha):
            await blob_store().discard(sha)
    return preview


class HeadCheckpoint(msgspec.Struct, frozen=True):
    """A company's chain head at a moment, signed with the archive key: printed by
    `organisatrice archive checkpoint` to keep outside the database (a ticket, a printout),
    and checked by `archive verify --checkpoint`."""

    company: int
    entry: int
    head: str
    signature: str
    at: datetime


async def checkpoints() -> list[HeadCheckpoint]:
    key = archive_key()
    made = []
    for head in await ChainHead.select().order_by(ChainHead.company):
        if not head["head"]:
            continue
        last = await SentEmail.select(SentEmail.id).where(
            (SentEmail.company == head["company"]) & (SentEmail.chain_hash == head["head"])
        )
        made.append(
            HeadCheckpoint(
                company=head["company"],
                entry=last[0]["id"] if last else 0,
                head=head["head"],
                signature=key.sign(head["company"], head["head"]),
                at=datetime.now(UTC),
            )
        )
    return made


async def verify_checkpoint(checkpoint: HeadCheckpoint) -> str:
    """ "" when the archive still holds the entry the checkpoint names with the hash it had (or
    retention deleted it since, as recorded); else what is wrong."""
    if not archive_key().signed(checkpoint.company, checkpoint.head, checkpoint.signature):
        return f"The checkpoint of company {checkpoint.company} is not signed with this key."
    row = await SentEmail.select(SentEmail.chain_hash).where(
        (SentEmail.id == checkpoint.entry) & (SentEmail.company == checkpoint.company)
    )
    if row and row[0]["chain_hash"] == checkpoint.head:
        return ""
    _, deleted_up_to = await _chain_start(checkpoint.company)
    if not row and checkpoint.entry <= deleted_up_to:
        return ""
    return (
        f"entry {checkpoint.entry} of company {checkpoint.company}: the archive no longer holds "
        f"it as it was at the checkpoint of {checkpoint.at:%Y-%m-%d %H:%M} UTC."
    )
