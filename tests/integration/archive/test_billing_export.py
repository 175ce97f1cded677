"""The billing export through HTTP: a period's sent work reports, one row each however often a
report went out again, read back from the XLSX and the CSV as Excel would; names with commas,
quotes and umlauts intact, in the viewer's language; an empty period is refused with its code."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, date, datetime
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from litestar import Litestar
from python_calamine import CalamineWorkbook

from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Employee
from tests.client import ApiClient
from tests.factories import MadeEmployee, make_client, make_company, make_employee, make_order
from tests.integration.archive.listing_helpers import archived, mark

NOVEMBER = {"from": "2026-11-01", "to": "2026-11-30"}
OCTOBER = {"from": "2026-10-01", "to": "2026-10-31"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ["Auftrag", "Kunde", "Empfänger", "Gesendet am", "Ergebnis", "Verfasst von"]
JUERG = "Jürg Nägeli, jun."
ZOE = 'Zoë "Zo" Brändli'
MUELLER = "Müller, Söhne & Co."
BECK = 'Bäckerei "Zum Beck"'
# November as the CSV shows it to a German-speaking coordinator in Zurich (UTC+1).
NOVEMBER_ROWS = [
    ["2026-0103", '\'=HYPERLINK("http://x.example")', "early@x.example", "01.11.2026 00:00",
     "gesendet", ZOE],
    ["2026-0101", MUELLER, "anna.meier@mueller.example, buchhaltung@mueller.example",
     "03.11.2026 09:01", "gesendet", JUERG],
    ["2026-0102", BECK, "beck@beck.example", "04.11.2026 10:02", "zugestellt", ZOE],
    ["2026-0101", MUELLER, "alt@mueller.example, chef@mueller.example", "05.11.2026 11:01",
     "nicht zugestellt", ZOE],
    ["2026-0102", BECK, "beck@beck.example", "06.11.2026 12:01", "gesendet", JUERG],
    ["2026-0104", "Verwaltung Seeblick AG",
     "tippfehler@seeblick.example, anna@seeblick.example", "10.11.2026 08:01", "zugestellt",
     JUERG],
    ["2026-0106", "Verwaltung Seeblick AG", "hauswart@seeblick.example", "14.11.2026 09:01",
     "gesendet", ZOE],
    ["2026-0107", "Verwaltung Seeblick AG", "alt@seeblick.example, neu@seeblick.example",
     "29.11.2026 11:01", "zugestellt", JUERG],
    ["2026-0101", MUELLER, "late@x.example", "30.11.2026 23:59", "gesendet", ZOE],
]  # fmt: skip


def _utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Books(msgspec.Struct):
    company: int
    coordinator: MadeEmployee
    backoffice: MadeEmployee
    dispatcher: MadeEmployee
    technician: MadeEmployee


@pytest.fixture(scope="module")
async def books(database: None) -> Books:
    company = await make_company("Haustechnik Nägeli")
    coordinator = await make_employee(company, roles={Role.COORDINATOR})
    backoffice = await make_employee(company, roles={Role.BACKOFFICE})
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    technician = await make_employee(company, roles={Role.TECHNICIAN})
    juerg = await make_employee(company, first_name="Jürg", last_name="Nägeli, jun.")
    zoe = await make_employee(company, first_name="Zoë", last_name='"Zo" Brändli')
    comma = await make_order(
        company, client_id=await make_client(company, MUELLER), number="2026-0101"
    )
    quotes = await make_order(
        company, client_id=await make_client(company, BECK), number="2026-0102"
    )
    formula = await make_order(
        company,
        client_id=await make_client(company, '=HYPERLINK("http://x.example")'),
        number="2026-0103",
    )
    seeblick = await make_client(company, "Verwaltung Seeblick AG")
    resent, earlier, retried, later = [
        await make_order(company, client_id=seeblick, number=f"2026-010{n}") for n in (4, 5, 6, 7)
    ]
    # Two recipients, both accepted: one row, both addresses.
    both = await archived(
        company,
        comma,
        juerg.id,
        at=_utc(3, 8),
        to=["anna.meier@mueller.example"],
        cc=["buchhaltung@mueller.example"],
    )
    await mark(both, "sent", sent_at=_utc(3, 8, 1))
    delivered = await archived(company, quotes, zoe.id, at=_utc(4, 9), to=["beck@beck.example"])
    await mark(delivered, "delivered", sent_at=_utc(4, 9, 2))
    # One bounced, one read: both were sent, both are billed; the email did not fully arrive.
    mixed = await archived(
        company, comma, zoe.id, at=_utc(5, 10), to=["alt@mueller.example", "chef@mueller.example"]
    )
    await mark(
        mixed,
        "bounced",
        sent_at=_utc(5, 10, 1),
        recipients={"alt@mueller.example": "bounced", "chef@mueller.example": "read"},
    )
    # The client got it, the relay never took the cc: the client only, and the client's outcome
    # (a failed cc does not make the report "failed").
    cc_failed = await archived(
        company,
        quotes,
        juerg.id,
        at=_utc(6, 11),
        to=["beck@beck.example"],
        cc=["tippfehler@beck.example"],
    )
    await mark(
        cc_failed,
        "failed",
        sent_at=_utc(6, 11, 1),
        recipients={"beck@beck.example": "sent", "tippfehler@beck.example": "failed"},
    )
    # Not sent (yet): nothing to bill.
    await archived(company, comma, juerg.id, at=_utc(7, 12), to=["q@mueller.example"])
    deferred = await archived(company, comma, juerg.id, at=_utc(7, 13), to=["d@mueller.example"])
    await mark(deferred, "deferred")
    failed = await archived(company, comma, juerg.id, at=_utc(7, 14), to=["f@mueller.example"])
    await mark(failed, "failed")
    # Not a work report.
    offer = await archived(
        company, comma, juerg.id, at=_utc(8, 8), kind="offer", to=["anna.meier@mueller.example"]
    )
    await mark(offer, "sent", sent_at=_utc(8, 8, 1))
    # Fixed and resent the same day: one work report, at its first sending, ending delivered.
    first = await archived(
        company, resent, juerg.id, at=_utc(10, 7), to=["tippfehler@seeblick.example"]
    )
    await mark(first, "bounced", sent_at=_utc(10, 7, 1))
    again = await archived(
        company, resent, zoe.id, at=_utc(10, 9), to=["anna@seeblick.example"], resend_of=first
    )
    await mark(again, "delivered", sent_at=_utc(10, 9, 1))
    # First sent in October, resent in November: October's.
    october = await archived(
        company, earlier, juerg.id, at=_utc(20, 8, month=10), to=["alt@seeblick.example"]
    )
    await mark(october, "bounced", sent_at=_utc(20, 8, 1, month=10))
    november = await archived(
        company, earlier, juerg.id, at=_utc(12, 8), to=["neu@seeblick.example"], resend_of=october
    )
    await mark(november, "delivered", sent_at=_utc(12, 8, 1))
    # Never reached the relay, then resent: it first went out with the resend.
    never = await archived(
        company, retried, juerg.id, at=_utc(13, 8), to=["hauswart@seeblick.example"]
    )
    await mark(never, "failed")
    retry = await archived(
        company, retried, zoe.id, at=_utc(14, 8), to=["hauswart@seeblick.example"], resend_of=never
    )
    await mark(retry, "sent", sent_at=_utc(14, 8, 1))
    # Sent in November, resent in December: November's, with how it ended.
    late = await archived(company, later, juerg.id, at=_utc(29, 10), to=["alt@seeblick.example"])
    await mark(late, "bounced", sent_at=_utc(29, 10, 1))
    fixed = await archived(
        company,
        later,
        juerg.id,
        at=_utc(2, 8, month=12),
        to=["neu@seeblick.example"],
        resend_of=late,
    )
    await mark(fixed, "delivered", sent_at=_utc(2, 8, 1, month=12))
    # The edges of the period, in Zurich time (UTC+1 in November, UTC+2 until 25 October).
    first_minute = await archived(
        company, formula, zoe.id, at=_utc(31, 22, 59, month=10), to=["early@x.example"]
    )
    await mark(first_minute, "sent", sent_at=_utc(31, 23, 0, month=10))
    before = await archived(
        company, comma, zoe.id, at=_utc(31, 22, 58, month=10), to=["before@x.example"]
    )
    await mark(before, "sent", sent_at=_utc(31, 22, 59, month=10))
    last_minute = await archived(company, comma, zoe.id, at=_utc(30, 22), to=["late@x.example"])
    await mark(last_minute, "sent", sent_at=_utc(30, 22, 59))
    after = await archived(company, comma, zoe.id, at=_utc(30, 22, 30), to=["after@x.example"])
    await mark(after, "sent", sent_at=_utc(30, 23, 0))
    # Another company's work report of the same period never shows.
    foreign = await make_company()
    foreign_author = await make_employee(foreign)
    foreign_order = await make_order(foreign, number="2026-0101")
    other = await archived(foreign, foreign_order, foreign_author.id, at=_utc(3, 8))
    await mark(other, "sent", sent_at=_utc(3, 8, 1))
    return Books(
        company=company,
        coordinator=coordinator,
        backoffice=backoffice,
        dispatcher=dispatcher,
        technician=technician,
    )


def _csv(data: bytes, delimiter: str = ";") -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8), "Excel needs the byte order mark to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline=""), delimiter=delimiter))


def _xlsx(data: bytes) -> tuple[str, list[list[Any]]]:
    workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
    [name] = workbook.sheet_names
    return name, workbook.get_sheet_by_name(name).to_python()


async def _export(app: Litestar, email: str, params: dict[str, str]) -> Any:
    async with ApiClient.signed_in(app, email) as client:
        return await client.get("/api/archive/billing", params=params)


async def test_the_xlsx_of_a_period_has_one_row_per_work_report(
    app: Litestar, books: Books
) -> None:
    answer = await _export(app, books.coordinator.email, NOVEMBER)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == XLSX
    assert answer.headers["content-disposition"] == (
        f"attachment; filename*=UTF-8''{quote('Arbeitsrapporte 2026-11-01 bis 2026-11-30.xlsx')}"
    )
    sheet, (header, *rows) = _xlsx(answer.content)
    assert sheet == "Arbeitsrapporte"
    assert header == HEADER
    # The time is a time to Excel, not a text (calamine answers midnight as a date).
    assert all(isinstance(r[3], date) for r in rows)
    assert [r[3].strftime("%d.%m.%Y %H:%M") for r in rows] == [r[3] for r in NOVEMBER_ROWS]
    assert [[*r[:3], *r[4:]] for r in rows] == [[*r[:3], *r[4:]] for r in NOVEMBER_ROWS]


async def test_the_csv_of_a_period_is_the_same_rows_for_swiss_excel(
    app: Litestar, books: Books
) -> None:
    answer = await _export(app, books.coordinator.email, {**NOVEMBER, "format": "csv"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        quote("Arbeitsrapporte 2026-11-01 bis 2026-11-30.csv")
        in (answer.headers["content-disposition"])
    )
    assert _csv(answer.content) == [HEADER, *NOVEMBER_ROWS]
    text = answer.content.decode("utf-8-sig")
    assert text.split("\r\n")[:3] == [
        "Auftrag;Kunde;Empfänger;Gesendet am;Ergebnis;Verfasst von",
        '2026-0103;"\'=HYPERLINK(""http://x.example"")";early@x.example;01.11.2026 00:00;'
        'gesendet;"Zoë ""Zo"" Brändli"',
        "2026-0101;Müller, Söhne & Co.;anna.meier@mueller.example, buchhaltung@mueller.example;"
        "03.11.2026 09:01;gesendet;Jürg Nägeli, jun.",
    ]


async def test_a_resent_work_report_appears_once(app: Litestar, books: Books) -> None:
    answer = await _export(app, books.backoffice.email, {**NOVEMBER, "format": "csv"})
    _, *rows = _csv(answer.content)
    resent = [r for r in rows if r[0] == "2026-0104"]
    assert resent == [
        [
            "2026-0104",
            "Verwaltung Seeblick AG",
            "tippfehler@seeblick.example, anna@seeblick.example",
            "10.11.2026 08:01",
            "zugestellt",
            JUERG,
        ]
    ]


async def test_a_work_report_first_sent_in_an_earlier_period_is_billed_there_only(
    app: Litestar, books: Books
) -> None:
    november = _csv(
        (await _export(app, books.coordinator.email, {**NOVEMBER, "format": "csv"})).content
    )
    assert "2026-0105" not in [r[0] for r in november]
    answer = await _export(app, books.coordinator.email, {**OCTOBER, "format": "csv"})
    _, *rows = _csv(answer.content)
    assert rows == [
        [
            "2026-0105",
            "Verwaltung Seeblick AG",
            "alt@seeblick.example, neu@seeblick.example",
            "20.10.2026 10:01",
            "zugestellt",
            JUERG,
        ],
        ["2026-0101", MUELLER, "before@x.example", "31.10.2026 23:59", "gesendet", ZOE],
    ]


@pytest.mark.parametrize(
    ("locale", "filename", "header", "delimiter", "outcome"),
    [
        (
            "fr",
            "Rapports de travail du 2026-11-01 au 2026-11-30",
            ["Mandat", "Client", "Destinataires", "Envoyé le", "Résultat", "Rédigé par"],
            ";",
            "distribué",
        ),
        (
            "it",
            "Rapporti di lavoro dal 2026-11-01 al 2026-11-30",
            ["Commessa", "Cliente", "Destinatari", "Inviato il", "Esito", "Scritto da"],
            ";",
            "consegnata",
        ),
        (
            "en",
            "Work reports 2026-11-01 to 2026-11-30",
            ["Order", "Client", "Recipients", "Sent at", "Outcome", "Written by"],
            ",",
            "delivered",
        ),
    ],
)
async def test_the_file_speaks_the_viewers_language(
    app: Litestar,
    books: Books,
    locale: str,
    filename: str,
    header: list[str],
    delimiter: str,
    outcome: str,
) -> None:
    viewer = await make_employee(books.company, roles={Role.COORDINATOR})
    await Employee.update({Employee.locale: locale}).where(Employee.id == viewer.id)
    answer = await _export(app, viewer.email, {**NOVEMBER, "format": "csv"})
    assert quote(f"{filename}.csv") in answer.headers["content-disposition"]
    head, *rows = _csv(answer.content, delimiter)
    assert head == header
    assert rows[2][:3] == ["2026-0102", BECK, "beck@beck.example"]
    assert rows[2][4] == outcome
    xlsx = await _export(app, viewer.email, NOVEMBER)
    assert quote(f"{filename}.xlsx") in xlsx.headers["content-disposition"]
    assert _xlsx(xlsx.content)[1][0] == header


@pytest.mark.parametrize("file_format", ["xlsx", "csv"])
async def test_a_period_without_work_reports_is_refused_with_its_code(
    app: Litestar, books: Books, file_format: str
) -> None:
    answer = await _export(
        app,
        books.coordinator.email,
        {"from": "2026-09-01", "to": "2026-09-30", "format": file_format},
    )
    assert answer.status_code == 404, answer.text
    assert answer.headers["content-type"] == "application/problem+json"
    problem = answer.json()
    assert problem["code"] == "no_work_reports"
    assert "2026-09-01" in problem["detail"] and "2026-09-30" in problem["detail"]


@pytest.mark.parametrize("role", ["dispatcher", "technician"])
async def test_only_coordinators_and_back_office_may_export(
    app: Litestar, books: Books, role: str
) -> None:
    answer = await _export(app, getattr(books, role).email, NOVEMBER)
    assert answer.status_code == 403
    assert "coordinator or back-office" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 400, "Missing required query parameter"),
        ({"from": "2026-11-01"}, 400, "Missing required query parameter 'to'"),
        ({"from": "2026-11-31", "to": "2026-12-01"}, 400, "from"),
        ({"from": "1.11.2026", "to": "30.11.2026"}, 400, "from"),
        ({**NOVEMBER, "format": "ods"}, 400, "format"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, 422, "after it ends"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, 422, "too far"),
    ],
)
async def test_missing_or_bad_parameters_are_refused_with_a_message(
    app: Litestar, books: Books, params: dict[str, str], status: int, words: str
) -> None:
    answer = await _export(app, books.coordinator.email, params)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]


async def test_a_day_is_a_day_in_the_viewers_time_zone(app: Litestar, books: Books) -> None:
    await Employee.update({Employee.time_zone: "UTC"}).where(Employee.id == books.backoffice.id)
    try:
        answer = await _export(
            app, books.backoffice.email, {"from": "2026-10-31", "to": "2026-10-31", "format": "csv"}
        )
    finally:
        await Employee.update({Employee.time_zone: "Europe/Zurich"}).where(
            Employee.id == books.backoffice.id
        )
    _, *rows = _csv(answer.content)
    # 22:59 and 23:00 UTC on 31 October: both that day in UTC, shown in UTC.
    assert [(r[2], r[3]) for r in rows] == [
        ("before@x.example", "31.10.2026 22:59"),
        ("early@x.example", "31.10.2026 23:00"),
    ]
