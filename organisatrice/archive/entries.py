"""Archived emails as the office sees them: the message exactly as sent (parsed from its
stored bytes), its recipients' statuses, its history, its notes, its attachments and the raw
.eml. Nothing here changes an archived email."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
from piccolo.custom_types import Combinable

from organisatrice.archive.schemas import (
    ArchivedAttachmentOut,
    ArchivedSignatureOut,
    ArchiveEntryOut,
    NoteOut,
)
from organisatrice.archive.tables import InternalNote
from organisatrice.core.blobs import blob_store
from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import NotFound
from organisatrice.mail.chain import archive_key, instant, set_notes_head
from organisatrice.mail.outbox import email_detail
from organisatrice.mail.schemas import EmailStatus
from organisatrice.mail.tables import SentEmail
from organisatrice.orders.services import visible_order
from organisatrice.roles.policy import Actor
from organisatrice.roles.tables import Employee

ATTENTION = frozenset({EmailStatus.FAILED, EmailStatus.BOUNCED})
SHOWN_HEADERS = ("From", "Reply-To", "To", "Cc", "Date", "Subject", "Message-ID")


class StoredMessage(msgspec.Struct, frozen=True):
    data: bytes
    filename: str


class ArchivedFile(msgspec.Struct, frozen=True):
    data: bytes
    content_type: str
    filename: str


async def visible_entry(actor: Actor, email_id: int) -> dict[str, Any]:
    """The entry's row if the actor may see its order; NotFound otherwise (other companies
    too)."""
    row = (
        await SentEmail.select()
        .where((SentEmail.company == actor.company_id) & (SentEmail.id == email_id))
        .first()
    )
    if row is None:
        raise NotFound(
            f"Archived email {email_id} does not exist.",
            code=Code.EMAIL_NOT_FOUND,
            params={"id": email_id},
        )
    try:
        await visible_order(actor, row["order"])
    except NotFound:
        raise NotFound(
            f"Archived email {email_id} does not exist.",
            code=Code.EMAIL_NOT_FOUND,
            params={"id": email_id},
        ) from None
    return dict(row)


class _Attached(msgspec.Struct):
    """Of an attachment's frozen facts, the client's signature (work reports only)."""

    signature: ArchivedSignatureOut | None = None


def _signature(attachments: str, time_zone: str) -> ArchivedSignatureOut | None:
    for attached in msgspec.json.decode(attachments or "[]", type=list[_Attached]):
        if attached.signature is not None:
            signed_at = attached.signature.signed_at.astimezone(ZoneInfo(time_zone))
            return msgspec.structs.replace(attached.signature, signed_at=signed_at)
    return None


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _local(value: datetime | None, time_zone: str) -> datetime | None:
    return value.astimezone(ZoneInfo(time_zone)) if value is not None else None


async def _author(employee_id: int | None) -> str:
    if employee_id is None:
        return ""
    row = (
        await Employee.select(Employee.first_name, Employee.last_name)
        .where(Employee.id == employee_id)
        .first()
    )
    return f"{row['first_name']} {row['last_name']}" if row else ""


async def notes_of(email_id: int, time_zone: str) -> list[NoteOut]:
    return [note for _, note in await notes_where(InternalNote.sent_email == email_id, time_zone)]


async def notes_where(where: Combinable, time_zone: str) -> list[tuple[int, NoteOut]]:
    """The notes `where` selects, oldest first, each with the email it is on."""
    rows = (
        await InternalNote.select(
            InternalNote.id,
            InternalNote.sent_email,
            InternalNote.at,
            InternalNote.text,
            InternalNote.author.first_name,
            InternalNote.author.last_name,
        )
        .where(where)
        .order_by(InternalNote.id)
    )
    return [
        (
            r["sent_email"],
            NoteOut(
                id=r["id"],
                author=f"{r['author.first_name'] or ''} {r['author.last_name'] or ''}".strip(),
                at=r["at"].astimezone(ZoneInfo(time_zone)),
                text=r["text"],
            ),
        )
        for r in rows
    ]


async def entry(actor: Actor, email_id: int) -> ArchiveEntryOut:
    row = await visible_entry(actor, email_id)
    message = parse(await blob_store().read(row["blob_sha256"]))
    detail = await email_detail(email_id)
    text_part = message.get_body(preferencelist=("plain",))
    html_part = message.get_body(preferencelist=("html",))
    zone = actor.time_zone
    base = f"/api/archive/{email_id}"
    return ArchiveEntryOut(
        id=email_id,
        order_id=row["order"],
        order_number=row["order_number"],
        kind=row["kind"],
        template_name=row["template_name"],
        author=await _author(row["author"]),
        status=detail.status,
        needs_attention=detail.status in ATTENTION,
        queued_at=row["queued_at"].astimezone(ZoneInfo(zone)),
        sent_at=_local(row["sent_at"], zone),
        headers={name: str(message[name]) for name in SHOWN_HEADERS if message[name] is not None},
        subject=row["subject"],
        text=str(text_part.get_content()) if text_part is not None else "",
        html=str(html_part.get_content()) if html_part is not None else "",
        attachments=[
            ArchivedAttachmentOut(
                index=index,
                filename=part.get_filename() or f"attachment-{index}",
                content_type=part.get_content_type(),
                size=len(part.get_payload(decode=True) or b""),
                download_url=f"{base}/attachments/{index}",
            )
            for index, part in enumerate(message.iter_attachments())
        ],
        recipients=[
            msgspec.structs.replace(r, updated_at=r.updated_at.astimezone(ZoneInfo(zone)))
            for r in detail.recipients
        ],
        events=[
            msgspec.structs.replace(e, at=e.at.astimezone(ZoneInfo(zone))) for e in detail.events
        ],
        notes=await notes_of(email_id, zone),
        size=row["size"],
        sha256=row["blob_sha256"],
        raw_url=f"{base}/raw",
        resend_of=row["resend_of"],
        signature=_signature(row["attachments"], zone),
    )


async def raw_message(actor: Actor, email_id: int) -> StoredMessage:
    row = await visible_entry(actor, email_id)
    return StoredMessage(
        data=await blob_store().read(row["blob_sha256"]),
        filename=f"{row['order_number']} {row['subject']}"[:100] or f"email-{email_id}",
    )


async def attachment(actor: Actor, email_id: int, index: int) -> ArchivedFile:
    row = await visible_entry(actor, email_id)
    parts = list(parse(await blob_store().read(row["blob_sha256"])).iter_attachments())
    if not 0 <= index < len(parts):
        raise NotFound(
            f"Archived email {email_id} has no attachment {index}.",
            code=Code.ATTACHMENT_NOT_FOUND,
            params={"id": email_id, "index": index},
        )
    part = parts[index]
    payload = part.get_payload(decode=True)
    return ArchivedFile(
        data=payload if isinstance(payload, bytes) else b"",
        content_type=part.get_content_type(),
        filename=part.get_filename() or f"attachment-{index}",
    )


def note_mac(prev: str, row: dict[str, Any]) -> str:
    """A note's link in its email's chain of notes, keyed with the archive key."""
    return archive_key().mac(
        b"organisatrice-note-v2",
        prev.encode(),
        str(row["sent_email"]).encode(),
        str(row["id"]).encode(),
        str(row["author"] or "").encode(),
        instant(row["at"]).encode(),
        row["text"].encode(),
    )


async def add_note(actor: Actor, email_id: int, text: str) -> NoteOut:
    """Add a note; it extends the email's chain of notes (the email's trail covers its head)."""
    await visible_entry(actor, email_id)
    async with transaction():
        head = await SentEmail.select(SentEmail.notes_head).where(SentEmail.id == email_id)
        note = InternalNote(
            company=actor.company_id,
            sent_email=email_id,
            author=actor.employee_id,
            at=datetime.now(UTC),
            text=text.strip(),
        )
        await note.save()
        mac = note_mac(
            head[0]["notes_head"],
            {
                "sent_email": email_id,
                "id": note.id,
                "author": note.author,
                "at": note.at,
                "text": note.text,
            },
        )
        await InternalNote.update({InternalNote.mac: mac}).where(InternalNote.id == note.id)
        await set_notes_head(email_id, mac)
    return next(n for n in await notes_of(email_id, actor.time_zone) if n.id == note.id)
