"""ingest_photo: bytes in, an upright photo without metadata and a thumbnail out, or a refusal
a person understands. Pure: no database, no HTTP."""

from __future__ import annotations

import io
import struct
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from PIL import ExifTags, Image, ImageFile

from organisatrice.core.errors import Invalid, TooLarge, UnsupportedType
from organisatrice.orders.photos import ingest_photo, photo_filename
from tests.factories import make_image

LIMITS = {"max_bytes": 3 * 1024 * 1024, "max_pixels": 12_000_000}
RED = (220, 20, 20)
BLUE = (20, 40, 220)


def _photo(
    fmt: str = "JPEG",
    *,
    orientation: int = 1,
    taken: str | None = None,
    offset: str | None = None,
    **save: object,
) -> bytes:
    """400×200, left half red, right half blue, with the EXIF given."""
    image = Image.new("RGB", (400, 200), BLUE)
    image.paste(RED, (0, 0, 200, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    if taken:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = taken
    if offset:
        exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.OffsetTimeOriginal] = offset
    exif.get_ifd(ExifTags.IFD.GPSInfo)[ExifTags.GPS.GPSLatitude] = (47.0, 22.0, 12.5)
    out = io.BytesIO()
    image.save(out, fmt, exif=exif, **save)
    return out.getvalue()


def _open(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def _is(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=False))


@pytest.mark.parametrize(
    ("orientation", "size", "red_at"),
    [
        (1, (400, 200), (50, 100)),  # as taken: red on the left
        (3, (400, 200), (350, 100)),  # upside down: red ends on the right
        (6, (200, 400), (100, 50)),  # turned: red on top
        (8, (200, 400), (100, 350)),  # turned the other way: red at the bottom
    ],
)
def test_photo_is_turned_as_its_exif_orientation_says(
    orientation: int, size: tuple[int, int], red_at: tuple[int, int]
) -> None:
    photo = ingest_photo(_photo(orientation=orientation), **LIMITS)
    stored = _open(photo.image)
    assert (photo.width, photo.height) == stored.size == size
    assert _is(stored.getpixel(red_at), RED)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "WEBP"])
def test_stored_photo_and_thumbnail_carry_no_exif(fmt: str) -> None:
    photo = ingest_photo(_photo(fmt, orientation=6, taken="2026:11:03 09:15:00"), **LIMITS)
    for data in (photo.image, photo.thumbnail):
        assert _open(data).getexif() == {}
        assert b"Exif" not in data


def test_jpeg_comment_is_not_carried_over() -> None:
    data = make_image("JPEG", comment=b"Bahnhofstrasse 12, 47.37N 8.54E")
    photo = ingest_photo(data, **LIMITS)
    assert b"47.37N" not in photo.image
    assert b"47.37N" not in photo.thumbnail


def test_colour_profile_is_kept() -> None:
    from PIL import ImageCms

    profile = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    photo = ingest_photo(make_image("JPEG", icc_profile=profile), **LIMITS)
    assert _open(photo.image).info.get("icc_profile") == profile


def test_thumbnail_is_a_jpeg_of_at_most_320_pixels() -> None:
    photo = ingest_photo(_photo("PNG", orientation=6), **LIMITS)
    thumbnail = _open(photo.thumbnail)
    assert thumbnail.format == "JPEG"
    assert thumbnail.size == (160, 320)


def test_small_photo_keeps_its_size_in_the_thumbnail() -> None:
    photo = ingest_photo(make_image("JPEG", size=(100, 80)), **LIMITS)
    assert _open(photo.thumbnail).size == (100, 80)


def test_taken_at_is_camera_time_in_the_uploaders_time_zone() -> None:
    photo = ingest_photo(_photo(taken="2026:07:03 09:15:00"), **LIMITS, time_zone="Europe/Zurich")
    assert photo.taken_at == datetime(2026, 7, 3, 9, 15, tzinfo=ZoneInfo("Europe/Zurich"))
    assert photo.taken_at.utcoffset() == timedelta(hours=2)


def test_taken_at_uses_the_cameras_own_utc_offset_when_it_wrote_one() -> None:
    data = _photo(taken="2026:07:03 09:15:00", offset="-04:00")
    photo = ingest_photo(data, **LIMITS, time_zone="Europe/Zurich")
    assert photo.taken_at == datetime(2026, 7, 3, 9, 15, tzinfo=timezone(timedelta(hours=-4)))


@pytest.mark.parametrize("taken", [None, "0000:00:00 00:00:00", "yesterday"])
def test_missing_or_unreadable_time_leaves_taken_at_empty(taken: str | None) -> None:
    assert ingest_photo(_photo(taken=taken), **LIMITS).taken_at is None


def test_unknown_time_zone_falls_back_to_utc() -> None:
    photo = ingest_photo(_photo(taken="2026:11:03 09:15:00"), **LIMITS, time_zone="Mars/Olympus")
    assert photo.taken_at == datetime(2026, 11, 3, 9, 15, tzinfo=UTC)


def _odd_exif() -> bytes:
    """EXIF a real camera app wrote: orientation 6, and the Make tag (text) typed as a number."""
    entries = [(0x0112, 3, 1, struct.pack("<HH", 6, 0)), (0x010F, 5, 1, struct.pack("<I", 38))]
    ifd = struct.pack("<H", len(entries))
    ifd += b"".join(struct.pack("<HHI", tag, kind, 1) + value for tag, kind, _, value in entries)
    tiff = b"II*\x00" + struct.pack("<I", 8) + ifd + struct.pack("<I", 0)
    tiff += bytes(38 - len(tiff)) + struct.pack("<II", 1, 3)
    return b"Exif\x00\x00" + tiff


def test_odd_exif_does_not_refuse_a_good_photo() -> None:
    photo = ingest_photo(make_image("JPEG", size=(40, 20), exif=_odd_exif()), **LIMITS)
    assert (photo.width, photo.height) == (20, 40)
    assert b"Exif" not in photo.image


@pytest.mark.parametrize(
    ("fmt", "content_type"),
    [("JPEG", "image/jpeg"), ("PNG", "image/png"), ("WEBP", "image/webp")],
)
def test_jpeg_png_and_webp_stay_what_they_are(fmt: str, content_type: str) -> None:
    photo = ingest_photo(make_image(fmt), **LIMITS)
    assert photo.content_type == content_type
    assert _open(photo.image).format == fmt


def test_heic_is_stored_as_jpeg() -> None:
    photo = ingest_photo(make_image("HEIF", size=(64, 48)), **LIMITS)
    assert photo.content_type == "image/jpeg"
    assert _open(photo.image).format == "JPEG"
    assert (photo.width, photo.height) == (64, 48)


def test_phone_jpeg_with_extra_pictures_is_accepted_as_jpeg() -> None:
    # Many phones write MPO: a JPEG followed by more pictures (depth, HDR gain map).
    out = io.BytesIO()
    first, extra = Image.new("RGB", (300, 200), RED), Image.new("RGB", (300, 200), BLUE)
    first.save(out, "MPO", save_all=True, append_images=[extra])
    assert _open(out.getvalue()).format == "MPO"
    photo = ingest_photo(out.getvalue(), **LIMITS)
    assert photo.content_type == "image/jpeg"
    assert _is(_open(photo.image).getpixel((10, 10)), RED)


def test_palette_png_keeps_its_transparency() -> None:
    out = io.BytesIO()
    Image.new("P", (20, 20)).save(out, "PNG", transparency=0)
    photo = ingest_photo(out.getvalue(), **LIMITS)
    assert _open(photo.image).mode == "RGBA"
    assert _open(photo.image).getpixel((5, 5))[3] == 0


def test_empty_file_is_invalid() -> None:
    with pytest.raises(Invalid, match="empty"):
        ingest_photo(b"", **LIMITS)


def test_file_over_the_byte_limit_is_refused_before_reading_it() -> None:
    with pytest.raises(TooLarge, match="at most 3 MB") as refused:
        ingest_photo(b"\xff\xd8" + bytes(3 * 1024 * 1024), **LIMITS)
    assert refused.value.field == "file"


@pytest.mark.parametrize("size", [(20000, 20000), (5000, 3000), (4001, 3000)])
def test_too_many_pixels_are_refused_from_the_header(size: tuple[int, int]) -> None:
    out = io.BytesIO()
    Image.new("1", size).save(out, "PNG")  # small on disk, big in memory
    assert len(out.getvalue()) < LIMITS["max_bytes"]
    with pytest.raises(TooLarge, match="megapixels"):
        ingest_photo(out.getvalue(), **LIMITS)


def test_exactly_the_pixel_limit_is_accepted() -> None:
    photo = ingest_photo(make_image("PNG", size=(40, 30)), max_bytes=10**6, max_pixels=1200)
    assert (photo.width, photo.height) == (40, 30)


@pytest.mark.parametrize(
    "data",
    [
        b"%PDF-1.4 not a photo",
        b"hello, this is text\n" * 30,
        bytes(500),
    ],
    ids=["pdf", "text", "zeros"],
)
def test_what_is_not_an_image_is_refused(data: bytes) -> None:
    with pytest.raises(UnsupportedType, match="not a readable image"):
        ingest_photo(data, **LIMITS)


def test_truncated_jpeg_is_refused() -> None:
    whole = make_image("JPEG", size=(300, 200), quality=95)
    with pytest.raises(UnsupportedType, match="not a readable image"):
        ingest_photo(whole[: len(whole) // 2], **LIMITS)


@pytest.mark.parametrize("fmt", ["JPEG", "HEIF"])
def test_truncated_photo_is_refused_even_when_pillow_is_told_to_be_lenient(
    fmt: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # WeasyPrint (the work report) turns Pillow's process-wide switch on when it is imported.
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    whole = make_image(fmt, size=(300, 200), quality=95)
    with pytest.raises(UnsupportedType, match="not a readable image"):
        ingest_photo(whole[: len(whole) // 2], **LIMITS)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True  # left as it was found
    assert ingest_photo(whole, **LIMITS).width == 300


@pytest.mark.parametrize("fmt", ["GIF", "BMP", "TIFF"])
def test_other_image_formats_are_refused_by_name(fmt: str) -> None:
    with pytest.raises(UnsupportedType, match=f"This file is a {fmt} image"):
        ingest_photo(make_image(fmt), **LIMITS)


@pytest.mark.parametrize(
    ("given", "content_type", "kept"),
    [
        ("IMG_0001.HEIC", "image/jpeg", "IMG_0001.jpg"),
        ("C:\\fakepath\\Zähler.jpeg", "image/jpeg", "Zähler.jpg"),
        ("../../etc/plan.png", "image/png", "plan.png"),
        ("scan.png", "image/jpeg", "scan.jpg"),
        ("", "image/webp", "photo.webp"),
        ("a<b>|c.JPG", "image/jpeg", "a b c.jpg"),
    ],
)
def test_photo_filename_is_safe_and_ends_in_what_is_stored(
    given: str, content_type: str, kept: str
) -> None:
    assert photo_filename(given, content_type) == kept


def test_thumbnail_filename_says_what_it_is() -> None:
    assert photo_filename("IMG_0001.png", "image/jpeg", label=" thumbnail") == (
        "IMG_0001 thumbnail.jpg"
    )
