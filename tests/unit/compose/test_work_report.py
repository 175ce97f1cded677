"""render_work_report and html_to_pdf: an order's work as an A4 PDF whose text reads back in the
report's language, with nothing fetched from anywhere. Pure: no database, no HTTP."""

from __future__ import annotations

import io
import socket
from datetime import date
from pathlib import Path

import pytest
from PIL import Image
from pypdf import PdfReader
from weasyprint import HTML
from weasyprint.urls import URLFetcher

from organisatrice.compose.context import WorkItemContext
from organisatrice.compose.pdf import html_to_pdf, local_fetcher
from organisatrice.compose.work_report import (
    DEFAULT_BRAND_COLOUR,
    brand_colours,
    format_date,
    format_number,
    render_work_report,
)
from organisatrice.core.errors import Invalid
from tests.unit.compose.contexts import WORK, order_context

A4_POINTS = (595.28, 841.89)
# Per language: the title, the hours total, a work date and the materials heading as printed.
PRINTED = {
    "de": ("Arbeitsrapport", "Total Stunden 7.75", "24.11.2026", "Material"),
    "fr": ("Rapport de travail", "Total des heures 7,75", "24.11.2026", "Matériel"),
    "it": ("Rapporto di lavoro", "Totale ore 7.75", "24.11.2026", "Materiale"),
    "en": ("Work report", "Total hours 7.75", "24 Nov 2026", "Materials"),
}


def text_of(pdf: bytes) -> str:
    """The PDF's text with runs of white space made one space: line breaks fall where the
    layout puts them, not where the test's strings have them."""
    pages = PdfReader(io.BytesIO(pdf)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


def png(size: tuple[int, int] = (300, 90)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (194, 65, 12, 255)).save(out, "PNG")
    return out.getvalue()


@pytest.fixture(scope="module")
def reports() -> dict[str, bytes]:
    """The report in each language, rendered once for the module: German with a logo, English
    without."""
    return {
        language: render_work_report(
            order_context(language), logo=None if language == "en" else png()
        )
        for language in PRINTED
    }


@pytest.fixture
def network_attempts(monkeypatch: pytest.MonkeyPatch) -> list[tuple[object, ...]]:
    """Every attempt to resolve a name or open a connection, refused and recorded."""
    attempts: list[tuple[object, ...]] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("no network in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.mark.parametrize("language", sorted(PRINTED))
def test_work_report_shows_order_number_work_and_hours_total_in_its_language(
    language: str, reports: dict[str, bytes]
) -> None:
    text = text_of(reports[language])

    title, total, first_day, materials = PRINTED[language]
    assert f"{title} 4711-B" in text
    assert total in text
    assert first_day in text
    assert materials in text
    for item in WORK:
        assert item.description in text
        assert item.technician in text
    for typed in ("Régie Genève-Lac SA", "Résidence Les Cèdres", "Zugang über den Hintereingang"):
        assert typed in text


def test_work_report_prints_non_latin_names_as_their_own_letters(
    reports: dict[str, bytes],
) -> None:
    # Text extraction reads glyphs back through the font's Unicode map: a name drawn with a
    # font that lacks the script would come back as boxes or not at all.
    text = text_of(reports["en"])

    assert "Дмитрий Иванов" in text
    assert "Ζωή Παπαδοπούλου" in text


def test_work_report_pages_are_a4_however_long_the_report() -> None:
    work = [
        WorkItemContext(
            date=date(2026, 11, 2 + n % 20),
            technician="Luca Bernasconi",
            hours=1.5,
            description=f"Arbeitsschritt {n:02d}: Leitung gespült und geprüft",
        )
        for n in range(30)
    ]
    pdf = render_work_report(order_context("de", work=work), logo=png())

    pages = PdfReader(io.BytesIO(pdf)).pages
    assert len(pages) > 1
    for page in pages:
        assert (float(page.mediabox.width), float(page.mediabox.height)) == pytest.approx(
            A4_POINTS, abs=0.5
        )
    text = text_of(pdf)
    assert all(f"Arbeitsschritt {n:02d}:" in text for n in range(30))
    assert "Total Stunden 45" in text


def test_work_report_prints_typed_markup_as_text(reports: dict[str, bytes]) -> None:
    text = text_of(reports["en"])

    assert "Final check <b>with</b> the client & handover" in text


def test_work_report_carries_the_logo_when_given(reports: dict[str, bytes]) -> None:
    with_logo = PdfReader(io.BytesIO(reports["de"]))
    without = PdfReader(io.BytesIO(reports["en"]))

    assert len(with_logo.pages[0].images) == 1
    assert len(without.pages[0].images) == 0


def test_work_report_refuses_a_logo_that_is_no_image() -> None:
    with pytest.raises(Invalid, match="logo cannot be read"):
        render_work_report(order_context(), logo=b"<svg onload='alert(1)'>")


def test_work_report_without_work_items_says_so() -> None:
    text = text_of(render_work_report(order_context("fr", work=[]), logo=None))

    assert "Aucun travail saisi." in text


@pytest.mark.parametrize(
    ("colour", "expected"),
    [
        ("#C2410C", ("#c2410c", "#ffffff")),
        ("#fde047", ("#fde047", "#111827")),
        ("red; background: url(http://tracker.example/x.png)", (DEFAULT_BRAND_COLOUR, "#ffffff")),
        ("", (DEFAULT_BRAND_COLOUR, "#ffffff")),
    ],
)
def test_brand_colour_reaches_css_only_as_a_hex_colour_with_readable_text(
    colour: str, expected: tuple[str, str]
) -> None:
    assert brand_colours(colour) == expected


@pytest.mark.parametrize(
    ("language", "expected"),
    [("de", "03.01.2027"), ("fr", "03.01.2027"), ("it", "03.01.2027"), ("en", "3 Jan 2027")],
)
def test_dates_are_written_as_the_language_writes_them(language: str, expected: str) -> None:
    assert format_date(date(2027, 1, 3), language) == expected


@pytest.mark.parametrize(
    ("value", "language", "expected"),
    [(8.0, "de", "8"), (7.5, "de", "7.5"), (0.25, "fr", "0,25"), (7.333, "en", "7.33")],
)
def test_hours_have_at_most_two_decimals(value: float, language: str, expected: str) -> None:
    assert format_number(value, language) == expected


@pytest.mark.parametrize(
    "url",
    [
        "http://tracker.example/pixel.png",
        "https://fonts.example/font.woff2",
        "HTTP://tracker.example/upper.css",
        "ftp://files.example/plan.png",
        "file:///etc/passwd",
    ],
)
def test_pdf_fetcher_refuses_everything_but_data_urls(url: str) -> None:
    with pytest.raises(ValueError, match="disallowed protocol"):
        local_fetcher().fetch(url)


def test_pdf_fetcher_reads_data_urls() -> None:
    assert local_fetcher().fetch("data:text/plain;base64,aGFsbG8=").read() == b"hallo"


def test_pdf_rendering_fetches_nothing_from_network_or_disk(
    network_attempts: list[tuple[object, ...]], tmp_path: Path
) -> None:
    local_image = tmp_path / "plan.png"
    local_image.write_bytes(png((40, 40)))
    page = f"""<!DOCTYPE html><html><head>
      <link rel="stylesheet" href="https://cdn.example/style.css">
      <style>
        @import url("http://cdn.example/import.css");
        @font-face {{ font-family: Remote; src: url("https://fonts.example/remote.woff2"); }}
        body {{ background: url("http://tracker.example/background.png"); }}
      </style></head><body>
      <img src="http://tracker.example/pixel.png">
      <img src="{local_image.as_uri()}">
      <p>Rapport 4711</p>
    </body></html>"""

    pdf = html_to_pdf(page)

    assert network_attempts == []
    assert len(PdfReader(io.BytesIO(pdf)).pages[0].images) == 0
    assert "Rapport 4711" in text_of(pdf)
    # The control: WeasyPrint's own fetcher does go out for the same page, and the spy sees it.
    HTML(string=page, url_fetcher=URLFetcher(timeout=1)).write_pdf()
    assert network_attempts
