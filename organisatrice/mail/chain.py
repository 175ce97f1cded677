"""The archive's chain: proof that nothing archived was changed, removed or added afterwards.

Each entry's hash covers every frozen fact of the email, the SHA-256 of its bytes and the hash
of the company's previous entry, so changing or removing any entry breaks every hash after it.
Since version 2 the hashes are keyed (HMAC-SHA-256) with the archive key, which lives in a file
outside the database ($DATA_DIR/archive_key.pem, an Ed25519 key): someone who can write the
database cannot recompute a chain over a changed subject. What happens to an email later (its
delivery events, its recipients' states, the head of its internal notes) is its trail, sealed
with the same key in every transaction that adds to it. The company's head is signed with the
key (Ed25519), so a chain cut short at its end shows too, and `archive checkpoint` prints signed
heads to keep elsewhere.

Appended under the company's chain-head lock, in the same transaction that freezes the email.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import os
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from piccolo.querystring import QueryString

from organisatrice.core.db import bound_list
from organisatrice.mail.tables import ChainHead, DeliveryEvent, EmailRecipient, SentEmail
from organisatrice.settings import get_settings

CHAIN_VERSION = 2
# The facts the version 1 hash covers, in this order (entries archived before version 2).
CHAINED_V1 = (
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
# Version 2: every fact frozen at send time.
CHAINED = (
    *CHAINED_V1,
    "order_number",
    "client",
    "author",
    "template_id",
    "template_name",
    "recipient_list",
    "read_receipt",
    "resend_of",
    "size",
    "envelope_sender",
    "token",
    "chain_version",
)
KEY_FILE = "archive_key.pem"


class ArchiveKey:
    """The archive key: signs heads; a MAC key derived from it keys the hashes."""

    def __init__(self, private: Ed25519PrivateKey) -> None:
        self.private = private
        self.public = private.public_key()
        raw = private.private_bytes(
            serialization.Encoding.Raw,
            serialization.PrivateFormat.Raw,
            serialization.NoEncryption(),
        )
        self.mac_key = hashlib.sha256(b"organisatrice-archive-mac\n" + raw).digest()

    def mac(self, *parts: bytes) -> str:
        return hmac.new(self.mac_key, b"\n".join(parts), hashlib.sha256).hexdigest()

    def sign(self, company_id: int, head: str) -> str:
        return self.private.sign(_signed(company_id, head)).hex()

    def signed(self, company_id: int, head: str, signature: str) -> bool:
        try:
            self.public.verify(bytes.fromhex(signature), _signed(company_id, head))
        except (InvalidSignature, ValueError):
            return False
        return True


def _signed(company_id: int, head: str) -> bytes:
    return f"organisatrice-archive-head\n{company_id}\n{head}".encode()


@functools.cache
def archive_key() -> ArchiveKey:
    """The key in $DATA_DIR/archive_key.pem, made on first use (readable by the owner only).
    Keep a copy of the file with the backups: without it the archive cannot prove itself."""
    path = Path(get_settings().data_dir) / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass  # another process made it a moment ago
        else:
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
    private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(private, Ed25519PrivateKey):
        raise RuntimeError(f"{path} is not an Ed25519 key")
    return ArchiveKey(private)


def instant(value: datetime) -> str:
    # Microseconds since the epoch: the same on both databases, whatever their text format.
    return str(int(value.astimezone(UTC).timestamp() * 1_000_000))


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return instant(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return "" if value is None else str(value)


def entry_hash(prev: str, email_id: int, row: dict[str, Any]) -> str:
    """The entry's chain hash, by the version the row was archived with."""
    if int(row.get("chain_version") or 1) < 2:
        digest = hashlib.sha256(f"organisatrice-archive-v1\n{prev}\n{email_id}\n".encode())
        for name in CHAINED_V1:
            digest.update(f"{name}={row[name]}\n".encode())
        digest.update(f"queued_at={instant(row['queued_at'])}\n".encode())
        return digest.hexdigest()
    facts = [f"{name}={_text(row[name])}".encode() for name in CHAINED]
    return archive_key().mac(
        b"organisatrice-archive-v2",
        prev.encode(),
        str(email_id).encode(),
        *facts,
        f"queued_at={instant(row['queued_at'])}".encode(),
    )


class _Trail(msgspec.Struct, array_like=True):
    events: list[tuple[int, str, str, str, str]] = []
    recipients: list[tuple[str, str, str, str, str]] = []
    notes_head: str = ""


def facts_mac(email_id: int, row: dict[str, Any]) -> str:
    """The keyed MAC of an email's frozen facts alone."""
    facts = [f"{name}={_text(row[name])}".encode() for name in (*CHAINED, "queued_at")]
    return archive_key().mac(b"organisatrice-facts-v2", str(email_id).encode(), *facts)


class Seals(msgspec.Struct, frozen=True):
    facts: str
    trail: str


# What the seals read, by name: raw SQL with only these columns, because the recording of
# every half batch the worker sends reseals its emails (Piccolo's select of whole rows cost
# more than the send it records).
_EVENT_COLUMNS = "id, sent_email, at, event, recipient, detail"
_RECIPIENT_COLUMNS = "sent_email, email, field, status, detail, token"
_FACT_COLUMNS = ", ".join(f'"{name}"' for name in ("id", "notes_head", *CHAINED, "queued_at"))


async def seals(email_ids: Sequence[int], *, facts: bool = True) -> dict[int, Seals]:
    """The facts MAC and the trail MAC each email's rows give now (the trail: its delivery
    events, its recipients' states and its notes' head). Without `facts`, the facts MAC is
    left empty: it was sealed when the email was frozen, and nothing changes it."""
    if not email_ids:
        return {}
    ids = list(email_ids)
    trails: dict[int, _Trail] = defaultdict(_Trail)
    for e in await DeliveryEvent.raw(
        f"SELECT {_EVENT_COLUMNS} FROM delivery_event WHERE sent_email IN ({{}}) "  # noqa: S608
        "ORDER BY id",
        bound_list(ids),
    ):
        trails[e["sent_email"]].events.append(
            (e["id"], instant(e["at"]), e["event"], e["recipient"], e["detail"])
        )
    for r in await EmailRecipient.raw(
        f"SELECT {_RECIPIENT_COLUMNS} FROM email_recipient WHERE sent_email IN ({{}}) "  # noqa: S608
        "ORDER BY id",
        bound_list(ids),
    ):
        trails[r["sent_email"]].recipients.append(
            (r["email"], r["field"], r["status"], r["detail"], r["token"] or "")
        )
    columns = _FACT_COLUMNS if facts else "id, notes_head"
    fact_macs: dict[int, str] = {}
    for row in await SentEmail.raw(
        f"SELECT {columns} FROM sent_email WHERE id IN ({{}})",  # noqa: S608
        bound_list(ids),
    ):
        trails[row["id"]].notes_head = row["notes_head"]
        if facts:
            fact_macs[row["id"]] = facts_mac(row["id"], row)
    key = archive_key()
    return {
        email_id: Seals(
            facts=fact_macs.get(email_id, ""),
            trail=key.mac(
                b"organisatrice-trail-v2",
                str(email_id).encode(),
                msgspec.json.encode(trails[email_id]),
            ),
        )
        for email_id in ids
    }


async def seal_trails(email_ids: Sequence[int], *, facts: bool = False) -> None:
    """Seal the trails of these emails as they stand, inside the transaction that changed them
    (emails archived before version 2 keep no trail); with `facts`, their frozen facts too
    (once, when they are frozen)."""
    unique = sorted(set(email_ids))
    if not unique:
        return
    sealed = await seals(unique, facts=facts)
    columns = ["trail_mac", "facts_mac"] if facts else ["trail_mac"]
    values = [
        (email_id, sealed[email_id].trail, sealed[email_id].facts)[: 1 + len(columns)]
        for email_id in unique
    ]
    shape = "(CAST({} AS INTEGER)" + ", {}" * len(columns) + ")"
    rows = QueryString(", ".join(shape for _ in values), *[v for row in values for v in row])
    assignments = ", ".join(f"{c} = v.column{i}" for i, c in enumerate(columns, start=2))
    await SentEmail.raw(
        f"UPDATE sent_email SET {assignments} FROM (VALUES {{}}) AS v "  # noqa: S608
        "WHERE sent_email.id = v.column1 AND sent_email.chain_version >= 2",
        rows,
    )


async def set_notes_head(email_id: int, head: str) -> None:
    """The archive room's notes of the email moved on; their head is part of the trail."""
    await SentEmail.update({SentEmail.notes_head: head}).where(SentEmail.id == email_id)
    await seal_trails([email_id])


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
    """After lock_head in the same transaction, which made sure the company has a head row;
    the new head is signed with the archive key."""
    await ChainHead.update(
        {ChainHead.head: head, ChainHead.signature: archive_key().sign(company_id, head)}
    ).where(ChainHead.company == company_id)
