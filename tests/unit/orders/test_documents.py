"""inspect_document: a document is accepted by what its bytes are and whether it opens as that,
never by its name; pictures lose their location and other personal metadata, not a pixel."""

from __future__ import annotations

import io
import zipfile

import pytest
from PIL import Image, PngImagePlugin

from organisatrice.core.errors import Invalid, TooLarge, UnsupportedType
from organisatrice.orders.documents import CheckedDocument, inspect_document
from tests.factories import make_image, make_pdf, photo_with_gps

LIMIT = 1024 * 1024
PIXELS = 12_000_000


def check_document(data: bytes, name: str, *, max_bytes: int = LIMIT) -> CheckedDocument:
    return inspect_document(data, name, max_bytes, PIXELS)


def _zip(entries: list[tuple[str, str]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, text in entries:
            stored = zipfile.ZIP_STORED if name == "mimetype" else zipfile.ZIP_DEFLATED
            archive.writestr(name, text, compress_type=stored)
    return out.getvalue()


DOCX = _zip(
    [
        ("[Content_Types].xml", "<Types/>"),
        ("_rels/.rels", "<Relationships/>"),
        ("word/document.xml", "<w:document/>"),
    ]
)
ODS = _zip([("mimetype", "application/vnd.oasis.opendocument.spreadsheet"), ("content.xml", "")])


@pytest.mark.parametrize(
    ("data", "name", "content_type", "kept"),
    [
        (make_pdf(), "Offerte 4711.pdf", "application/pdf", "Offerte 4711.pdf"),
        (make_pdf(), "Offerte", "application/pdf", "Offerte.pdf"),
        (make_image("JPEG"), "Foto.JPG", "image/jpeg", "Foto.jpg"),
        (make_image("PNG"), "plan.jpg", "image/png", "plan.jpg.png"),
        (
            DOCX,
            "Bericht.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "Bericht.docx",
        ),
        (ODS, "Stunden", "application/vnd.oasis.opendocument.spreadsheet", "Stunden.ods"),
    ],
)
def test_document_type_comes_from_its_content_and_the_name_follows(
    data: bytes, name: str, content_type: str, kept: str
) -> None:
    checked = check_document(data, name, max_bytes=LIMIT)
    assert (checked.content_type, checked.filename) == (content_type, kept)


def test_document_name_loses_its_path() -> None:
    checked = check_document(make_pdf(), "..\\..\\Windows\\system32\\plan.pdf", max_bytes=LIMIT)
    assert checked.filename == "plan.pdf"


@pytest.mark.parametrize(
    "data",
    [
        b"MZ\x90\x00\x03" + bytes(300),
        b"\x7fELF\x02\x01\x01" + bytes(300),
        b"plain text that claims to be a PDF\n",
        b"<html><script>alert(1)</script></html>",
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        _zip([("payload.txt", "not an office document")]),
        make_image("GIF"),
    ],
    ids=["exe", "elf", "text", "html", "svg", "zip", "gif"],
)
def test_other_files_are_refused_whatever_their_name(data: bytes) -> None:
    with pytest.raises(UnsupportedType, match="not accepted") as refused:
        check_document(data, "offer.pdf", max_bytes=LIMIT)
    assert refused.value.field == "file"


def test_empty_document_is_invalid() -> None:
    with pytest.raises(Invalid, match="empty"):
        check_document(b"", "offer.pdf", max_bytes=LIMIT)


def test_document_over_the_limit_is_refused() -> None:
    with pytest.raises(TooLarge, match="at most 1 MB"):
        check_document(make_pdf() + bytes(LIMIT), "offer.pdf", max_bytes=LIMIT)


@pytest.mark.parametrize(
    ("data", "what"),
    [
        (b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n", "PDF"),
        (b"%PDF-1.7\n" + bytes(range(256)) * 20, "PDF"),
        (make_pdf()[:200], "PDF"),
        (_zip([("[Content_Types].xml", "<Types/>"), ("word/other.xml", "")]), "office file"),
        (
            _zip([("mimetype", "application/vnd.oasis.opendocument.text"), ("content.xml", "")])[
                :-40
            ],
            "office file",
        ),
    ],
    ids=["pdf-without-pages", "pdf-noise", "pdf-cut", "docx-without-document", "odt-cut"],
)
def test_a_file_that_does_not_open_as_what_it_is_is_refused(data: bytes, what: str) -> None:
    with pytest.raises(UnsupportedType, match=f"The {what} cannot be opened"):
        check_document(data, "offer.pdf")


def test_an_office_file_that_unpacks_to_a_bomb_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/padding.xml", b"\0" * (201 * 1024 * 1024))
    with pytest.raises(UnsupportedType, match="unpacks to far more"):
        check_document(out.getvalue(), "bomb.docx", max_bytes=10 * LIMIT)


def test_a_photo_as_document_loses_its_location_but_not_a_pixel_or_its_orientation() -> None:
    original = photo_with_gps(orientation=6)
    checked = check_document(original, "Heizraum.jpg")
    before, after = Image.open(io.BytesIO(original)), Image.open(io.BytesIO(checked.data))
    assert before.getexif().get_ifd(0x8825)  # the phone's GPS
    assert not after.getexif().get_ifd(0x8825)
    assert after.getexif().get(0x0112) == 6
    assert after.tobytes() == before.tobytes()
    assert len(checked.data) < len(original)


def test_a_png_loses_its_text_and_exif_chunks_and_keeps_its_pixels() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Seefeldstrasse 12, 8008 Zürich")
    image = Image.new("RGB", (30, 20), "teal")
    exif = Image.Exif()
    exif[0x010F] = "Phone maker"
    out = io.BytesIO()
    image.save(out, "PNG", pnginfo=info, exif=exif.tobytes())
    checked = check_document(out.getvalue(), "plan.png")
    assert b"Seefeldstrasse" not in checked.data and b"Phone maker" not in checked.data
    assert Image.open(io.BytesIO(checked.data)).tobytes() == image.tobytes()
