"""The company logo through HTTP: PNG and JPEG taken (by content), stored clean and shown;
anything else refused without a change; removed; recorded; one company's logo out of another's
reach; and the logo then in the letterhead of the emails and their work reports."""

from __future__ import annotations

import email
import email.policy
import io
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from litestar import Litestar
from PIL import ExifTags, Image
from pypdf import PdfReader

from organisatrice.compose.assemble import assemble
from organisatrice.roles.auth import actor_of_employee
from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Company
from tests.client import ApiClient
from tests.factories import make_company, make_employee, make_image, stored_blobs
from tests.integration.compose.conftest import make_office, make_staff

LOGO = "/api/company/logo"


@dataclass
class Desk:
    company_id: int
    client: ApiClient

    async def upload(self, data: bytes, filename: str, content_type: str) -> httpx.Response:
        return await self.client.post(LOGO, files={"file": (filename, data, content_type)})

    async def logo_sha256(self) -> str | None:
        row = await Company.select(Company.logo_sha256).where(Company.id == self.company_id).first()
        assert row is not None
        value: str | None = row["logo_sha256"]
        return value

    async def logo_changes(self) -> list[dict[str, Any]]:
        answer = await self.client.get("/api/permission-changes")
        return [c for c in answer.json()["items"] if c["field"] == "logo"]


@pytest.fixture
async def desk(app: Litestar) -> AsyncIterator[Desk]:
    company = await make_company("Meier Haustechnik AG")
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as client:
        yield Desk(company, client)


def logo_with_metadata() -> bytes:
    """A PNG with a text chunk and a palette with transparency, as drawing programs write."""
    from PIL import PngImagePlugin

    image = Image.new("P", (300, 100), 0)
    image.putpalette([255, 255, 255, 200, 30, 30] + [0, 0, 0] * 254)
    image.paste(1, (100, 20, 200, 80))
    info = PngImagePlugin.PngInfo()
    info.add_text("Author", "Grafikbüro Secret")
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, transparency=0)
    return out.getvalue()


async def test_a_png_logo_is_stored_clean_shown_and_recorded(desk: Desk) -> None:
    answer = await desk.upload(logo_with_metadata(), "logo.png", "image/png")
    assert answer.status_code == 200, answer.text
    logo_url = answer.json()["logo_url"]
    assert logo_url.startswith(f"{LOGO}?v=")
    assert (await desk.client.get("/api/company")).json()["logo_url"] == logo_url

    shown = await desk.client.get(logo_url)
    assert shown.status_code == 200
    assert shown.headers["content-type"] == "image/png"
    assert shown.headers["x-content-type-options"] == "nosniff"
    with Image.open(io.BytesIO(shown.content)) as image:
        assert image.size == (300, 100)
        assert image.mode == "RGBA"
        # Transparent stays transparent, and the drawing program's text chunk stays behind.
        assert image.getpixel((0, 0)) == (255, 255, 255, 0)
        assert image.getpixel((150, 50)) == (200, 30, 30, 255)
        assert "Author" not in image.info
    [change] = await desk.logo_changes()
    assert (change["before"], change["after"]) == (None, await desk.logo_sha256())


async def test_a_jpeg_logo_is_taken_upright_without_its_exif_and_scaled_down(
    desk: Desk,
) -> None:
    image = Image.new("RGB", (2400, 1200), (20, 40, 220))
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "PhoneCam"
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, exif=exif)
    answer = await desk.upload(out.getvalue(), "Logo Firma.JPG", "image/jpeg")
    assert answer.status_code == 200, answer.text
    shown = await desk.client.get(LOGO)
    assert shown.headers["content-type"] == "image/jpeg"
    with Image.open(io.BytesIO(shown.content)) as stored:
        # Turned upright (taller than wide), at most 1000 px, no EXIF left.
        assert stored.size == (500, 1000)
        assert not stored.getexif()


@pytest.mark.parametrize(
    ("data", "filename", "status", "says"),
    [
        (b"not an image at all, just text\n", "logo.png", 415, "not a readable image"),
        (make_image("WEBP"), "logo.png", 415, "PNG or JPEG"),
        (make_image("GIF"), "logo.gif", 415, "PNG or JPEG"),
        (b"", "logo.png", 422, "empty"),
    ],
    ids=["text-named-png", "webp", "gif", "empty"],
)
async def test_what_is_no_png_or_jpeg_is_refused_and_changes_nothing(
    desk: Desk, data: bytes, filename: str, status: int, says: str
) -> None:
    first = await desk.upload(make_image("PNG"), "logo.png", "image/png")
    assert first.status_code == 200
    before = await desk.logo_sha256()
    blobs_before = await stored_blobs()
    answer = await desk.upload(data, filename, "image/png")
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]
    assert answer.json()["field"] == "file"
    assert await desk.logo_sha256() == before
    assert await stored_blobs() == blobs_before
    assert len(await desk.logo_changes()) == 1


def incompressible_png(width: int, height: int) -> bytes:
    import random

    noise = Image.frombytes("RGB", (width, height), random.Random(7).randbytes(width * height * 3))
    out = io.BytesIO()
    noise.save(out, "PNG")
    return out.getvalue()


async def test_an_oversized_logo_is_refused(desk: Desk) -> None:
    data = incompressible_png(1000, 800)
    assert len(data) > 2_000_000
    answer = await desk.upload(data, "logo.png", "image/png")
    assert answer.status_code == 413, answer.text
    assert "at most 2 MB" in answer.json()["detail"]
    assert await desk.logo_sha256() is None


async def test_a_decompression_bomb_is_refused_before_it_is_decoded(desk: Desk) -> None:
    # 20000 × 20000 one-bit pixels: a few kilobytes on the wire, 400 megapixels once decoded.
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, "PNG")
    assert len(out.getvalue()) < 100_000
    answer = await desk.upload(out.getvalue(), "logo.png", "image/png")
    assert answer.status_code == 413, answer.text
    assert "megapixels" in answer.json()["detail"]
    assert await desk.logo_sha256() is None


async def test_removing_the_logo_is_recorded_and_it_is_gone(desk: Desk) -> None:
    assert (await desk.upload(make_image("PNG"), "logo.png", "image/png")).status_code == 200
    sha = await desk.logo_sha256()
    answer = await desk.client.delete(LOGO)
    assert answer.status_code == 200, answer.text
    assert answer.json()["logo_url"] is None
    assert await desk.logo_sha256() is None
    assert (await desk.client.get(LOGO)).status_code == 404
    changes = await desk.logo_changes()
    assert [(c["before"], c["after"]) for c in changes] == [(sha, None), (None, sha)]
    # Removing what is not there changes and records nothing.
    assert (await desk.client.delete(LOGO)).status_code == 200
    assert len(await desk.logo_changes()) == 2


async def test_a_company_sees_and_changes_only_its_own_logo(app: Litestar, desk: Desk) -> None:
    assert (await desk.upload(make_image("PNG"), "logo.png", "image/png")).status_code == 200
    own = await desk.logo_sha256()
    other = await make_company()
    stranger = await make_employee(other, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, stranger.email) as client:
        assert (await client.get(LOGO)).status_code == 404
        assert (await client.get("/api/company")).json()["logo_url"] is None
        blue = make_image("PNG", colour=(0, 0, 255))
        answer = await client.post(LOGO, files={"file": ("mine.png", blue, "image/png")})
        assert answer.status_code == 200
        assert (await client.delete(LOGO)).status_code == 200
    assert await desk.logo_sha256() == own


async def test_staff_without_back_office_may_not_touch_the_logo(app: Litestar, desk: Desk) -> None:
    dispatcher = await make_employee(desk.company_id, roles={Role.DISPATCHER, Role.COORDINATOR})
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        png = make_image("PNG")
        answer = await client.post(LOGO, files={"file": ("logo.png", png, "image/png")})
        assert answer.status_code == 403
        assert (await client.delete(LOGO)).status_code == 403
        assert (await client.get(LOGO)).status_code == 403
    assert await desk.logo_sha256() is None


async def test_the_logo_goes_into_the_email_and_its_work_report(app: Litestar) -> None:
    staff = await make_staff()
    office = await make_office(staff)
    admin = await make_employee(staff.company_id, roles={Role.BACKOFFICE})
    logo = make_image("PNG", size=(240, 80), colour=(194, 65, 12))
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.post(LOGO, files={"file": ("logo.png", logo, "image/png")})
        assert answer.status_code == 200, answer.text
        stored = (await client.get(LOGO)).content
    async with ApiClient.signed_in(app, staff.dispatcher.email) as client:
        draft = await client.post(
            office.drafts_url,
            json={"template_id": staff.templates["de"], "contact_id": office.contacts["anna"]},
        )
        assert draft.status_code == 201, draft.text
    actor = await actor_of_employee(staff.dispatcher.id)
    assert actor is not None
    built = await assemble(actor, office.order.id, draft.json()["id"])
    message = email.message_from_bytes(built.built.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    [logo] = [p for p in message.walk() if p.get("Content-ID")]
    assert logo.get_content() == stored
    cid = str(logo["Content-ID"]).strip("<>")
    assert cid.startswith("logo.") and cid.endswith("@meier.example")
    html = message.get_body(preferencelist=("html",))
    assert html is not None and f'src="cid:{cid}"' in str(html.get_content())
    [report] = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(PdfReader(io.BytesIO(report.get_content())).pages[0].images) == 1
