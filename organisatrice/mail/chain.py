"""The archive's hash chain: each entry's hash covers its frozen facts, the SHA-256 of its
bytes and the hash of the company's previous entry, so changing or removing any entry
breaks every hash after it. Appended under the company's chain-head lock, in the same
transaction that freezes the email."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from organisatrice.mail.tables import ChainHead

# The facts the hash covers, in this order; adding one means a new version of the chain.
CHAINED = (
    "company",
    "order",
    "blob_sha256",
    "message_id",
    "subject",
    "sender",
    "recipients",
    "blocks",
    "attachments",
    "kind",
)


def _instant(value: datetime) -> str:
    # Microseconds since the epoch: the same on both databases, whatever their text format.
    return str(int(value.astimezone(UTC).timestamp() * 1_000_000))


def entry_hash(prev: str, email_id: int, row: dict[str, Any]) -> str:
    digest = hashlib.sha256(f"organisatrice-archive-v1\n{prev}\n{email_id}\n".encode())
    for name in CHAINED:
        value = row[name]
        digest.update(f"{name}={value}\n".encode())
    digest.update(f"queued_at={_instant(row['queued_at'])}\n".encode())
    return digest.hexdigest()


# One statement: makes sure the company has a head row and locks it (the upsert takes the
# row's lock on PostgreSQL; on SQLite the IMMEDIATE write transaction already holds the
# database's only write lock). Every send waits for this lock, so it is one round trip.
_LOCK_HEAD = (
    "INSERT INTO chain_head (company, head) VALUES ({}, '') "
    "ON CONFLICT (company) DO UPDATE SET head = chain_head.head RETURNING head"
)


async def lock_head(company_id: int) -> str:
    """The company's current chain head, locked until the transaction ends."""
    rows = await ChainHead.raw(_LOCK_HEAD, company_id)
    return str(rows[0]["head"])


async def move_head(company_id: int, head: str) -> None:
    """After lock_head in the same transaction, which made sure the company has a head row."""
    await ChainHead.update({ChainHead.head: head}).where(ChainHead.company == company_id)
