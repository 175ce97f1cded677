"""Photo documentation by email: a photo set larger than the company's size budget is made to
fit, one that cannot fit is refused with what to do, and no photo leaves with its location."""

from __future__ import annotations

import email
import email.policy
import io
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage

import pytest
from litestar import Litestar
from PIL import ExifTags, Image
from pypdf import PdfReader

from organisatrice.compose.assemble import assemble
from organisatrice.compose.schemas import AttachmentSource, TemplateKind
from organisatrice.core.blobs import blob_store
from organisatrice.orders.tables import Photo
from organisatrice.roles.auth import actor_of_employee
from tests.client import ApiClient
from tests.factories import noisy_photo, photo_with_gps, save_template, set_company
from tests.integration.compose.conftest import (
    COMPANY,
    STREET,
    Office,
    Staff,
    make_office,
    make_staff,
    new_draft,
    upload_photo,
    work_report_template,
)

BUDGET = 600_000


@pytest.fixture(scope="module")
async def staff() -> Staff:
    made = await make_staff()
    await set_company(made.company_id, mail_size_budget=BUDGET)
    return made


@pytest.fixture(scope="module")
def large_photos() -> list[bytes]:
    """Three 1400×1050 photos of about 500 KB each: together more than twice the budget."""
    return [noisy_photo(1400, 1050, seed) for seed in range(3)]


async def photo_template(company_id: int, *, as_pdf: bool) -> int:
    return await save_template(
        company_id,
        work_report_template(
            "de",
            kind=TemplateKind.PHOTO_DOCUMENTATION,
            subject="Fotodokumentation {{ order.number }}",
            attachments=[AttachmentSource.PHOTOS],
            photos_as_pdf=as_pdf,
        ),
    )


async def photo_draft(
    client: ApiClient, office: Office, photos: list[bytes], *, as_pdf: bool
) -> int:
    uploaded = [
        await upload_photo(client, office.order.id, data, caption=f"Heizraum {n}")
        for n, data in enumerate(photos, start=1)
    ]
    assert sum(p["size"] for p in uploaded) > 2 * BUDGET
    template_id = await photo_template(office.company_id, as_pdf=as_pdf)
    draft = await new_draft(client, office, template_id=template_id)
    return int(draft["id"])


async def sent_message(office: Office, draft_id: int) -> EmailMessage:
    actor = await actor_of_employee(office.dispatcher.id)
    assert actor is not None
    built = await assemble(actor, office.order.id, draft_id)
    message = email.message_from_bytes(built.built.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def opened(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


async def test_photos_larger_than_the_budget_are_resized_to_fit(
    dispatcher: ApiClient, office: Office, large_photos: list[bytes]
) -> None:
    draft_id = await photo_draft(dispatcher, office, large_photos, as_pdf=False)
    answer = await dispatcher.post(f"{office.draft_url(draft_id)}/preview")
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["size"] <= preview["budget"] == BUDGET
    attachments = preview["attachments"]
    assert [(a["filename"], a["content_type"]) for a in attachments] == [
        (f"Heizraum {n}.jpg", "image/jpeg") for n in range(1, 4)
    ]
    uploaded = await Photo.select(Photo.size).where(Photo.order == office.order.id)
    assert sum(a["size"] for a in attachments) < sum(p["size"] for p in uploaded) / 2


async def test_photos_as_one_pdf_fit_the_budget_too(
    dispatcher: ApiClient, office: Office, large_photos: list[bytes]
) -> None:
    draft_id = await photo_draft(dispatcher, office, large_photos, as_pdf=True)
    message = await sent_message(office, draft_id)
    assert len(message.as_bytes()) <= BUDGET
    [pdf] = list(message.iter_attachments())
    assert pdf.get_filename() == f"Fotodokumentation {office.order.number}.pdf"
    reader = PdfReader(io.BytesIO(pdf.get_content()))
    assert len(reader.pages) == 3
    text = " ".join(page.extract_text() for page in reader.pages)
    assert "Heizraum 1" in text and "Heizraum 3" in text


async def test_photo_pdf_says_on_every_page_whose_photos_they_are(
    dispatcher: ApiClient, office: Office
) -> None:
    for n in (1, 2):
        await upload_photo(dispatcher, office.order.id, noisy_photo(400, 300, n), f"Kessel {n}")
    template_id = await photo_template(office.company_id, as_pdf=True)
    draft = await new_draft(dispatcher, office, template_id=template_id)

    [part] = list((await sent_message(office, draft["id"])).iter_attachments())

    reader = PdfReader(io.BytesIO(part.get_content()))
    number = office.order.number
    # The date of the day the email was made, in the dispatcher's time zone: near midnight
    # that may be UTC's yesterday or tomorrow.
    today = datetime.now(UTC).date()
    days = {(today + timedelta(days=d)).strftime("%d.%m.%Y") for d in (-1, 0, 1)}
    assert len(reader.pages) == 2
    for page_number, page in enumerate(reader.pages, start=1):
        text = " ".join(page.extract_text().split())
        assert COMPANY in text
        assert f"Fotodokumentation Auftrag {number}" in text
        assert f"{STREET}, 8001 Zürich" in text
        assert any(day in text for day in days)
        assert f"Seite {page_number} von 2" in text
        assert f"Kessel {page_number}" in text
    assert reader.metadata is not None
    assert reader.metadata.title == f"Fotodokumentation Auftrag {number}"
    assert reader.metadata["/Keywords"] == number
    assert reader.xmp_metadata is not None
    assert 'pdfaid:part="2"' in reader.xmp_metadata.rdf_root.toxml()


async def test_photos_that_cannot_fit_are_refused_with_what_to_do(
    app: Litestar, large_photos: list[bytes]
) -> None:
    office = await make_office(await make_staff())
    # Not even three photos at the smallest size and quality fit next to the text.
    await set_company(office.company_id, mail_size_budget=150_000)
    async with ApiClient.signed_in(app, office.dispatcher.email) as client:
        draft_id = await photo_draft(client, office, large_photos, as_pdf=False)
        answer = await client.post(f"{office.draft_url(draft_id)}/preview")
    assert answer.status_code == 413, answer.text
    detail = answer.json()["detail"]
    assert "3 photos" in detail
    assert "Choose fewer photos." in detail


def assert_no_location(data: bytes) -> None:
    image = opened(data)
    exif = image.getexif()
    assert ExifTags.IFD.GPSInfo not in exif
    assert exif.get_ifd(ExifTags.IFD.GPSInfo) == {}
    assert b"PhoneCam" not in data


async def test_uploaded_photo_is_sent_upright_without_location(
    dispatcher: ApiClient, office: Office
) -> None:
    await upload_photo(dispatcher, office.order.id, photo_with_gps(), caption="Zähler")
    template_id = await photo_template(office.company_id, as_pdf=False)
    draft = await new_draft(dispatcher, office, template_id=template_id)
    [part] = list((await sent_message(office, draft["id"])).iter_attachments())
    assert part.get_filename() == "Zähler.jpg"
    data = part.get_content()
    assert_no_location(data)
    # Taken sideways (EXIF orientation 6): the red half is now on top.
    image = opened(data)
    assert image.size == (200, 400)
    red, _, blue = image.convert("RGB").getpixel((100, 60))  # type: ignore[misc]
    assert red > 150 and blue < 100


async def test_photo_stored_with_its_location_still_goes_out_without_it(
    dispatcher: ApiClient, office: Office
) -> None:
    """A photo stored before intake stripped metadata (or by another path) keeps its GPS in
    the store; the email must not."""
    data = photo_with_gps(orientation=1)
    assert b"GPS" in data or Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    ref, _ = await blob_store().put(data)
    photo = Photo(
        company=office.company_id,
        order=office.order.id,
        image_sha256=ref.sha256,
        thumbnail_sha256=ref.sha256,
        content_type="image/jpeg",
        width=400,
        height=200,
        size=len(data),
        original_filename="IMG_0001.jpg",
    )
    await photo.save()
    template_id = await photo_template(office.company_id, as_pdf=False)
    draft = await new_draft(dispatcher, office, template_id=template_id)
    [part] = list((await sent_message(office, draft["id"])).iter_attachments())
    assert part.get_filename() == "IMG_0001.jpg"
    assert_no_location(part.get_content())
