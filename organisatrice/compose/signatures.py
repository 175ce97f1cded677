"""The client signs the work report on the tablet: the drawing is checked like every uploaded
image, stored in the blob store, and recorded with the signer's name, the server's time, who
held the tablet and what the report listed. The work report PDF shows the order's newest
signature while the order's work and material are still what the client signed.

A signature replaces the previous one only while no work report has gone out with it; the
one that went out stays as sent (`sent_at`), and signing again adds a new one.
"""

from __future__ import annotations

import hashlib
import io
import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import anyio.to_thread
import msgspec
from PIL import Image, ImageChops

from organisatrice.compose.drafts import emailable_order
from organisatrice.compose.schemas import SignatureFact, SignatureOut
from organisatrice.compose.tables import ReportSignature
from organisatrice.compose.work_report import SignatureMark
from organisatrice.core.blobs import blob_store, store_then_record
from organisatrice.core.codes import Code
from organisatrice.core.errors import Conflict, DomainError, Invalid, NotFound, UnsupportedType
from organisatrice.core.images import check_pixels, check_upload_size, encoded, reading_upload
from organisatrice.orders.schemas import OrderDetail
from organisatrice.roles.policy import Actor

# A drawing on a tablet is a few hundred kilobytes at most, even at three device pixels per
# CSS pixel; anything larger is not a signature from our canvas.
MAX_SIGNATURE_BYTES = 2 * 1024 * 1024
MAX_SIGNATURE_PIXELS = 8_000_000
MAX_SIGNER_NAME = 200
# Around the ink once the empty canvas is cut away, so the strokes' edges stay whole.
_MARGIN = 8
_ACCEPTED = "A signature must be a PNG image drawn in the signature field."
_NOT_IN_A_NAME = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# The shared image checks speak of files in general; the signature names its own problems, so
# the dialog can say them in the person's language.
_CODES = {413: Code.SIGNATURE_TOO_LARGE, 415: Code.SIGNATURE_NOT_PNG, 422: Code.SIGNATURE_EMPTY}


class StoredSignature(msgspec.Struct, frozen=True):
    data: bytes
    filename: str


@contextmanager
def _coded() -> Iterator[None]:
    try:
        yield
    except DomainError as exc:
        # The upload checks' own codes are about files; these say it of the signature.
        exc.code = _CODES.get(exc.status_code, exc.code)
        raise


def checked_signer(name: str) -> str:
    """The signer's name: one line, not empty, at most MAX_SIGNER_NAME characters."""
    name = name.strip()
    if not name:
        raise Invalid(
            "Type the name of the person who signs.", field="signer_name", code=Code.SIGNER_MISSING
        )
    if _NOT_IN_A_NAME.search(name) or len(name) > MAX_SIGNER_NAME:
        raise Invalid(
            f"The signer's name is one line of at most {MAX_SIGNER_NAME} characters.",
            field="signer_name",
            code=Code.SIGNER_INVALID,
        )
    return name


def checked_signature(data: bytes) -> bytes:
    """The drawing as a PNG cut to its ink, with nothing of the upload but its pixels. Refused:
    anything but a PNG, a decompression bomb, a truncated file, and a field left blank."""
    with _coded():
        check_upload_size(data, max_bytes=MAX_SIGNATURE_BYTES, what="signature")
        with reading_upload(max_pixels=MAX_SIGNATURE_PIXELS, accepted=_ACCEPTED):
            with Image.open(io.BytesIO(data)) as probe:
                if probe.format != "PNG":
                    raise UnsupportedType(_ACCEPTED, field="file", code=Code.SIGNATURE_NOT_PNG)
                check_pixels(*probe.size, MAX_SIGNATURE_PIXELS)
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                drawing = image.convert("RGBA")
    # Ink is whatever differs from white once the drawing lies on paper: a transparent canvas
    # and a white one both work.
    paper = Image.new("RGBA", drawing.size, "white")
    ink = ImageChops.invert(Image.alpha_composite(paper, drawing).convert("L")).getbbox()
    if ink is None:
        raise Invalid(
            "The signature field is empty. Sign in the field, then save.",
            field="file",
            code=Code.SIGNATURE_BLANK,
        )
    left, top, right, bottom = ink
    box = (
        max(left - _MARGIN, 0),
        max(top - _MARGIN, 0),
        min(right + _MARGIN, drawing.width),
        min(bottom + _MARGIN, drawing.height),
    )
    return encoded(drawing.crop(box), "PNG", optimize=True)


class _Row(msgspec.Struct, frozen=True):
    id: int
    signer_name: str
    signed_at: datetime
    image_sha256: str
    sent_at: datetime | None
    report_digest: str
    captured_first: str | None = msgspec.field(name="captured_by.first_name", default=None)
    captured_last: str | None = msgspec.field(name="captured_by.last_name", default=None)


def report_digest(order: OrderDetail) -> str:
    """A fingerprint of what the work report lists and the client signs: each work item's day,
    technician, hours and description, and each material's article, quantity and unit."""
    listed = (
        [(w.date.isoformat(), w.technician.name, w.hours, w.description) for w in order.work_items],
        [(m.article, m.quantity, m.unit) for m in order.materials],
    )
    return hashlib.sha256(msgspec.json.encode(listed)).hexdigest()


def _out(row: _Row, order: OrderDetail, time_zone: str) -> SignatureOut:
    return SignatureOut(
        id=row.id,
        signer_name=row.signer_name,
        signed_at=row.signed_at.astimezone(ZoneInfo(time_zone)),
        captured_by=f"{row.captured_first or ''} {row.captured_last or ''}".strip(),
        image_url=f"/api/orders/{order.id}/signature/{row.id}/image",
        sent=row.sent_at is not None,
        current=row.report_digest == report_digest(order),
    )


async def _newest(order_id: int) -> _Row | None:
    row = (
        await ReportSignature.select(
            ReportSignature.id,
            ReportSignature.signer_name,
            ReportSignature.signed_at,
            ReportSignature.image_sha256,
            ReportSignature.sent_at,
            ReportSignature.report_digest,
            ReportSignature.captured_by.first_name,
            ReportSignature.captured_by.last_name,
        )
        .where(ReportSignature.order == order_id)
        .order_by(ReportSignature.id, ascending=False)
        .first()
    )
    return msgspec.convert(row, _Row) if row else None


async def signature_of(actor: Actor, order_id: int) -> SignatureOut | None:
    """The signature the order's next work report shows, if the client signed."""
    order = await emailable_order(actor, order_id)
    row = await _newest(order.id)
    return _out(row, order, actor.time_zone) if row else None


async def sign(actor: Actor, order_id: int, *, data: bytes, signer_name: str) -> SignatureOut:
    """Store the client's signature: it replaces an unsent one, and leaves a sent one as it is."""
    order = await emailable_order(actor, order_id)
    name = checked_signer(signer_name)
    image = await anyio.to_thread.run_sync(checked_signature, data)

    async def record(shas: list[str]) -> int:
        row = ReportSignature(
            company=actor.company_id,
            order=order.id,
            image_sha256=shas[0],
            signer_name=name,
            signed_at=datetime.now(UTC),
            captured_by=actor.employee_id,
            report_digest=report_digest(order),
        )
        await row.save()
        # After the insert, not before: SQLite gives a new row the id of a deleted last row,
        # and a send that drew the replaced signature must not take the new one for it.
        await ReportSignature.delete().where(
            (ReportSignature.order == order.id)
            & ReportSignature.sent_at.is_null()
            & (ReportSignature.id != row.id)
        )
        return int(row.id)

    await store_then_record([image], record)
    made = await _newest(order.id)
    assert made is not None
    return _out(made, order, actor.time_zone)


async def signature_image(actor: Actor, order_id: int, signature_id: int) -> StoredSignature:
    order = await emailable_order(actor, order_id)
    row = (
        await ReportSignature.select(ReportSignature.image_sha256)
        .where((ReportSignature.id == signature_id) & (ReportSignature.order == order.id))
        .first()
    )
    if row is None:
        raise NotFound(
            f"Signature {signature_id} does not exist in this order.",
            code=Code.SIGNATURE_NOT_FOUND,
            params={"id": signature_id},
        )
    return StoredSignature(
        data=await blob_store().read(row["image_sha256"]),
        filename=f"signature {order.number}.png",
    )


class UsedSignature(msgspec.Struct, frozen=True):
    """The signature a work report is drawn with: its row, what the PDF shows, what is frozen."""

    id: int
    mark: SignatureMark
    fact: SignatureFact


async def report_signature(order: OrderDetail, time_zone: str) -> UsedSignature | None:
    """The order's newest signature for its work report, its time in `time_zone`; none when
    the work or material changed since: the client did not sign what the report now lists."""
    row = await _newest(order.id)
    if row is None or row.report_digest != report_digest(order):
        return None
    return UsedSignature(
        id=row.id,
        mark=SignatureMark(
            image=await blob_store().read(row.image_sha256),
            signer_name=row.signer_name,
            signed_at=row.signed_at.astimezone(ZoneInfo(time_zone)),
        ),
        fact=SignatureFact(
            signer_name=row.signer_name,
            signed_at=row.signed_at.astimezone(UTC),
            image_sha256=row.image_sha256,
        ),
    )


async def mark_sent(used: UsedSignature) -> None:
    """Within the send's transaction: the signature went out with a work report and stays as it
    is. Refused when it was replaced after the report was drawn: the email would show a
    signature the order no longer has."""
    same = (ReportSignature.id == used.id) & (
        ReportSignature.image_sha256 == used.fact.image_sha256
    )
    await ReportSignature.update({ReportSignature.sent_at: datetime.now(UTC)}).where(
        same & ReportSignature.sent_at.is_null()
    )
    if not await ReportSignature.exists().where(same):
        raise Conflict(
            "The client signed again while the email was being prepared. Send it again to "
            "include the new signature.",
            code=Code.SIGNATURE_CHANGED,
        )
