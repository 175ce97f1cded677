"""POST /api/orders/{id}/photos: photos are stored upright, without metadata, with a thumbnail;
anything else is refused with a reason, and a refusal leaves neither row nor file behind."""

from __future__ import annotations

import functools
import io
import os
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from litestar import Litestar
from PIL import ExifTags, Image

from organisatrice.orders.tables import Photo
from tests.client import ApiClient
from tests.factories import (
    MadeOrder,
    make_company,
    make_employee,
    make_image,
    make_order,
    stored_blobs,
)

RED = (220, 20, 20)
BLUE = (20, 40, 220)


def sideways_photo() -> bytes:
    """What a phone held upright writes: 400×200 pixels, EXIF orientation 6 (turn 90° clockwise
    to view), the left half red, the time it was taken, and where (GPS)."""
    image = Image.new("RGB", (400, 200), BLUE)
    image.paste(RED, (0, 0, 200, 200))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCam"
    exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.DateTimeOriginal] = "2026:11:03 09:15:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (47.0, 22.0, 12.5)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (8.0, 32.0, 30.0)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=95, exif=exif)
    return out.getvalue()


def _close(pixel: tuple[int, ...], colour: tuple[int, int, int]) -> bool:
    return all(abs(a - b) < 40 for a, b in zip(pixel, colour, strict=False))


class Setting:
    def __init__(self, client: ApiClient, order: MadeOrder) -> None:
        self.client = client
        self.order = order
        self.url = f"/api/orders/{order.id}/photos"

    async def upload(
        self, data: bytes, filename: str = "photo.jpg", caption: str | None = None
    ) -> httpx.Response:
        form = {"caption": caption} if caption is not None else None
        return await self.client.post(
            self.url, files={"file": (filename, data, "image/jpeg")}, data=form
        )

    async def photo_count(self) -> int:
        return int(await Photo.count().where(Photo.order == self.order.id))


@pytest.fixture
async def site(app: Litestar) -> AsyncIterator[Setting]:
    company = await make_company()
    order = await make_order(company)
    technician = await make_employee(company, first_name="Luca", last_name="Rossi")
    async with ApiClient.signed_in(app, technician.email) as client:
        yield Setting(client, order)


async def test_photo_taken_sideways_is_stored_upright(site: Setting) -> None:
    answer = await site.upload(sideways_photo(), caption="Heizraum vorher")
    assert answer.status_code == 201, answer.text
    photo = answer.json()
    assert (photo["width"], photo["height"]) == (200, 400)
    assert photo["content_type"] == "image/jpeg"
    assert photo["caption"] == "Heizraum vorher"
    assert photo["taken_by"]["name"] == "Luca Rossi"

    image = await site.client.get(photo["image_url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/jpeg"
    assert image.headers["content-disposition"].startswith("inline")
    stored = Image.open(io.BytesIO(image.content))
    assert stored.size == (200, 400)
    # The red left half of the sensor is now the top of the picture.
    assert _close(stored.getpixel((100, 60)), RED)
    assert _close(stored.getpixel((100, 340)), BLUE)


async def test_photo_time_comes_from_exif_in_the_uploaders_time_zone(site: Setting) -> None:
    photo = (await site.upload(sideways_photo())).json()
    # 09:15 on the camera; the employee's default time zone is Europe/Zurich (UTC+1 in November).
    taken_at = datetime.fromisoformat(photo["taken_at"].replace("Z", "+00:00"))
    assert taken_at == datetime(2026, 11, 3, 9, 15, tzinfo=timezone(timedelta(hours=1)))


async def test_stored_photo_keeps_no_exif_and_no_location(site: Setting) -> None:
    photo = (await site.upload(sideways_photo())).json()
    for url in (photo["image_url"], photo["thumbnail_url"]):
        data = (await site.client.get(url)).content
        assert Image.open(io.BytesIO(data)).getexif() == {}
        assert b"Exif" not in data
        assert b"PhoneCam" not in data


async def test_photo_has_a_small_jpeg_thumbnail(site: Setting) -> None:
    photo = (await site.upload(sideways_photo())).json()
    answer = await site.client.get(photo["thumbnail_url"])
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "image/jpeg"
    thumbnail = Image.open(io.BytesIO(answer.content))
    assert thumbnail.format == "JPEG"
    assert max(thumbnail.size) <= 320
    assert thumbnail.width < thumbnail.height  # upright too
    assert _close(thumbnail.getpixel((thumbnail.width // 2, 10)), RED)


async def test_photo_appears_in_the_order_detail(site: Setting) -> None:
    photo = (await site.upload(sideways_photo(), caption="  Zähler  ")).json()
    detail = (await site.client.get(f"/api/orders/{site.order.id}")).json()
    assert [(p["id"], p["caption"]) for p in detail["photos"]] == [(photo["id"], "Zähler")]


async def test_photo_name_is_made_safe_and_matches_what_is_stored(site: Setting) -> None:
    answer = await site.upload(make_image("PNG"), filename="C:\\fakepath\\..\\IMG_0001.HEIC")
    photo = answer.json()
    assert photo["content_type"] == "image/png"
    assert photo["original_filename"] == "IMG_0001.png"
    image = await site.client.get(photo["image_url"])
    assert "IMG_0001.png" in image.headers["content-disposition"]
    thumbnail = await site.client.get(photo["thumbnail_url"])
    assert thumbnail.headers["content-disposition"].endswith("IMG_0001%20thumbnail.jpg")


@pytest.mark.parametrize(("fmt", "content_type"), [("PNG", "image/png"), ("WEBP", "image/webp")])
async def test_png_and_webp_photos_are_accepted_as_they_are(
    site: Setting, fmt: str, content_type: str
) -> None:
    answer = await site.upload(make_image(fmt, size=(120, 90)), filename=f"plan.{fmt.lower()}")
    assert answer.status_code == 201, answer.text
    photo = answer.json()
    assert (photo["content_type"], photo["width"], photo["height"]) == (content_type, 120, 90)
    image = await site.client.get(photo["image_url"])
    assert image.headers["content-type"] == content_type
    assert Image.open(io.BytesIO(image.content)).format == fmt


@functools.cache
def _bomb() -> bytes:
    """20000×20000 black pixels (400 megapixels): some 50 kB that would take 1.2 GB as RGB."""
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")
    return out.getvalue()


def _truncated_jpeg() -> bytes:
    whole = make_image("JPEG", size=(300, 200), quality=95)
    return whole[: len(whole) // 2]


@pytest.mark.parametrize(
    ("name", "make", "status", "says"),
    [
        ("bomb.png", _bomb, 413, "megapixels"),
        ("photo.jpg", lambda: b"Dear client, this is not a photo.\n" * 20, 415, "not a readable"),
        ("photo.jpg", lambda: b"", 422, "empty"),
        ("big.jpg", lambda: make_image("JPEG") + os.urandom(3 * 1024 * 1024), 413, "at most 3 MB"),
        ("cut.jpg", _truncated_jpeg, 415, "not a readable"),
        ("anim.gif", lambda: make_image("GIF"), 415, "GIF"),
    ],
    ids=["decompression-bomb", "text-named-jpg", "empty", "oversized", "truncated", "gif"],
)
async def test_unacceptable_photo_is_refused_and_nothing_is_stored(
    site: Setting, name: str, make: object, status: int, says: str
) -> None:
    data = make()  # type: ignore[operator]
    blobs_before = await stored_blobs()
    answer = await site.upload(data, filename=name)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert says in problem["detail"]
    assert problem["field"] == "file"
    assert await site.photo_count() == 0
    assert await stored_blobs() == blobs_before


async def test_caption_longer_than_500_characters_is_refused(site: Setting) -> None:
    blobs_before = await stored_blobs()
    answer = await site.upload(make_image("JPEG", colour=(1, 2, 3)), caption="x" * 501)
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["field"] == "caption"
    assert "500" in answer.json()["detail"]
    assert await site.photo_count() == 0
    assert await stored_blobs() == blobs_before
    assert (await site.upload(make_image("JPEG"), caption="x" * 500)).status_code == 201


async def test_upload_without_a_file_is_a_400(site: Setting) -> None:
    answer = await site.client.post(site.url, data={"caption": "no file"}, files={})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert await site.photo_count() == 0


async def test_same_photo_twice_is_two_photos_sharing_one_file(site: Setting) -> None:
    data = make_image("JPEG", colour=(9, 99, 199))
    first = (await site.upload(data)).json()
    blobs_after_first = await stored_blobs()
    second = (await site.upload(data)).json()
    assert first["id"] != second["id"]
    assert await stored_blobs() == blobs_after_first
    assert await site.photo_count() == 2


async def test_an_upload_sent_again_with_its_key_is_the_photo_already_added(
    site: Setting,
) -> None:
    # The tablet lost the answer with the connection and sends the same upload again.
    data = make_image("JPEG", colour=(19, 129, 19))
    form = {"caption": "Zähler", "upload_key": "5f1c9a3e-upload-1"}
    files = {"file": ("photo.jpg", data, "image/jpeg")}
    first = await site.client.post(site.url, files=files, data=form)
    again = await site.client.post(site.url, files=files, data=form)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert await site.photo_count() == 1
    # Another file, or the same picture chosen again (another key), is another photo.
    other = await site.client.post(site.url, files=files, data={"upload_key": "5f1c9a3e-upload-2"})
    assert other.json()["id"] != first.json()["id"]
    assert await site.photo_count() == 2


async def test_photo_whose_row_cannot_be_written_leaves_no_file(
    site: Setting, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_save(self: Photo, *args: object, **kwargs: object) -> None:
        raise RuntimeError("the database went away")

    monkeypatch.setattr(Photo, "save", broken_save)
    blobs_before = await stored_blobs()
    answer = await site.upload(make_image("JPEG", colour=(123, 45, 67)))
    assert answer.status_code == 500
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert await site.photo_count() == 0
    assert await stored_blobs() == blobs_before
