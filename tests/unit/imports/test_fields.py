"""Columns to fields and cells to values: headers in German, French, Italian and English; the
words of Swiss spreadsheets for salutations, languages, yes and no; dates as dd.mm.yyyy and
ISO; formulas, repeated keys and bad values refused with the row, the column and a plain
message."""

from __future__ import annotations

from datetime import date

import pytest

from organisatrice.core.errors import Invalid
from organisatrice.imports import fields
from organisatrice.imports.reading import Line
from organisatrice.imports.schemas import ImportRowError
from organisatrice.orders.schemas import ContactIn, OrderIn, OrderStatus, RowError, Salutation
from organisatrice.orders.writes import RecordKind

CONTACT_FIELDS = [
    "external_id",
    "salutation",
    "first_name",
    "last_name",
    "email",
    "client",
    "language",
]


@pytest.mark.parametrize(
    "header",
    [
        ["Externe ID", "Anrede", "Vorname", "Nachname", "E-Mail", "Kunde", "Sprache"],
        ["Référence", "Civilité", "Prénom", "Nom", "Courriel", "Client", "Langue"],
        ["Riferimento", "Titolo", "Nome", "Cognome", "E-mail", "Cliente", "Lingua"],
        ["External ID", "Salutation", "First name", "Last name", "Email", "Client", "Language"],
        ["external_id", "salutation", "first_name", "last_name", "email", "client", "language"],
        [" EXTERNE-ID ", "anrede", "VORNAME", "nach name", "e_mail", "KUNDE", "sprache"],
    ],
    ids=["de", "fr", "it", "en", "field names", "any case and spacing"],
)
def test_contact_headers_are_mapped_in_each_language(header: list[str]) -> None:
    assert fields.auto_mapping(RecordKind.CONTACT, header) == CONTACT_FIELDS


@pytest.mark.parametrize(
    ("kind", "header", "expected"),
    [
        (
            RecordKind.CLIENT,
            ["Kundennummer", "Firma", "Strasse", "PLZ", "Ort", "Telefon", "ID"],
            ["number", "name", "street", "postal_code", "city", "phone", "external_id"],
        ),
        (
            RecordKind.BUILDING,
            ["Réf", "Client", "Désignation", "Rue", "NPA", "Localité", "Actif"],
            ["external_id", "client", "name", "street", "postal_code", "city", "active"],
        ),
        (
            RecordKind.ORDER,
            ["Rif", "Numero ordine", "Oggetto", "Stato", "Cliente", "Edifici", "Inizio", "Fine"],
            [
                "external_id",
                "number",
                "title",
                "status",
                "client",
                "buildings",
                "start_date",
                "end_date",
            ],
        ),
    ],
)
def test_each_kind_has_its_own_names(
    kind: RecordKind, header: list[str], expected: list[str]
) -> None:
    assert fields.auto_mapping(kind, header) == expected


def test_unknown_and_repeated_columns_are_left_out() -> None:
    mapping = fields.auto_mapping(RecordKind.CLIENT, ["ID", "Name", "Lieblingsfarbe", "Firma"])

    assert mapping == ["external_id", "name", None, None]


def test_every_kind_reads_the_vocabulary_without_a_name_for_two_fields() -> None:
    for kind in RecordKind:
        names = fields.header_names(kind)
        for field in fields.FIELDS[kind]:
            # Each field has names besides its own, in the four languages.
            assert sum(1 for f in names.values() if f == field) >= 3, (kind, field)


def test_a_mapping_by_hand_names_fields_of_the_kind_once_each() -> None:
    header = ["A", "B", "C"]
    fields.check_mapping(RecordKind.CLIENT, header, ["external_id", None, "name"])

    for mapping, words in [
        (["external_id", "name"], "3 columns"),
        (["external_id", "name", "salutation"], "no field 'salutation'"),
        (["external_id", "name", "name"], "Two columns"),
    ]:
        with pytest.raises(Invalid) as caught:
            fields.check_mapping(RecordKind.CLIENT, header, mapping)
        assert words in caught.value.detail
        assert (caught.value.field, caught.value.code) == ("mapping", "invalid_mapping")


def test_work_items_and_materials_come_through_the_api_only() -> None:
    with pytest.raises(Invalid) as caught:
        fields.check_mapping(RecordKind.ORDER, ["ID", "Arbeit"], ["external_id", "work_items"])

    assert caught.value.code == "api_only"
    assert "API only" in caught.value.detail


def test_required_columns_are_named_when_missing() -> None:
    assert fields.missing(RecordKind.CLIENT, ["external_id", "city"]) == ["name"]
    assert fields.missing(RecordKind.CONTACT, ["external_id", "last_name"]) == ["client"]
    assert fields.missing(RecordKind.CONTACT, ["external_id", "building"]) == []
    assert fields.missing(RecordKind.ORDER, ["number"]) == [
        "external_id",
        "title",
        "client",
    ]
    message = fields.missing_message(RecordKind.CONTACT, ["ID", "Nachname"], ["client"])
    assert "contacts needs a column for: client (or the building)" in message


def _reader(kind: RecordKind, header: list[str]) -> fields.RowReader:
    return fields.RowReader(kind, header, fields.auto_mapping(kind, header))


def _contact(*cells: str, number: int = 2) -> tuple[object, list[ImportRowError]]:
    reader = _reader(
        RecordKind.CONTACT,
        ["Externe ID", "Anrede", "Vorname", "Nachname", "E-Mail", "Kunde", "Sprache", "Aktiv"],
    )
    return reader.read(Line(number, list(cells)))


@pytest.mark.parametrize(
    ("salutation", "language", "active", "expected"),
    [
        ("Frau", "Deutsch", "ja", (Salutation.MS, "de", True)),
        ("Monsieur", "français", "non", (Salutation.MR, "fr", False)),
        ("Sig.ra", "Italiano", "sì", (Salutation.MS, "it", True)),
        ("Mr", "EN", "0", (Salutation.MR, "en", False)),
        ("Hr.", "F", "x", (Salutation.MR, "fr", True)),
    ],
)
def test_words_for_values_in_each_language(
    salutation: str, language: str, active: str, expected: tuple[object, ...]
) -> None:
    record, errors = _contact("P1", salutation, "Anna", "Meier", "", "C1", language, active)

    assert errors == []
    assert isinstance(record, ContactIn)
    assert (record.salutation, record.language, record.active) == expected


def test_empty_cells_leave_fields_unset() -> None:
    record, errors = _contact("  P1 ", "", "", "Meier", "", "C1")

    assert errors == []
    assert record == ContactIn(external_id="P1", last_name="Meier", client="C1")


def test_an_unknown_word_names_the_column_and_what_to_write() -> None:
    _, errors = _contact("P1", "Dr.", "Anna", "Meier", "", "C1", "Klingonisch", number=7)

    assert [(e.row, e.column, e.field, e.code) for e in errors] == [
        (7, "Anrede", "salutation", "invalid_value"),
        (7, "Sprache", "language", "invalid_value"),
    ]
    assert errors[0].message.startswith('"Dr." in column "Anrede" is not a salutation')
    assert "Herr" in errors[0].message


@pytest.mark.parametrize(
    "cell",
    ['=HYPERLINK("http://evil.example")', "@SUM(A1:A2)", "+cmd|' /C calc'!A0", "-2+3+cmd|x"],
)
def test_a_cell_that_starts_like_a_formula_refuses_the_row(cell: str) -> None:
    record, errors = _contact("P1", "Frau", cell, "Meier", "", "C1", number=4)

    assert record is None
    assert [(e.row, e.column, e.code) for e in errors] == [(4, "Vorname", "formula")]
    assert "formula" in errors[0].message


def test_numbers_and_phone_numbers_may_start_with_a_sign() -> None:
    reader = _reader(RecordKind.CLIENT, ["ID", "Name", "Telefon", "PLZ"])

    record, errors = reader.read(Line(2, ["K1", "Meier AG", "+41 44 123 45 67", "-8001"]))

    assert errors == []
    assert record is not None


def test_the_same_external_id_twice_in_a_file_is_refused_however_far_apart() -> None:
    reader = _reader(RecordKind.CLIENT, ["ID", "Name"])
    lines = iter([Line(n, [f"K{n % 3}", "Meier AG"]) for n in range(2, 8)])

    first = reader.chunk(lines, 3)
    second = reader.chunk(lines, 3)
    end = reader.chunk(lines, 3)

    assert (first.read, first.refused, first.rows) == (3, 0, [2, 3, 4])
    assert (second.read, second.refused, second.rows) == (3, 3, [])
    assert [(e.row, e.code) for e in second.errors] == [
        (5, "duplicate_external_id"),
        (6, "duplicate_external_id"),
        (7, "duplicate_external_id"),
    ]
    assert 'The external id "K2" is also in row 2' in second.errors[0].message
    assert end.read == 0


def test_a_row_without_its_external_id_is_refused() -> None:
    _, errors = _reader(RecordKind.CLIENT, ["ID", "Name"]).read(Line(3, ["", "Meier AG"]))

    assert [(e.field, e.code) for e in errors] == [("external_id", "missing_field")]


def test_too_long_and_multi_line_values_get_plain_messages() -> None:
    reader = _reader(RecordKind.CLIENT, ["ID", "Firma", "Ort"])

    record, errors = reader.read(Line(2, ["K1", "M" * 201, "Zürich\nOerlikon"]))

    assert record is None
    assert [(e.column, e.code) for e in errors] == [
        ("Firma", "invalid_value"),
        ("Ort", "invalid_value"),
    ]
    assert errors[0].message == 'The value in column "Firma" is longer than 200 characters.'
    assert "line break" in errors[1].message
    assert all("regex" not in e.message and "$." not in e.message for e in errors)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("02.11.2026", date(2026, 11, 2)),
        ("2.11.26", date(2026, 11, 2)),
        ("2/11/2026", date(2026, 11, 2)),
        ("2026-11-02", date(2026, 11, 2)),
        ("2026-11-02 00:00:00", date(2026, 11, 2)),
    ],
)
def test_dates_swiss_and_iso(text: str, expected: date) -> None:
    reader = _reader(RecordKind.ORDER, ["ID", "Nummer", "Titel", "Kunde", "Beginn"])

    record, errors = reader.read(Line(2, ["O1", "2026-1", "Service", "C1", text]))

    assert errors == []
    assert isinstance(record, OrderIn)
    assert record.start_date == expected


def test_a_date_that_does_not_exist_is_refused() -> None:
    reader = _reader(RecordKind.ORDER, ["ID", "Nummer", "Titel", "Kunde", "Beginn"])

    _, errors = reader.read(Line(2, ["O1", "2026-1", "Service", "C1", "31.02.2026"]))

    assert errors[0].message == (
        '"31.02.2026" in column "Beginn" is not a date; write it as 31.12.2026 or 2026-12-31.'
    )


def test_an_order_row_holds_its_flat_fields_and_lists() -> None:
    reader = _reader(
        RecordKind.ORDER,
        ["ID", "Nummer", "Titel", "Status", "Kunde", "Gebäude", "Verantwortlich", "Bemerkungen"],
    )

    record, errors = reader.read(
        Line(
            2,
            [
                "O1",
                "2026-1",
                "Heizungsservice",
                "abgeschlossen",
                "C1",
                "B1, B2,",
                "eva@firm.example\nmax@firm.example",
                "Zeile 1\nZeile 2",
            ],
        )
    )

    assert errors == []
    assert record == OrderIn(
        external_id="O1",
        number="2026-1",
        title="Heizungsservice",
        status=OrderStatus.COMPLETED,
        client="C1",
        buildings=["B1", "B2"],
        responsible=["eva@firm.example", "max@firm.example"],
        remarks="Zeile 1\nZeile 2",
    )


def test_an_error_of_upsert_names_the_files_row_and_column() -> None:
    reader = _reader(RecordKind.CONTACT, ["ID", "Nachname", "E-Mail", "Kunde"])
    upserted = RowError(
        row=1, external_id="P9", field="email", code="invalid_email", message="Not an address."
    )

    error = reader.row_error([5, 9], upserted)

    assert error == ImportRowError(
        row=9,
        external_id="P9",
        column="E-Mail",
        field="email",
        code="invalid_email",
        message="Not an address.",
    )
