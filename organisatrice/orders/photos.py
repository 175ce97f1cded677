"""Photo intake: check an uploaded image, make it upright, strip its metadata, thumbnail it.

Pure: bytes in, bytes out. How an upload is read without trusting it (type by content, pixels
counted before decoding, truncated files refused) is core/images.py.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec
import pillow_heif
from PIL import ExifTags, Image

from organisatrice.core.codes import Code
from organisatrice.core.errors import UnsupportedType
from organisatrice.core.filenames import safe_filename
from organisatrice.core.images import check_pixels, check_upload_size, encoded, reading_upload

pillow_heif.register_heif_opener()

ACCEPTED = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp", "HEIF": "image/heic"}
# Stored as JPEG: HEIC (few mail clients show it) and MPO, the JPEG with extra pictures (depth,
# HDR gain map) that many phone cameras write; Pillow names it MPO, its first picture is the photo.
_STORED_AS_JPEG = {"HEIF", "MPO"}
_EXTENSIONS = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}
_IMAGE_SUFFIX = re.compile(r"\.(jpe?g|png|webp|hei[cf]|mpo)$", re.IGNORECASE)
THUMBNAIL_EDGE = 320
_ACCEPTED_TEXT = "Photos must be JPEG, PNG, WebP or HEIC."

# EXIF orientation → the transposition that makes the pixels upright (as ImageOps.exif_transpose).
_UPRIGHT = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")


class IngestedPhoto(msgspec.Struct, frozen=True, kw_only=True):
    image: bytes
    content_type: str
    thumbnail: bytes
    width: int
    height: int
    taken_at: datetime | None


def _zone(offset: object, time_zone: str) -> tzinfo:
    """The camera's own UTC offset when it wrote one; else the uploader's time zone."""
    if isinstance(offset, str) and (m := _OFFSET.match(offset.strip("\x00 "))):
        sign = -1 if m[1] == "-" else 1
        return timezone(sign * timedelta(hours=int(m[2]), minutes=int(m[3])))
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def _metadata(image: Image.Image, time_zone: str) -> tuple[int, datetime | None]:
    """The EXIF orientation and the time the photo was taken. Metadata is a bonus: damaged EXIF
    counts as absent rather than refusing a photo whose pixels are fine."""
    try:
        exif = image.getexif()
        orientation = exif.get(ExifTags.Base.Orientation, 1)
        details = exif.get_ifd(ExifTags.IFD.Exif)
        raw = details.get(ExifTags.Base.DateTimeOriginal) or exif.get(ExifTags.Base.DateTime)
        offset = details.get(ExifTags.Base.OffsetTimeOriginal) or details.get(
            ExifTags.Base.OffsetTime
        )
    except Exception:  # Pillow raises many kinds of errors on malformed EXIF
        return 1, None
    taken_at = None
    if isinstance(raw, str):
        try:
            # EXIF times are the camera's local time.
            taken_at = datetime.strptime(raw.strip("\x00 "), "%Y:%m:%d %H:%M:%S").replace(
                tzinfo=_zone(offset, time_zone)
            )
        except ValueError:
            taken_at = None
    return (orientation if isinstance(orientation, int) else 1), taken_at


def _encode(image: Image.Image, fmt: str, icc_profile: bytes | None) -> bytes:
    # Only what is passed here is written: no EXIF, XMP, comment or text chunk of the upload.
    extra = {"icc_profile": icc_profile} if icc_profile else {}
    if fmt == "PNG":
        return encoded(image, "PNG", optimize=True, **extra)
    if fmt == "WEBP":
        return encoded(image, "WEBP", quality=90, **extra)
    return encoded(image.convert("RGB"), "JPEG", quality=90, optimize=True, **extra)


def photo_filename(original: str, content_type: str, *, label: str = "") -> str:
    """The name a stored photo is offered under: the uploaded name made safe, with the
    extension of what is stored (an uploaded "IMG_0001.HEIC" is kept as "IMG_0001.jpg");
    `label` goes before the extension ("IMG_0001 thumbnail.jpg")."""
    base = original.replace("\\", "/").rsplit("/", 1)[-1]
    stem = (_IMAGE_SUFFIX.sub("", base).strip() or "photo") + label
    return safe_filename(stem, extension=_EXTENSIONS[content_type])


def ingest_photo(
    data: bytes, *, max_bytes: int, max_pixels: int, time_zone: str = "UTC"
) -> IngestedPhoto:
    """Check and normalise an uploaded photo; refuse anything that is not a sane image."""
    check_upload_size(data, max_bytes=max_bytes, what="photo")
    with reading_upload(max_pixels=max_pixels, accepted=_ACCEPTED_TEXT):
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format or ""
            width, height = probe.size
            if fmt not in ACCEPTED and fmt != "MPO":
                raise UnsupportedType(
                    f"This file is a {fmt or 'unknown'} image; photos must be JPEG, PNG, "
                    "WebP or HEIC.",
                    code=Code.PHOTO_TYPE_NOT_ACCEPTED,
                    params={"format": fmt or "?"},
                    field="file",
                )
            check_pixels(width, height, max_pixels)
            probe.verify()
        with Image.open(io.BytesIO(data)) as image:
            image.load()
            orientation, taken_at = _metadata(image, time_zone)
            method = _UPRIGHT.get(orientation)
            upright = image.transpose(method) if method is not None else image.copy()
    stored_format = "JPEG" if fmt in _STORED_AS_JPEG else fmt
    if upright.mode not in ("RGB", "RGBA", "L", "LA"):
        # A palette image's transparency lives in its metadata: keep it as an alpha channel.
        has_alpha = "A" in upright.getbands() or "transparency" in upright.info
        upright = upright.convert("RGBA" if has_alpha else "RGB")
    icc_profile = upright.info.get("icc_profile")
    # The upload's metadata (EXIF with GPS, XMP, JPEG comments, PNG text) stays behind.
    upright.info = {}
    thumb = upright.copy()
    thumb.thumbnail((THUMBNAIL_EDGE, THUMBNAIL_EDGE))
    return IngestedPhoto(
        image=_encode(upright, stored_format, icc_profile),
        content_type=ACCEPTED[stored_format],
        thumbnail=_encode(thumb, "JPEG", icc_profile),
        width=upright.width,
        height=upright.height,
        taken_at=taken_at,
    )
