"""Photo intake: check an uploaded image, make it upright, strip its metadata, thumbnail it.

Pure: bytes in, bytes out. The file's own content decides its type, never its name; the pixel
count is checked from the header before anything is decoded, so a decompression bomb is refused
without costing memory.
"""

from __future__ import annotations

import io
import warnings
from datetime import datetime
from zoneinfo import ZoneInfo

import msgspec
import pillow_heif
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from organisatrice.core.errors import Invalid, TooLarge, UnsupportedType

pillow_heif.register_heif_opener()

ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}
THUMBNAIL_EDGE = 320


class IngestedPhoto(msgspec.Struct, frozen=True, kw_only=True):
    image: bytes
    content_type: str
    thumbnail: bytes
    width: int
    height: int
    taken_at: datetime | None


def _taken_at(image: Image.Image, time_zone: str) -> datetime | None:
    exif = image.getexif()
    raw = exif.get_ifd(ExifTags.IFD.Exif).get(ExifTags.Base.DateTimeOriginal) or exif.get(
        ExifTags.Base.DateTime
    )
    if not isinstance(raw, str):
        return None
    try:
        # EXIF times are the camera's local time: the uploader's time zone is the best guess.
        return datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(
            tzinfo=ZoneInfo(time_zone)
        )
    except ValueError:
        return None


def _encode(image: Image.Image, fmt: str) -> bytes:
    out = io.BytesIO()
    if fmt == "PNG":
        image.save(out, "PNG", optimize=True)
    elif fmt == "WEBP":
        image.save(out, "WEBP", quality=90)
    else:
        image.convert("RGB").save(out, "JPEG", quality=90, optimize=True)
    return out.getvalue()


def ingest_photo(
    data: bytes, *, max_bytes: int, max_pixels: int, time_zone: str = "UTC"
) -> IngestedPhoto:
    """Check and normalise an uploaded photo; refuse anything that is not a sane image."""
    if not data:
        raise Invalid("The file is empty. Choose a photo and upload it again.", field="file")
    if len(data) > max_bytes:
        raise TooLarge(
            f"The photo is {len(data) / 1e6:.1f} MB; "
            f"at most {max_bytes / 1e6:.0f} MB are accepted.",
            field="file",
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format or ""
                width, height = probe.size
                if fmt not in ACCEPTED:
                    raise UnsupportedType(
                        f"This file is a {fmt or 'unknown'} image; photos must be JPEG, PNG, "
                        "WebP or HEIC.",
                        field="file",
                    )
                _check_pixels(width, height, max_pixels)
                probe.verify()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
                taken_at = _taken_at(image, time_zone)
                upright = ImageOps.exif_transpose(image)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(
            f"The image has too many pixels; at most {max_pixels / 1e6:.0f} megapixels are "
            "accepted.",
            field="file",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnsupportedType(
            "This file is not a readable image. Photos must be JPEG, PNG, WebP or HEIC.",
            field="file",
        ) from exc
    stored_format = "JPEG" if fmt == "HEIF" else fmt
    if upright.mode not in ("RGB", "RGBA", "L", "LA"):
        upright = upright.convert("RGBA" if "A" in upright.getbands() else "RGB")
    thumb = upright.copy()
    thumb.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    return IngestedPhoto(
        image=_encode(upright, stored_format),
        content_type=ACCEPTED[stored_format],
        thumbnail=_encode(thumb, "JPEG"),
        width=upright.width,
        height=upright.height,
        taken_at=taken_at,
    )


def _check_pixels(width: int, height: int, max_pixels: int) -> None:
    if width * height > max_pixels:
        raise TooLarge(
            f"The image has {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"at most {max_pixels / 1e6:.0f} megapixels are accepted.",
            field="file",
        )
