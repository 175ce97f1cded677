"""/api/orders/{id}/signature: the client signs the work report on the tablet; the signature is
stored with the order, drawn into the work report PDF with name and time, frozen with the sent
email, and said in its archive entry. Refusals are clear and leave nothing behind."""

from __future__ import annotations

import io
import re
import zlib
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from litestar import Litestar
from PIL import Image, ImageDraw
from pypdf import PdfReader

from organisatrice.compose.drafts import emailable_order
from organisatrice.compose.signatures import MAX_SIGNATURE_BYTES, mark_sent, report_signature
from organisatrice.compose.tables import ReportSignature
from organisatrice.core.errors import Conflict
from organisatrice.roles.auth import actor_of_employee
from tests.client import ApiClient
from tests.factories import make_image, make_pdf, make_work_item
from tests.integration.compose.conftest import Office, make_staff, new_draft

SIGNER = "Anna Meier-Brunner"


def drawing(size: tuple[int, int] = (600, 200), *, ink: bool = True) -> bytes:
    """A canvas export: transparent, with a stroke when `ink`."""
    image = Image.new("RGBA", size, (0, 0, 0, 0))
    if ink:
        ImageDraw.Draw(image).line([(40, 150), (200, 40), (380, 160), (560, 50)], "#111", 6)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def signature_url(office: Office) -> str:
    return f"/api/orders/{office.order.id}/signature"


async def sign(
    client: ApiClient, office: Office, data: bytes, name: str = SIGNER, filename: str = "s.png"
) -> httpx.Response:
    return await client.post(
        signature_url(office),
        files={"file": (filename, data, "image/png")},
        data={"signer_name": name},
    )


async def signatures_of(office: Office) -> list[dict[str, Any]]:
    return [
        dict(r)
        for r in await ReportSignature.select()
        .where(ReportSignature.order == office.order.id)
        .order_by(ReportSignature.id)
    ]


def pdf_text(data: bytes) -> str:
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def pdf_images(data: bytes) -> list[Image.Image]:
    return [image.image for page in PdfReader(io.BytesIO(data)).pages for image in page.images]


async def send_work_report(client: ApiClient, office: Office) -> dict[str, Any]:
    draft = await new_draft(client, office)
    answer = await client.post(f"{office.draft_url(draft['id'])}/send")
    assert answer.status_code == 201, answer.text
    sent: dict[str, Any] = answer.json()
    return sent


async def test_signature_is_stored_with_name_server_time_and_who_captured_it(
    dispatcher: ApiClient, office: Office
) -> None:
    before = datetime.now(UTC)
    answer = await sign(dispatcher, office, drawing())
    assert answer.status_code == 201, answer.text
    signed = answer.json()
    assert signed["signer_name"] == SIGNER
    assert signed["captured_by"] == "Lea Keller"
    assert signed["sent"] is False
    at = datetime.fromisoformat(signed["signed_at"])
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC)
    assert (await dispatcher.get(signature_url(office))).json() == signed
    image = await dispatcher.get(signed["image_url"])
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    stored = Image.open(io.BytesIO(image.content))
    # Cut to the ink: the empty canvas around the stroke is gone.
    assert stored.format == "PNG" and stored.width < 600 and stored.height < 200


async def test_unsigned_order_has_no_signature(dispatcher: ApiClient, office: Office) -> None:
    answer = await dispatcher.get(signature_url(office))
    assert answer.status_code == 200 and answer.json() is None


async def test_a_new_signature_replaces_one_not_yet_sent(
    dispatcher: ApiClient, office: Office
) -> None:
    await sign(dispatcher, office, drawing(), name="First Signer")
    second = (await sign(dispatcher, office, drawing(), name="Second Signer")).json()
    rows = await signatures_of(office)
    assert [(r["id"], r["signer_name"]) for r in rows] == [(second["id"], "Second Signer")]


@pytest.mark.parametrize(
    ("data", "name", "status", "code"),
    [
        (make_image("JPEG"), SIGNER, 415, "signature_not_png"),
        (make_pdf(), SIGNER, 415, "signature_not_png"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 100, SIGNER, 415, "signature_not_png"),
        (b"", SIGNER, 422, "signature_empty"),
        (b"\0" * (MAX_SIGNATURE_BYTES + 1), SIGNER, 413, "signature_too_large"),
        (drawing(ink=False), SIGNER, 422, "signature_blank"),
        (drawing(), "   ", 422, "signer_missing"),
        (drawing(), "Anna\nMeier", 422, "signer_invalid"),
        (drawing(), "x" * 201, 422, "signer_invalid"),
    ],
    ids=[
        "jpeg",
        "pdf",
        "broken-png",
        "empty-file",
        "too-large",
        "blank",
        "no-name",
        "two-lines",
        "long-name",
    ],
)
async def test_bad_signature_is_refused_with_a_code_and_nothing_written(
    dispatcher: ApiClient, office: Office, data: bytes, name: str, status: int, code: str
) -> None:
    answer = await sign(dispatcher, office, data, name=name)
    assert answer.status_code == status, answer.text
    assert answer.json()["code"] == code
    assert await signatures_of(office) == []


def bomb() -> bytes:
    """A PNG whose header announces 20,000 × 20,000 pixels in a few hundred bytes."""
    width = height = 20_000

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (
            len(body).to_bytes(4, "big") + kind + body + zlib.crc32(kind + body).to_bytes(4, "big")
        )

    header = width.to_bytes(4, "big") + height.to_bytes(4, "big") + bytes([8, 0, 0, 0, 0])
    rows = zlib.compress(b"\0" * (width + 1) * 8, 9)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    )


async def test_decompression_bomb_is_refused(dispatcher: ApiClient, office: Office) -> None:
    answer = await sign(dispatcher, office, bomb())
    assert answer.status_code == 413, answer.text
    assert answer.json()["code"] == "signature_too_large"
    assert await signatures_of(office) == []


async def test_other_companys_order_is_not_found(app: Litestar, office: Office) -> None:
    other = await make_staff(first_name="Otto", last_name="Fremd")
    async with ApiClient.signed_in(app, other.dispatcher.email) as stranger:
        answers = [
            await sign(stranger, office, drawing()),
            await stranger.get(signature_url(office)),
        ]
    assert [a.status_code for a in answers] == [404, 404]
    assert await signatures_of(office) == []


async def test_who_may_not_send_the_work_report_may_not_capture_a_signature(
    app: Litestar, office: Office
) -> None:
    # The technician did the work, so he sees the order, but is not responsible for it.
    async with ApiClient.signed_in(app, office.technician.email) as technician:
        answer = await sign(technician, office, drawing())
    assert answer.status_code == 403, answer.text
    assert await signatures_of(office) == []


async def test_sent_work_report_shows_the_signature_and_the_archive_says_signed(
    dispatcher: ApiClient, office: Office
) -> None:
    signed = (await sign(dispatcher, office, drawing())).json()
    sent = await send_work_report(dispatcher, office)
    entry = (await dispatcher.get(f"/api/archive/{sent['id']}")).json()
    assert entry["signature"] is not None
    assert entry["signature"]["signer_name"] == SIGNER
    assert entry["signature"]["signed_at"] == signed["signed_at"]
    report = await dispatcher.get(entry["attachments"][0]["download_url"])
    text = pdf_text(report.content)
    at = datetime.fromisoformat(signed["signed_at"])
    assert "Unterschrift Kunde" in text
    assert (
        f"Unterschrieben von {SIGNER} am {at.day:02d}.{at.month:02d}.{at.year} "
        f"um {at.hour:02d}:{at.minute:02d}"
    ) in re.sub(r"\s+", " ", text)
    drawn = (await dispatcher.get(signed["image_url"])).content
    stored = Image.open(io.BytesIO(drawn))
    assert any(image.size == stored.size for image in pdf_images(report.content))
    assert (await dispatcher.get(signature_url(office))).json()["sent"] is True


async def test_unsigned_work_report_says_nothing_of_a_signature(
    dispatcher: ApiClient, office: Office
) -> None:
    sent = await send_work_report(dispatcher, office)
    entry = (await dispatcher.get(f"/api/archive/{sent['id']}")).json()
    assert entry["signature"] is None
    report = await dispatcher.get(entry["attachments"][0]["download_url"])
    assert "Unterschrift" not in pdf_text(report.content)


async def test_a_sent_signature_stays_frozen_and_signing_again_adds_a_new_one(
    dispatcher: ApiClient, office: Office
) -> None:
    first = (await sign(dispatcher, office, drawing(), name="First Signer")).json()
    sent = await send_work_report(dispatcher, office)
    second = (await sign(dispatcher, office, drawing(), name="Second Signer")).json()
    rows = await signatures_of(office)
    assert [r["signer_name"] for r in rows] == ["First Signer", "Second Signer"]
    assert rows[0]["sent_at"] is not None and rows[1]["sent_at"] is None
    assert second["id"] != first["id"] and second["sent"] is False
    # The first email still says who signed it, whatever was signed later.
    entry = (await dispatcher.get(f"/api/archive/{sent['id']}")).json()
    assert entry["signature"]["signer_name"] == "First Signer"
    later = await send_work_report(dispatcher, office)
    entry = (await dispatcher.get(f"/api/archive/{later['id']}")).json()
    assert entry["signature"]["signer_name"] == "Second Signer"


async def test_proof_does_not_freeze_the_signature(dispatcher: ApiClient, office: Office) -> None:
    await sign(dispatcher, office, drawing(), name="First Signer")
    draft = await new_draft(dispatcher, office)
    answer = await dispatcher.post(f"{office.draft_url(draft['id'])}/proof")
    assert answer.status_code == 201, answer.text
    await sign(dispatcher, office, drawing(), name="Second Signer")
    assert [r["signer_name"] for r in await signatures_of(office)] == ["Second Signer"]


async def test_a_signature_replaced_while_the_report_was_drawn_stops_the_send(
    dispatcher: ApiClient, office: Office
) -> None:
    await sign(dispatcher, office, drawing(), name="First Signer")
    actor = await actor_of_employee(office.dispatcher.id)
    assert actor is not None
    order = await emailable_order(actor, office.order.id)
    drawn = await report_signature(order, actor.time_zone)
    assert drawn is not None
    await sign(dispatcher, office, drawing((500, 200)), name="Second Signer")
    with pytest.raises(Conflict) as refused:
        await mark_sent(drawn)
    assert refused.value.code == "signature_changed"


async def test_work_changed_after_signing_sends_the_report_unsigned(
    dispatcher: ApiClient, office: Office
) -> None:
    signed = (await sign(dispatcher, office, drawing())).json()
    assert signed["current"] is True
    await make_work_item(
        office.company_id, office.order.id, office.technician.id, hours=1, description="Nachtrag"
    )
    assert (await dispatcher.get(signature_url(office))).json()["current"] is False
    sent = await send_work_report(dispatcher, office)
    entry = (await dispatcher.get(f"/api/archive/{sent['id']}")).json()
    assert entry["signature"] is None
    report = await dispatcher.get(entry["attachments"][0]["download_url"])
    assert SIGNER not in pdf_text(report.content)
    # Signing again covers the work as it now is.
    assert (await sign(dispatcher, office, drawing())).json()["current"] is True
