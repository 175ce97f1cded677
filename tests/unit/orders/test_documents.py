"""check_document: a document is accepted by what its bytes are, never by its name."""

from __future__ import annotations

import io
import zipfile

import pytest

from organisatrice.core.errors import Invalid, TooLarge, UnsupportedType
from organisatrice.orders.documents import check_document
from tests.factories import make_image, make_pdf

LIMIT = 1024 * 1024


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
