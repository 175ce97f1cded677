"""Reading spreadsheets: CSV in UTF-8 (with and without BOM) and Windows-1252, with `;`, `,`
or tab, and XLSX; rows numbered as Excel shows them; files that are not spreadsheets refused
with a stable code."""

from __future__ import annotations

import io
import zipfile
from datetime import date
from pathlib import Path

import pytest

from organisatrice.imports import reading
from organisatrice.imports.reading import FileProblem, FileType, Layout, Line
from tests.factories import make_image, make_pdf
from tests.unit.imports.spreadsheets import csv_bytes, xlsx_bytes

HEADER = ["Externe ID", "Anrede", "Vorname", "Nachname", "Ort"]
ROWS = [
    ["P1", "Frau", "Zoë", "Müller", "Zürich"],
    ["P2", "Monsieur", "François", "Bérard", "Genève"],
    ["P3", "Signora", "Lucía", "Rossi", "Neuchâtel"],
]


def _inspect(data: bytes) -> Layout:
    return reading.inspect(io.BytesIO(data))


def _rows(tmp_path: Path, data: bytes) -> tuple[Layout, list[Line]]:
    layout = _inspect(data)
    path = tmp_path / "upload"
    path.write_bytes(data)
    lines = reading.rows(path, layout)
    try:
        return layout, list(lines)
    finally:
        lines.close()


def _problem(data: bytes) -> FileProblem:
    with pytest.raises(FileProblem) as caught:
        _inspect(data)
    return caught.value


@pytest.mark.parametrize(
    ("encoding", "expected"),
    [("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("cp1252", "cp1252")],
)
@pytest.mark.parametrize("delimiter", [";", ",", "\t"])
def test_csv_in_each_encoding_and_delimiter_reads_the_same_rows(
    tmp_path: Path, encoding: str, expected: str, delimiter: str
) -> None:
    data = csv_bytes([HEADER, *ROWS], delimiter=delimiter, encoding=encoding)

    layout, lines = _rows(tmp_path, data)

    assert layout.file_type is FileType.CSV
    assert (layout.encoding, layout.delimiter) == (expected, delimiter)
    assert layout.header == HEADER
    assert layout.rows == 3
    assert layout.preview == ROWS
    assert [line.cells for line in lines] == ROWS
    assert [line.number for line in lines] == [2, 3, 4]


def test_a_comma_inside_quotes_does_not_make_the_delimiter() -> None:
    data = csv_bytes([["Name, Firma", "Ort", "PLZ"], ["Meier AG", "Bern", "3000"]])

    assert _inspect(data).delimiter == ";"


def test_rows_are_numbered_as_excel_shows_them(tmp_path: Path) -> None:
    """A quoted cell with a line break is one row in Excel; empty rows are skipped but
    counted."""
    data = csv_bytes(
        [HEADER, ROWS[0], ["", "", "", "", ""], ["P2", "Herr", "Jan", "Zeile 1\nZeile 2", "Bern"]]
    )

    layout, lines = _rows(tmp_path, data)

    assert layout.rows == 2
    assert [line.number for line in lines] == [2, 4]
    assert lines[1].cells[3] == "Zeile 1\nZeile 2"


def test_xlsx_reads_its_first_sheet_with_dates_and_numbers_as_text(tmp_path: Path) -> None:
    data = xlsx_bytes(
        [
            ["Externe ID", "PLZ", "Beginn", "Stunden", "Aktiv", "Bemerkung"],
            ["O1", 8001, date(2026, 11, 2), 1.5, True, "=1+1"],
            ["O2", 1003, date(2026, 12, 31), 2, False, "Zürich – Genève"],
        ],
        first_row=2,
    )

    layout, lines = _rows(tmp_path, data)

    assert layout.file_type is FileType.XLSX
    assert layout.header == ["Externe ID", "PLZ", "Beginn", "Stunden", "Aktiv", "Bemerkung"]
    assert layout.rows == 2
    assert lines == [
        Line(4, ["O1", "8001", "2026-11-02", "1.5", "true", "=1+1"]),
        Line(5, ["O2", "1003", "2026-12-31", "2", "false", "Zürich – Genève"]),
    ]


@pytest.mark.parametrize(
    "data",
    [
        pytest.param("Externe ID;Name\nK1;Müller\n".encode("utf-16"), id="utf-16 with BOM"),
        pytest.param("Externe ID;Name\nK1;Müller\n".encode("utf-16-le"), id="utf-16 without"),
        pytest.param(b"Externe ID;Name\nK1;M\x81ller\xc3\n", id="neither utf-8 nor 1252"),
        pytest.param(bytes(range(256)) * 8, id="binary"),
    ],
)
def test_a_file_that_is_neither_utf8_nor_windows1252_is_the_wrong_encoding(data: bytes) -> None:
    problem = _problem(data)

    assert problem.code == "wrong_encoding"
    assert "CSV UTF-8" in problem.message


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(make_pdf(), id="pdf"),
        pytest.param(make_image("PNG"), id="png"),
    ],
)
def test_other_files_are_refused_by_their_content(data: bytes) -> None:
    problem = _problem(data)

    assert problem.code == "unsupported_type"
    assert "CSV" in problem.message and ".xlsx" in problem.message


def test_an_archive_that_is_not_a_workbook_is_refused() -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("readme.txt", "hello")

    assert _problem(out.getvalue()).code == "unsupported_type"


def test_a_csv_that_starts_like_a_program_is_still_a_csv() -> None:
    assert _inspect(b"MZ-Nummer;Name\n1;Meier\n").file_type is FileType.CSV


@pytest.mark.parametrize(
    "data",
    [
        pytest.param(b"", id="nothing"),
        pytest.param(b"\r\n\r\n;;\r\n", id="empty rows"),
        pytest.param(csv_bytes([HEADER]), id="header only"),
        pytest.param(xlsx_bytes([]), id="empty workbook"),
        pytest.param(xlsx_bytes([HEADER]), id="workbook with header only"),
    ],
)
def test_a_file_without_rows_is_empty(data: bytes) -> None:
    assert _problem(data).code == "empty_file"


def test_the_stored_file_is_inspected_with_refusals_as_values(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_bytes(csv_bytes([HEADER, *ROWS]))
    bad = tmp_path / "bad"
    bad.write_bytes(make_pdf())

    assert isinstance(reading.inspect_stored(str(good)), Layout)
    refused = reading.inspect_stored(str(bad))
    assert isinstance(refused, reading.Refusal)
    assert refused.code == "unsupported_type"


def test_rows_are_read_as_they_are_asked_for(tmp_path: Path) -> None:
    """The file is opened at the first row and closed with the reader: nothing is held."""
    data = csv_bytes([HEADER] + [[f"P{i}", "Frau", "Anna", "Meier", "Bern"] for i in range(5)])
    layout, _ = _rows(tmp_path, data)
    path = tmp_path / "upload"

    lines = reading.rows(path, layout)
    path.unlink()
    with pytest.raises(FileNotFoundError):
        next(lines)


def test_a_first_row_of_more_than_500_columns_is_refused() -> None:
    data = csv_bytes([[f"Spalte {i}" for i in range(501)], ["x"] * 501])

    problem = _problem(data)

    assert problem.code == "too_many_columns"
    assert "501 columns" in problem.message
