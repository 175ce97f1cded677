"""The client's signature: the canvas's PNG cut to its ink, with nothing of the upload but
pixels, and drawn into the work report with name and time in the report's language."""

from __future__ import annotations

import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageDraw, PngImagePlugin
from pypdf import PdfReader

from organisatrice.compose.signatures import checked_signature, checked_signer
from organisatrice.compose.work_report import SignatureMark, render_work_report
from organisatrice.core.errors import Invalid
from tests.unit.compose.contexts import order_context


def canvas(background: tuple[int, int, int, int], **save: object) -> bytes:
    image = Image.new("RGBA", (800, 300), background)
    ImageDraw.Draw(image).line([(300, 100), (500, 200)], "#102030", 4)
    out = io.BytesIO()
    image.save(out, "PNG", **save)
    return out.getvalue()


@pytest.mark.parametrize("background", [(0, 0, 0, 0), (255, 255, 255, 255)], ids=["clear", "white"])
def test_drawing_is_cut_to_its_ink_on_a_clear_or_a_white_canvas(
    background: tuple[int, int, int, int],
) -> None:
    stored = Image.open(io.BytesIO(checked_signature(canvas(background))))
    assert stored.format == "PNG"
    # The stroke spans 200 × 100 pixels; a margin of a few pixels stays around it.
    assert 200 <= stored.width <= 220 and 100 <= stored.height <= 120


def test_text_chunks_of_the_upload_stay_behind() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "GPS 47.37 8.54")
    stored = Image.open(io.BytesIO(checked_signature(canvas((0, 0, 0, 0), pnginfo=info))))
    assert "Comment" not in stored.info


def test_a_field_without_ink_is_refused() -> None:
    empty = io.BytesIO()
    Image.new("RGBA", (400, 200), (255, 255, 255, 0)).save(empty, "PNG")
    with pytest.raises(Invalid) as refused:
        checked_signature(empty.getvalue())
    assert refused.value.code == "signature_blank"


def test_the_signers_name_is_trimmed() -> None:
    assert checked_signer("  Vreni Huber ") == "Vreni Huber"


def test_work_report_shows_the_signature_with_name_and_time_in_its_language() -> None:
    drawing = checked_signature(canvas((0, 0, 0, 0)))
    mark = SignatureMark(
        image=drawing,
        signer_name="Hélène Dupré",
        signed_at=datetime(2026, 12, 6, 14, 5, tzinfo=ZoneInfo("Europe/Zurich")),
    )
    pdf = render_work_report(order_context("fr"), logo=None, signature=mark)
    pages = PdfReader(io.BytesIO(pdf)).pages
    text = " ".join(" ".join(page.extract_text() for page in pages).split())
    assert "Signature du client" in text
    assert "Signé par Hélène Dupré le 06.12.2026 à 14:05" in text
    size = Image.open(io.BytesIO(drawing)).size
    assert size in [image.image.size for page in pages for image in page.images]
