"""POST /api/orders/{id}/documents: offers and plans are kept under a safe name and come back
byte for byte; executables, text and empty files are refused, leaving nothing behind."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import httpx
import pytest
from litestar import Litestar
from PIL import Image

from organisatrice.orders.tables import Document
from tests.client import ApiClient
from tests.factories import (
    MadeOrder,
    make_company,
    make_employee,
    make_image,
    make_order,
    make_pdf,
    photo_with_gps,
    stored_blobs,
)


class Setting:
    def __init__(self, client: ApiClient, order: MadeOrder) -> None:
        self.client = client
        self.order = order
        self.url = f"/api/orders/{order.id}/documents"

    async def upload(
        self, data: bytes, filename: str = "offer.pdf", kind: str | None = None
    ) -> httpx.Response:
        form = {"kind": kind} if kind is not None else None
        return await self.client.post(
            self.url, files={"file": (filename, data, "application/octet-stream")}, data=form
        )

    async def document_count(self) -> int:
        return int(await Document.count().where(Document.order == self.order.id))


@pytest.fixture
async def site(app: Litestar) -> AsyncIterator[Setting]:
    company = await make_company()
    order = await make_order(company)
    coordinator = await make_employee(company, first_name="Tom", last_name="Frei")
    async with ApiClient.signed_in(app, coordinator.email) as client:
        yield Setting(client, order)


async def test_pdf_offer_is_kept_under_its_name_and_downloads_unchanged(site: Setting) -> None:
    pdf = make_pdf("Offerte 4711")
    answer = await site.upload(pdf, filename="C:\\Users\\tom\\Offerte 4711.pdf", kind="offer")
    assert answer.status_code == 201, answer.text
    document = answer.json()
    assert document["filename"] == "Offerte 4711.pdf"
    assert (document["content_type"], document["size"], document["kind"]) == (
        "application/pdf",
        len(pdf),
        "offer",
    )
    assert document["uploaded_by"]["name"] == "Tom Frei"

    download = await site.client.get(document["download_url"])
    assert download.status_code == 200
    assert download.content == pdf
    assert download.headers["content-type"] == "application/pdf"
    disposition = download.headers["content-disposition"]
    assert disposition.startswith("attachment;")
    assert "Offerte%204711.pdf" in disposition
    assert download.headers["x-content-type-options"] == "nosniff"

    detail = (await site.client.get(f"/api/orders/{site.order.id}")).json()
    assert [d["id"] for d in detail["documents"]] == [document["id"]]


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../etc/plan.pdf", "plan.pdf"),
        ("Plan EG.PDF", "Plan EG.pdf"),
        ("offer.exe", "offer.exe.pdf"),  # the content is a PDF, so the name ends in .pdf
        ('Plan: "Keller"?.pdf', "Plan Keller.pdf"),
        (".pdf", "file.pdf"),
    ],
)
async def test_document_name_is_made_safe_and_ends_in_what_it_is(
    site: Setting, given: str, kept: str
) -> None:
    answer = await site.upload(make_pdf(), filename=given)
    assert answer.status_code == 201, answer.text
    assert answer.json()["filename"] == kept
    assert answer.json()["kind"] == "other"


async def test_image_document_is_accepted_as_an_image(site: Setting) -> None:
    answer = await site.upload(make_image("PNG"), filename="Schema", kind="plan")
    assert answer.status_code == 201, answer.text
    assert (answer.json()["filename"], answer.json()["content_type"]) == ("Schema.png", "image/png")


@pytest.mark.parametrize(
    ("filename", "data", "kind", "status", "field", "says"),
    [
        ("setup.pdf", b"MZ\x90\x00\x03" + bytes(300), None, 415, "file", "not accepted"),
        ("tool.pdf", b"\x7fELF\x02\x01\x01" + bytes(300), None, 415, "file", "not accepted"),
        ("notes.pdf", b"Just some notes, not a PDF.\n" * 10, None, 415, "file", "Upload a PDF"),
        ("offer.pdf", b"", None, 422, "file", "empty"),
        ("offer.pdf", make_pdf(), "invoice", 422, "kind", "offer, plan, report, other"),
    ],
    ids=["windows-exe", "elf", "text", "empty", "unknown-kind"],
)
async def test_unacceptable_document_is_refused_and_nothing_is_stored(
    site: Setting,
    filename: str,
    data: bytes,
    kind: str | None,
    status: int,
    field: str,
    says: str,
) -> None:
    blobs_before = await stored_blobs()
    answer = await site.upload(data, filename=filename, kind=kind)
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert says in problem["detail"]
    assert problem["field"] == field
    assert await site.document_count() == 0
    assert await stored_blobs() == blobs_before


async def test_unknown_document_is_a_404(site: Setting) -> None:
    answer = await site.client.get(f"/api/orders/{site.order.id}/documents/999999999/file")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_a_photo_uploaded_as_document_is_kept_and_sent_without_its_location(
    site: Setting,
) -> None:
    original = photo_with_gps()
    answer = await site.upload(original, filename="Heizraum.jpg", kind="other")
    assert answer.status_code == 201, answer.text
    kept = (await site.client.get(answer.json()["download_url"])).content
    assert Image.open(io.BytesIO(original)).getexif().get_ifd(0x8825)
    assert not Image.open(io.BytesIO(kept)).getexif().get_ifd(0x8825)
    assert answer.json()["size"] == len(kept) < len(original)


async def test_a_pdf_that_does_not_open_is_refused_and_nothing_is_kept(site: Setting) -> None:
    answer = await site.upload(b"%PDF-1.4\n" + b"\x00" * 500, filename="Offerte.pdf", kind="offer")
    assert answer.status_code == 415
    assert "cannot be opened" in answer.json()["detail"]
    assert await site.document_count() == 0


async def test_a_document_sent_again_with_its_key_is_added_once(site: Setting) -> None:
    files = {"file": ("Offerte 4711.pdf", make_pdf("Offerte 4711"), "application/pdf")}
    form = {"kind": "offer", "upload_key": "a7d0-offer"}
    first = await site.client.post(site.url, files=files, data=form)
    again = await site.client.post(site.url, files=files, data=form)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json()["id"] == first.json()["id"]
    assert await site.document_count() == 1
