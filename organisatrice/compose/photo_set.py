"""Photo documentation: an order's chosen photos, made fit to go out by email.

Every photo is made upright, loses its metadata (EXIF with the GPS position, XMP, comments) and is
re-encoded as JPEG, at the largest size and quality at which the whole set still fits the email's
size budget. The set goes out as images, or as one PDF with a photo and its caption per page, each
page headed by the company, the order number, the order's address and the date, so that a printed
page still says what it shows.

Pure and CPU-bound (bytes in, bytes out): callers run it in a worker thread.
"""

from __future__ import annotations

import base64
import io
import math
import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

import msgspec
from PIL import Image, ImageOps, UnidentifiedImageError

from organisatrice.compose.context import OrderContext
from organisatrice.compose.pdf import render_pdf
from organisatrice.compose.work_report import Labels, format_date, labels_for
from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid, TooLarge
from organisatrice.core.filenames import MAX_LENGTH, safe_filename
from organisatrice.core.images import encoded
from organisatrice.mail.message import encoded_size
from organisatrice.orders.photos import photo_filename

PDF_FILENAME = "photos.pdf"
# The ladder from best to smallest: every quality at a long edge before the next edge down.
# 2048 px fills any screen a client opens the mail on; below 640 px or quality 60 the details a
# photo documents (a type plate, a crack) stop being readable, so the set must shrink instead.
EDGES = (2048, 1600, 1280, 1024, 800, 640)
QUALITIES = (85, 75, 60)
# The part headers of one attachment. A file name of 120 non-ASCII characters, written twice
# (Content-Type name, Content-Disposition filename*) percent-encoded in RFC 2231, takes up to
# 2 × 120 × 9 bytes; boundary, type and encoding lines fill the rest.
PART_OVERHEAD = 4096
# The PDF around its photos: the catalogue, the embedded font subset, PDF/A's sRGB profile and XMP
# metadata, and per page its objects, header, footer and caption. Measured (WeasyPrint 70) at
# 12 KB for one page, 3.4 KB of it PDF/A's, and 1 to 2 KB for each further page; the font subset
# grows with the letters the captions and the header use, hence the margin. The rendered PDF is
# checked against the budget anyway.
PDF_OVERHEAD = 52 * 1024
PDF_PAGE_OVERHEAD = 2048
# Where a photo may fill the page: the A4 content box of photo_set.html (297 mm less 28 for the
# header, 20 for the foot) less 34 mm for the caption.
_PAGE_BOX_MM = (178, 215)


class SourcePhoto(msgspec.Struct, frozen=True, kw_only=True):
    """A stored photo (JPEG, PNG or WebP, already upright) with its caption and uploaded name."""

    data: bytes
    caption: str
    filename: str


class PhotoAttachment(msgspec.Struct, frozen=True, kw_only=True):
    filename: str
    content_type: str
    data: bytes


class _PdfPhoto(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    caption: str
    # Wider than the page box: fills its width; else its height.
    wide: bool


def part_size(n: int) -> int:
    """What an attachment of `n` bytes adds to the message: its base64 and its part headers."""
    return encoded_size(n) + PART_OVERHEAD


def decode_reduced(data: bytes, edge: int) -> Image.Image:
    """The image in `data`, decoded no smaller than `edge` pixels on its long side, at a reduced
    scale where the format allows it (JPEG: 1/2, 1/4 or 1/8, inside the decoder, so the
    full-size pixels never take memory or time). Other formats decode at full size."""
    image = Image.open(io.BytesIO(data))
    width, height = image.size
    scale = edge / max(width, height)
    if scale < 1:
        # Draft mode takes the largest reduction that keeps the image at least as big as the box
        # in BOTH dimensions. The box must therefore have the photo's own aspect ratio: a square
        # edge × edge box is bound by the short side, so a 3:2 photo would decode at up to twice
        # the size needed and a 4:1 panorama at full size. Rounded up, so never below the edge.
        # Formats without draft support ignore the call.
        image.draft("RGB", (math.ceil(width * scale), math.ceil(height * scale)))
    image.load()
    return image


def _prepared(photo: SourcePhoto, edge: int) -> tuple[Image.Image, bytes | None]:
    """The photo upright, in RGB on white, at most `edge` pixels long, without metadata; and
    its colour profile, which is no personal data and keeps a phone's wide-gamut colours true.

    Resized before it is turned upright: the box is square, so the turn does not change what
    fits, and turning the small image costs a fraction of turning the decoded one."""
    try:
        with decode_reduced(photo.data, edge) as decoded:
            icc_profile = decoded.info.get("icc_profile")
            image = _fitted(_rgb_on_white(decoded), edge)
            # Stored photos are upright already; a photo stored before that rule still has its
            # orientation tag, and a sideways photo in a client's mail is a photo to resend.
            image = ImageOps.exif_transpose(image)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Invalid(
            f"The photo “{photo.caption or photo.filename}” cannot be read. Remove it from the "
            "selection, or upload it again.",
            code=Code.PHOTO_UNREADABLE,
            params={"photo": photo.caption or photo.filename},
            field="photos",
        ) from exc
    # Pillow writes a JPEG comment from `info` on save; EXIF and XMP are only written when given.
    image.info = {}
    return image, icc_profile if isinstance(icc_profile, bytes) else None


def _fitted(image: Image.Image, edge: int) -> Image.Image:
    """At most `edge` pixels on the long side, aspect kept, `info` kept. (Not `thumbnail`,
    which would ask the decoder for a square draft box; the decoder was asked already.)"""
    width, height = image.size
    scale = edge / max(width, height)
    if scale >= 1:
        return image
    size = (max(round(width * scale), 1), max(round(height * scale), 1))
    return image.resize(size, Image.Resampling.BICUBIC, reducing_gap=2.0)


def _rgb_on_white(image: Image.Image) -> Image.Image:
    """RGB, keeping `info` (the orientation tag lives there)."""
    if "A" in image.getbands() or "transparency" in image.info:
        # JPEG has no transparency: what a dropped alpha channel would show is black.
        rgba = image.convert("RGBA")
        flat = Image.new("RGB", rgba.size, "white")
        flat.paste(rgba, mask=rgba.getchannel("A"))
        flat.info = dict(image.info)
        return flat
    if image.mode != "RGB":
        return image.convert("RGB")
    return image


def _jpeg(image: Image.Image, quality: int, icc_profile: bytes | None) -> bytes:
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    return encoded(image, "JPEG", quality=quality, optimize=True, **extra)


def email_photo(photo: SourcePhoto, edge: int, quality: int) -> bytes:
    """One photo at one rung of the ladder: upright, at most `edge` pixels long, without
    metadata, JPEG at `quality`."""
    image, icc_profile = _prepared(photo, edge)
    return _jpeg(image, quality, icc_profile)


def _encoded(photo: SourcePhoto, edge: int, running: Mapping[int, object]) -> dict[int, bytes]:
    """The photo at `edge` as a JPEG at each quality still `running` when its turn comes."""
    image, icc_profile = _prepared(photo, edge)
    return {q: _jpeg(image, q, icc_profile) for q in QUALITIES if q in running}


def _fitting_sets(
    photos: Sequence[SourcePhoto], *, limit: int, cost: Callable[[int], int]
) -> Iterator[list[bytes]]:
    """The photos as JPEGs at each rung of the ladder where their total `cost` stays within
    `limit`, best first. Each photo is decoded once per edge and encoded at every quality still
    in the running; a quality drops out as soon as its running total passes the limit, and when
    none is left the next edge starts without decoding the remaining photos.

    Several photos are made on all cores at once (Pillow lets go of the GIL while it decodes,
    resizes and encodes); they are counted in their order, so the outcome is the same."""
    workers = min(len(photos), os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="photo-set") as pool:
        for edge in EDGES:
            kept: dict[int, list[bytes]] = {quality: [] for quality in QUALITIES}
            totals = dict.fromkeys(QUALITIES, 0)
            made = [pool.submit(_encoded, photo, edge, kept) for photo in photos]
            try:
                for future in made:
                    encoded = future.result()
                    for quality in list(kept):
                        data = encoded[quality]
                        totals[quality] += cost(len(data))
                        if totals[quality] > limit:
                            del kept[quality]
                        else:
                            kept[quality].append(data)
                    if not kept:
                        break
            finally:
                # The photos not needed any more (no quality left, or an unreadable photo).
                for future in made:
                    future.cancel()
            yield from kept.values()


def _too_large(count: int, budget: int) -> TooLarge:
    if count == 1:
        subject, advice = "The photo does not", "Remove other attachments to make room for it."
    else:
        subject, advice = f"The {count} photos do not", "Choose fewer photos."
    return TooLarge(
        f"{subject} fit into the email's {budget / 1e6:.1f} MB, even at {EDGES[-1]} pixels and "
        f"JPEG quality {QUALITIES[-1]}. {advice}",
        code=Code.PHOTOS_DO_NOT_FIT,
        params={"count": count, "max_mb": round(budget / 1e6, 1)},
        field="photos",
    )


def photo_filenames(photos: Sequence[SourcePhoto]) -> list[str]:
    """A safe JPEG name per photo, from its caption or else its uploaded name; a name already
    given gets " (2)", " (3)"…, compared ignoring case, as Windows and macOS file systems do."""
    taken: set[str] = set()
    names = []
    for photo in photos:
        if photo.caption.strip():
            # A caption is no path: "Keller/Heizraum" keeps both words, where safe_filename
            # would keep only what follows the last slash.
            caption = photo.caption.replace("/", "-").replace("\\", "-")
            name = safe_filename(caption, extension=".jpg")
        else:
            name = photo_filename(photo.filename, "image/jpeg")
        stem, number = name.removesuffix(".jpg"), 1
        while name.casefold() in taken:
            number += 1
            suffix = f" ({number}).jpg"
            name = stem[: MAX_LENGTH - len(suffix)].rstrip(" .") + suffix
        taken.add(name.casefold())
        names.append(name)
    return names


class _PdfHeading(msgspec.Struct, frozen=True, kw_only=True):
    """What heads every page of the photo documentation, written in its language."""

    title: str
    company: str
    site: str
    date: str


def _site(ctx: OrderContext) -> str:
    """Where the photos were taken: the order's buildings, or the client's address when the
    order names no building."""
    buildings = [", ".join(filter(None, (b.name, b.address))) for b in ctx.buildings]
    if any(buildings):
        return " · ".join(filter(None, buildings))
    client = ctx.client
    town = f"{client.postal_code} {client.city}".strip()
    return ", ".join(filter(None, (client.name, client.street, town)))


def _heading(ctx: OrderContext, labels: Labels) -> _PdfHeading:
    return _PdfHeading(
        title=labels.photo_title.format(number=ctx.order.number),
        company=ctx.company.name,
        site=_site(ctx),
        date=format_date(ctx.today, ctx.language),
    )


def _pdf_photo(data: bytes, caption: str) -> _PdfPhoto:
    with Image.open(io.BytesIO(data)) as image:
        width, height = image.size
    box_width, box_height = _PAGE_BOX_MM
    return _PdfPhoto(
        url="data:image/jpeg;base64," + base64.b64encode(data).decode("ascii"),
        caption=caption,
        wide=width * box_height >= height * box_width,
    )


def _refuse_empty(photos: Sequence[SourcePhoto]) -> None:
    if not photos:
        raise Invalid(
            "No photo is selected. Choose the photos to send.",
            code=Code.NO_PHOTO_SELECTED,
            field="photos",
        )


def build_photo_pdf(
    photos: Sequence[SourcePhoto], *, budget: int, ctx: OrderContext
) -> PhotoAttachment:
    """The photos as one PDF/A named "photos.pdf", one photo and its caption per page, in
    `ctx.language`, whose encoded size (see `part_size`) stays within `budget` bytes."""
    _refuse_empty(photos)
    # The bytes the PDF may have so that, base64-encoded as one attachment, it fits the budget.
    capacity = (budget - PART_OVERHEAD) * 3 * 76 // (4 * 78)
    sets = _fitting_sets(
        photos, limit=capacity - PDF_OVERHEAD, cost=lambda n: n + PDF_PAGE_OVERHEAD
    )
    labels = labels_for(ctx.language)
    heading = _heading(ctx, labels)
    for jpegs in sets:
        pages = [_pdf_photo(data, p.caption) for data, p in zip(jpegs, photos, strict=True)]
        pdf = render_pdf(
            "photo_set.html",
            ctx=ctx,
            labels=labels,
            heading=heading,
            box=_PAGE_BOX_MM,
            photos=pages,
        )
        if part_size(len(pdf)) <= budget:
            return PhotoAttachment(filename=PDF_FILENAME, content_type="application/pdf", data=pdf)
    raise _too_large(len(photos), budget)


def build_photo_set(photos: Sequence[SourcePhoto], *, budget: int) -> list[PhotoAttachment]:
    """The photos as one JPEG attachment each, whose encoded sizes (see `part_size`) together
    stay within `budget` bytes."""
    _refuse_empty(photos)
    jpegs = next(_fitting_sets(photos, limit=budget, cost=part_size), None)
    if jpegs is None:
        raise _too_large(len(photos), budget)
    return [
        PhotoAttachment(filename=name, content_type="image/jpeg", data=data)
        for name, data in zip(photo_filenames(photos), jpegs, strict=True)
    ]
