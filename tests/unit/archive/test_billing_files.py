"""The billing export's files, built from rows and read back as Excel would: XLSX through
calamine, CSV by the delimiter of the viewer's language; the words of every language."""

from __future__ import annotations

import codecs
import csv
import io
import zipfile
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from python_calamine import CalamineWorkbook

from organisatrice.archive.export import (
    WorkReportRow,
    catalogue,
    to_csv,
    to_xlsx,
    words_for,
)
from organisatrice.mail.schemas import EmailStatus

ZURICH = ZoneInfo("Europe/Zurich")
ROWS = [
    WorkReportRow(
        email_id=1,
        order_number="2026-0101",
        client="Müller; Söhne & Co.",
        recipients=["anna.meier@mueller.example", "buchhaltung@mueller.example"],
        sent_at=datetime(2026, 11, 3, 9, 1, tzinfo=ZURICH),
        outcome=EmailStatus.DELIVERED,
        author="Jürg Nägeli, jun.",
    ),
    WorkReportRow(
        email_id=2,
        order_number="2026-0102",
        client='=HYPERLINK("http://x.example")',
        recipients=["@beck@beck.example"],
        sent_at=datetime(2026, 11, 30, 23, 59, tzinfo=ZURICH),
        outcome=EmailStatus.BOUNCED,
        author="",
    ),
]
HEADERS = {
    "de": ["Auftrag", "Kunde", "Empfänger", "Gesendet am", "Ergebnis", "Verfasst von"],
    "fr": ["Mandat", "Client", "Destinataires", "Envoyé le", "Résultat", "Rédigé par"],
    "it": ["Commessa", "Cliente", "Destinatari", "Inviato il", "Esito", "Scritto da"],
    "en": ["Order", "Client", "Recipients", "Sent at", "Outcome", "Written by"],
}
BOUNCED = {
    "de": "nicht zugestellt",
    "fr": "non distribué",
    "it": "non consegnata",
    "en": "not delivered",
}


def _sheet(data: bytes) -> tuple[str, list[list[Any]]]:
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    [name] = workbook.sheet_names
    return name, workbook.get_sheet_by_name(name).to_python()


@pytest.mark.parametrize("language", HEADERS)
def test_the_xlsx_has_one_row_per_work_report_under_the_languages_headers(language: str) -> None:
    words = words_for(language)
    name, sheet = _sheet(to_xlsx(ROWS, words))
    assert name == words.sheet
    assert sheet == [
        HEADERS[language],
        [
            "2026-0101",
            "Müller; Söhne & Co.",
            "anna.meier@mueller.example, buchhaltung@mueller.example",
            datetime(2026, 11, 3, 9, 1),
            words.outcomes[EmailStatus.DELIVERED],
            "Jürg Nägeli, jun.",
        ],
        [
            "2026-0102",
            '\'=HYPERLINK("http://x.example")',
            "'@beck@beck.example",
            datetime(2026, 11, 30, 23, 59),
            BOUNCED[language],
            "",
        ],
    ]


def test_the_xlsx_holds_texts_never_formulas() -> None:
    with zipfile.ZipFile(io.BytesIO(to_xlsx(ROWS, words_for("de")))) as archive:
        sheet = archive.read("xl/worksheets/sheet1.xml")
    # A formula is an <f> element of its cell; texts are references to the shared strings.
    assert b"<f>" not in sheet
    assert b"HYPERLINK" not in sheet


@pytest.mark.parametrize(
    ("language", "delimiter"), [("de", ";"), ("fr", ";"), ("it", ";"), ("en", ",")]
)
def test_the_csv_has_the_languages_delimiter_headers_and_a_byte_order_mark(
    language: str, delimiter: str
) -> None:
    data = to_csv(ROWS, words_for(language))
    assert data.startswith(codecs.BOM_UTF8), "Excel needs the byte order mark to read UTF-8"
    text = data.decode("utf-8-sig")
    assert text.split("\r\n")[0] == delimiter.join(HEADERS[language])
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    assert rows[0] == HEADERS[language]
    assert [r[2] for r in rows[1:]] == [
        "anna.meier@mueller.example, buchhaltung@mueller.example",
        "'@beck@beck.example",
    ]
    assert rows[2][1] == '\'=HYPERLINK("http://x.example")'
    assert rows[2][4] == BOUNCED[language]


def test_the_csv_quotes_what_holds_its_delimiter() -> None:
    swiss = to_csv(ROWS, words_for("de")).decode("utf-8-sig").split("\r\n")
    assert swiss[1] == (
        '2026-0101;"Müller; Söhne & Co.";anna.meier@mueller.example, buchhaltung@mueller.example;'
        "03.11.2026 09:01;zugestellt;Jürg Nägeli, jun."
    )
    english = to_csv(ROWS, words_for("en")).decode("utf-8-sig").split("\r\n")
    assert english[1] == (
        '2026-0101,Müller; Söhne & Co.,"anna.meier@mueller.example, buchhaltung@mueller.example",'
        '2026-11-03 09:01,delivered,"Jürg Nägeli, jun."'
    )


def test_every_language_names_every_outcome_and_the_file() -> None:
    assert set(catalogue()) == set(HEADERS)
    for language, words in catalogue().items():
        assert set(words.outcomes) == set(EmailStatus), language
        assert all(msgspec.structs.astuple(words.columns)), language
        assert "{from}" in words.filename and "{to}" in words.filename, language
    assert words_for("de").filename.format(**{"from": "2026-11-01", "to": "2026-11-30"}) == (
        "Arbeitsrapporte 2026-11-01 bis 2026-11-30"
    )


@pytest.mark.parametrize(("locale", "language"), [("fr-CH", "fr"), ("IT", "it"), ("rm", "de")])
def test_a_locale_finds_its_language_and_any_other_german(locale: str, language: str) -> None:
    assert words_for(locale) == catalogue()[language]
