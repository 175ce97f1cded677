"""PDFs that stand alone: the photo documentation says on every page whose photos they are (company,
order, address, date, page x of y) in the recipient's language, and the work report and the photo
documentation are archival PDF/A with the order in their metadata. Pure: no database, no HTTP."""

from __future__ import annotations

import io
import random

import msgspec
import pytest
from PIL import Image
from pypdf import PdfReader
from pypdf.xmp import PDFAID_NAMESPACE

from organisatrice.compose.context import OrderContext
from organisatrice.compose.photo_set import SourcePhoto, build_photo_pdf
from organisatrice.compose.work_report import render_work_report
from tests.unit.compose.contexts import order_context

BUILDING = "Résidence Les Cèdres, Chemin des Crêts 3, 1218 Le Grand-Saconnex"
# Per language: the title as printed and filed, the date, and page 1 of 2 at the foot.
HEADINGS = {
    "de": ("Fotodokumentation Auftrag 4711-B", "27.11.2026", "Seite 1 von 2"),
    "fr": ("Documentation photo, mandat 4711-B", "27.11.2026", "Page 1 sur 2"),
    "it": ("Documentazione fotografica, ordine 4711-B", "27.11.2026", "Pagina 1 di 2"),
    "en": ("Photo documentation, order 4711-B", "27 Nov 2026", "Page 1 of 2"),
}
UNLIMITED = 10**9


def jpeg(width: int, height: int, seed: int) -> bytes:
    noise = random.Random(seed).randbytes(width * height * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (width, height), noise).save(out, "JPEG", quality=80)
    return out.getvalue()


def two_photos() -> list[SourcePhoto]:
    return [
        SourcePhoto(data=jpeg(160, 120, 1), caption="Wärmepumpe vorher", filename="1.jpg"),
        SourcePhoto(data=jpeg(90, 160, 2), caption="Vanne d'arrêt remplacée", filename="2.jpg"),
    ]


def photo_pdf(ctx: OrderContext) -> bytes:
    return build_photo_pdf(two_photos(), budget=UNLIMITED, ctx=ctx).data


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text with runs of white space made one space."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


@pytest.fixture(scope="module")
def photo_pdfs() -> dict[str, bytes]:
    return {language: photo_pdf(order_context(language)) for language in HEADINGS}


@pytest.mark.parametrize("language", sorted(HEADINGS))
def test_every_photo_page_names_company_order_address_date_and_page_in_its_language(
    language: str, photo_pdfs: dict[str, bytes]
) -> None:
    title, day, first_page = HEADINGS[language]

    pages = page_texts(photo_pdfs[language])

    assert len(pages) == 2
    for number, text in enumerate(pages, start=1):
        assert "Meier Haustechnik AG" in text
        assert BUILDING in text
        assert title in text
        assert day in text
        assert first_page.replace("1", str(number), 1) in text
    assert "Wärmepumpe vorher" in pages[0]
    assert "Vanne d'arrêt remplacée" in pages[1]
    info = PdfReader(io.BytesIO(photo_pdfs[language])).metadata
    assert info is not None and info.title == title


def test_photo_pages_name_the_client_address_when_the_order_has_no_building() -> None:
    ctx = msgspec.structs.replace(order_context("fr"), buildings=[])

    for text in page_texts(photo_pdf(ctx)):
        assert "Régie Genève-Lac SA, Quai du Mont-Blanc 5, 1201 Genève" in text


def test_photo_pages_name_every_building_of_the_order() -> None:
    ctx = order_context("de")
    garage = msgspec.structs.replace(
        ctx.building, name="Garage Nord", address="Route de Ferney 120, 1218 Le Grand-Saconnex"
    )
    ctx = msgspec.structs.replace(ctx, buildings=[ctx.building, garage])

    for text in page_texts(photo_pdf(ctx)):
        assert BUILDING in text
        assert "Garage Nord, Route de Ferney 120, 1218 Le Grand-Saconnex" in text


def test_photo_page_header_prints_typed_markup_as_text() -> None:
    ctx = order_context("de")
    ctx = msgspec.structs.replace(
        ctx, company=msgspec.structs.replace(ctx.company, name="Meier & Söhne <b>AG</b>")
    )

    for text in page_texts(photo_pdf(ctx)):
        assert "Meier & Söhne <b>AG</b>" in text


def test_work_report_pages_are_numbered_in_its_language() -> None:
    text = " ".join(page_texts(render_work_report(order_context("fr"), logo=None)))

    assert "Page 1 sur 1" in text


def pdfa_identification(reader: PdfReader) -> dict[str, str]:
    """The XMP's pdfaid properties (WeasyPrint writes them as attributes)."""
    xmp = reader.xmp_metadata
    assert xmp is not None
    return {
        node.localName: node.nodeValue for node in xmp.get_nodes_in_namespace("", PDFAID_NAMESPACE)
    }


@pytest.mark.parametrize("document", ["work report", "photo documentation"])
def test_pdfs_are_pdf_a_with_the_order_in_their_metadata(
    document: str, photo_pdfs: dict[str, bytes]
) -> None:
    pdf = (
        render_work_report(order_context("de"), logo=None)
        if document == "work report"
        else photo_pdfs["de"]
    )

    reader = PdfReader(io.BytesIO(pdf))

    assert reader.pdf_header == "%PDF-1.7"
    assert pdfa_identification(reader) == {"part": "2", "conformance": "U"}
    # The colour space every page is printed in, which PDF/A requires be embedded.
    [intent] = reader.root_object["/OutputIntents"]
    assert intent["/S"] == "/GTS_PDFA1"
    assert intent["/DestOutputProfile"].get_object().get_data()
    info = reader.metadata
    assert info is not None
    assert info.title is not None and "4711-B" in info.title
    assert info.subject == "Auftrag 4711-B: Révision pompe à chaleur"
    assert info.author == "Meier Haustechnik AG"
    assert info["/Keywords"] == "4711-B"
    # PDF/A wants the XMP metadata to say the same as the document information.
    xmp = reader.xmp_metadata
    assert xmp is not None
    assert xmp.dc_title == {"x-default": info.title}
    assert xmp.pdf_keywords == "4711-B"


def test_photo_pdf_keeps_the_photos_as_they_were_fitted(photo_pdfs: dict[str, bytes]) -> None:
    # PDF/A-2 takes JPEG as it is: no second encoding, no loss, and the size the budget counted.
    reader = PdfReader(io.BytesIO(photo_pdfs["de"]))
    images = {
        x.indirect_reference.idnum: x
        for page in reader.pages
        for x in (ref.get_object() for ref in page["/Resources"]["/XObject"].values())
        if x["/Subtype"] == "/Image"
    }

    assert len(images) == 2
    assert all(image["/Filter"] == "/DCTDecode" for image in images.values())


def test_same_order_and_photos_give_the_same_pdf(photo_pdfs: dict[str, bytes]) -> None:
    # The archive recognises a document sent twice by its hash: the PDF/A file identifier
    # must come from the content, not from chance or the clock.
    assert photo_pdf(order_context("de")) == photo_pdfs["de"]
