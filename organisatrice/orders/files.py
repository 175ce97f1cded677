"""Photos and documents of an order: checked, written to the blob store, then recorded
(core/blobs.py `store_then_record`: a failed upload leaves neither row nor file); captions
changed afterwards."""

from __future__ import annotations

import hashlib
import re

import anyio.to_thread
import msgspec

from organisatrice.core.blobs import blob_store, store_then_record
from organisatrice.core.bounded import Budget, OverBudget, run_bounded
from organisatrice.core.codes import Code
from organisatrice.core.db import lock_row
from organisatrice.core.errors import Invalid, NotFound, UnsupportedType
from organisatrice.core.http import refuse_nul_text
from organisatrice.orders.documents import inspect_document
from organisatrice.orders.photos import ingest_photo, photo_filename
from organisatrice.orders.schemas import MAX_CAPTION, DocumentOut, PhotoOut
from organisatrice.orders.services import order_documents, order_photos, visible_order
from organisatrice.orders.tables import Document, Order, Photo
from organisatrice.roles.policy import Actor
from organisatrice.settings import get_settings

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators: a caption is
# one line under a photo, in the photo set's PDF and in the email.
_NOT_IN_A_CAPTION = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
DOCUMENT_KINDS = ("offer", "plan", "report", "other")
# Opening someone's PDF or office file, within this budget.
DOCUMENT_BUDGET = Budget(seconds=20, memory_mb=768)


class StoredFile(msgspec.Struct, frozen=True):
    data: bytes
    content_type: str
    filename: str


def checked_caption(caption: str) -> str:
    """A photo's caption made safe: one line of printable text, at most MAX_CAPTION long."""
    refuse_nul_text(caption, "caption")
    if _NOT_IN_A_CAPTION.search(caption):
        raise Invalid(
            "The caption may not contain line breaks, tabs or other control characters.",
            code=Code.CAPTION_CONTROL_CHARACTERS,
            field="caption",
        )
    if len(caption) > MAX_CAPTION:
        raise Invalid(
            f"The caption is longer than {MAX_CAPTION} characters.",
            code=Code.CAPTION_TOO_LONG,
            params={"max": MAX_CAPTION},
            field="caption",
        )
    return caption.strip()


def stored_upload_key(upload_key: str) -> str | None:
    """What is kept of the key a device gives an upload: its SHA-256 (any key fits the column
    and none is kept as sent); no key, no retry to recognise."""
    return hashlib.sha256(upload_key.encode()).hexdigest() if upload_key else None


async def _uploaded_before(
    table: type[Photo] | type[Document], order_id: int, key: str | None
) -> int | None:
    """The file an earlier attempt of this upload added to the order, if it got through (its
    answer may have been lost with the connection). The order is held first, so that an
    attempt still running on the server is waited for rather than missed."""
    if key is None:
        return None
    await lock_row(Order, order_id)
    row = (
        await table.select(table.id)
        .where((table.order == order_id) & (table.upload_key == key))
        .first()
    )
    return int(row["id"]) if row else None


async def add_photo(
    actor: Actor,
    order_id: int,
    *,
    data: bytes,
    filename: str,
    caption: str,
    upload_key: str = "",
) -> PhotoOut:
    await visible_order(actor, order_id)
    caption = checked_caption(caption)
    settings = get_settings()
    photo = await anyio.to_thread.run_sync(
        lambda: ingest_photo(
            data,
            max_bytes=settings.max_photo_bytes,
            max_pixels=settings.max_photo_pixels,
            time_zone=actor.time_zone,
        )
    )

    key = stored_upload_key(upload_key)

    async def record(shas: list[str]) -> int:
        if (before := await _uploaded_before(Photo, order_id, key)) is not None:
            return before
        row = Photo(
            company=actor.company_id,
            order=order_id,
            image_sha256=shas[0],
            thumbnail_sha256=shas[1],
            content_type=photo.content_type,
            width=photo.width,
            height=photo.height,
            size=len(photo.image),
            caption=caption,
            original_filename=photo_filename(filename, photo.content_type),
            taken_at=photo.taken_at,
            taken_by=actor.employee_id,
            upload_key=key,
        )
        await row.save()
        return int(row.id)

    photo_id = await store_then_record([photo.image, photo.thumbnail], record)
    return next(p for p in await order_photos(order_id) if p.id == photo_id)


async def change_caption(actor: Actor, order_id: int, photo_id: int, caption: str) -> PhotoOut:
    await visible_order(actor, order_id)
    caption = checked_caption(caption)
    # The order is visible and the photo is one of its photos: the same scope as viewing it.
    where = (Photo.id == photo_id) & (Photo.order == order_id)
    if not await Photo.exists().where(where):
        raise NotFound(
            f"Photo {photo_id} does not exist in this order.",
            code=Code.PHOTO_NOT_FOUND,
            params={"id": photo_id},
        )
    await Photo.update({Photo.caption: caption}).where(where)
    return next(p for p in await order_photos(order_id) if p.id == photo_id)


async def add_document(
    actor: Actor,
    order_id: int,
    *,
    data: bytes,
    filename: str,
    kind: str,
    upload_key: str = "",
) -> DocumentOut:
    await visible_order(actor, order_id)
    if kind not in DOCUMENT_KINDS:
        raise Invalid(
            f"Unknown document kind {kind!r}; choose one of {', '.join(DOCUMENT_KINDS)}.",
            code=Code.DOCUMENT_KIND_UNKNOWN,
            params={"kind": kind},
            field="kind",
        )
    settings = get_settings()
    try:
        checked = await run_bounded(
            DOCUMENT_BUDGET,
            inspect_document,
            data,
            filename,
            settings.max_document_bytes,
            settings.max_photo_pixels,
        )
    except OverBudget:
        raise UnsupportedType(
            "The document takes too long to check; it is not accepted.",
            code=Code.DOCUMENT_CHECK_TOO_SLOW,
            field="file",
        ) from None

    key = stored_upload_key(upload_key)

    async def record(shas: list[str]) -> int:
        if (before := await _uploaded_before(Document, order_id, key)) is not None:
            return before
        row = Document(
            company=actor.company_id,
            order=order_id,
            blob_sha256=shas[0],
            filename=checked.filename,
            content_type=checked.content_type,
            size=len(checked.data),
            kind=kind,
            uploaded_by=actor.employee_id,
            upload_key=key,
        )
        await row.save()
        return int(row.id)

    document_id = await store_then_record([checked.data], record)
    return next(d for d in await order_documents(order_id) if d.id == document_id)


async def photo_file(actor: Actor, order_id: int, photo_id: int, *, thumbnail: bool) -> StoredFile:
    await visible_order(actor, order_id)
    row = await Photo.select().where((Photo.id == photo_id) & (Photo.order == order_id)).first()
    if row is None:
        raise NotFound(
            f"Photo {photo_id} does not exist in this order.",
            code=Code.PHOTO_NOT_FOUND,
            params={"id": photo_id},
        )
    # The thumbnail is always a JPEG; its name says so, and that it is not the photo itself.
    content_type = "image/jpeg" if thumbnail else row["content_type"]
    filename = photo_filename(
        row["original_filename"] or f"photo-{photo_id}",
        content_type,
        label=" thumbnail" if thumbnail else "",
    )
    sha = row["thumbnail_sha256"] if thumbnail else row["image_sha256"]
    return StoredFile(
        data=await blob_store().read(sha), content_type=content_type, filename=filename
    )


async def document_file(actor: Actor, order_id: int, document_id: int) -> StoredFile:
    await visible_order(actor, order_id)
    row = (
        await Document.select()
        .where((Document.id == document_id) & (Document.order == order_id))
        .first()
    )
    if row is None:
        raise NotFound(
            f"Document {document_id} does not exist in this order.",
            code=Code.DOCUMENT_NOT_FOUND,
            params={"id": document_id},
        )
    return StoredFile(
        data=await blob_store().read(row["blob_sha256"]),
        content_type=row["content_type"],
        filename=row["filename"],
    )
