"""The archive's integrity: verify the hash chain of every company and the bytes of every
entry, and delete old entries under a recorded checkpoint that keeps the rest verifiable."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from organisatrice.archive.schemas import RetentionPreviewOut, VerifyOut
from organisatrice.archive.tables import InternalNote, RetentionCheckpoint
from organisatrice.core.blobs import blob_store
from organisatrice.core.db import transaction
from organisatrice.core.errors import Conflict, NotFound
from organisatrice.mail.chain import entry_hash, lock_head
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
    while True:
        rows = (
            await SentEmail.select()
            .where((SentEmail.company == company_id) & (SentEmail.id > after_id))
            .order_by(SentEmail.id)
            .limit(BATCH)
        )
        for row in rows:
            checked += 1
            try:
                data = await store.read(row["blob_sha256"])
            except NotFound:
                return checked, f"{_describe(row)}: its stored message is missing."
            if hashlib.sha256(data).hexdigest() != row["blob_sha256"]:
                return checked, f"{_describe(row)}: its stored message was changed."
            if row["chain_prev"] != prev:
                return checked, f"{_describe(row)}: the entry before it was changed or removed."
            if entry_hash(prev, row["id"], dict(row)) != row["chain_hash"]:
                return checked, f"{_describe(row)}: its recorded facts were changed."
            prev = row["chain_hash"]
            after_id = row["id"]
        if len(rows) < BATCH:
            break
    head = await ChainHead.select(ChainHead.head).where(ChainHead.company == company_id).first()
    if head is not None and head["head"] != prev:
        return checked, "The newest entries of the archive were removed."
    return checked, ""


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
                "Some older emails were queued after newer ones; delete up to an earlier date."
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
