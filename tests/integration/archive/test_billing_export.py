"""The billing export: the CSV of a period's sent work reports, read back as Excel would, is the
archive: one row per recipient who got one, names with commas, quotes and umlauts intact."""

from __future__ import annotations

import codecs
import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest
from litestar import Litestar

from organisatrice.mail.tables import EmailRecipient, SentEmail
from organisatrice.orders.tables import Client
from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Employee
from tests.client import ApiClient
from tests.factories import MadeEmployee, make_client, make_company, make_employee, make_order
from tests.integration.archive.listing_helpers import archived, mark

ZURICH = ZoneInfo("Europe/Zurich")
PERIOD = {"from": "2026-11-01", "to": "2026-11-30"}
HEADER = ["Order", "Client", "Recipient", "Sent at", "Status", "Author"]
BILLED = {"sent", "delivered", "bounced", "read"}


def _utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


class Books(msgspec.Struct):
    company: int
    coordinator: MadeEmployee
    backoffice: MadeEmployee
    dispatcher: MadeEmployee
    technician: MadeEmployee
    emails: dict[str, int]


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
        company, client_id=await make_client(company, "Müller, Söhne & Co."), number="2026-0101"
    )
    quotes = await make_order(
        company, client_id=await make_client(company, 'Bäckerei "Zum Beck"'), number="2026-0102"
    )
    formula = await make_order(
        company,
        client_id=await make_client(company, '=HYPERLINK("http://x.example")'),
        number="2026-0103",
    )
    e: dict[str, int] = {}
    # Two recipients, both accepted: two rows.
    e["both"] = await archived(
        company,
        comma,
        juerg.id,
        at=_utc(3, 8),
        to=["anna.meier@mueller.example"],
        cc=["buchhaltung@mueller.example"],
    )
    await mark(e["both"], "sent", sent_at=_utc(3, 8, 1))
    e["delivered"] = await archived(
        company, quotes, zoe.id, at=_utc(4, 9), to=["beck@beck.example"]
    )
    await mark(e["delivered"], "delivered", sent_at=_utc(4, 9, 2))
    # One bounced, one read: both were sent, both are billed, each with its own status.
    e["mixed"] = await archived(
        company, comma, zoe.id, at=_utc(5, 10), to=["alt@mueller.example", "chef@mueller.example"]
    )
    await mark(
        e["mixed"],
        "bounced",
        sent_at=_utc(5, 10, 1),
        recipients={"alt@mueller.example": "bounced", "chef@mueller.example": "read"},
    )
    # The client got it, the cc was refused: the client's row only.
    e["cc_refused"] = await archived(
        company,
        quotes,
        juerg.id,
        at=_utc(6, 11),
        to=["beck@beck.example"],
        cc=["tippfehler@beck.example"],
    )
    await mark(
        e["cc_refused"],
        "failed",
        sent_at=_utc(6, 11, 1),
        recipients={"beck@beck.example": "sent", "tippfehler@beck.example": "failed"},
    )
    # Not sent (yet): nothing to bill.
    e["queued"] = await archived(company, comma, juerg.id, at=_utc(7, 12), to=["q@mueller.example"])
    e["deferred"] = await archived(
        company, comma, juerg.id, at=_utc(7, 13), to=["d@mueller.example"]
    )
    await mark(e["deferred"], "deferred")
    e["failed"] = await archived(company, comma, juerg.id, at=_utc(7, 14), to=["f@mueller.example"])
    await mark(e["failed"], "failed")
    # Not a work report.
    e["offer"] = await archived(
        company, comma, juerg.id, at=_utc(8, 8), kind="offer", to=["anna.meier@mueller.example"]
    )
    await mark(e["offer"], "sent", sent_at=_utc(8, 8, 1))
    # The edges of the period, in Zurich time (UTC+1 in November, UTC+2 until 25 October).
    e["first_minute"] = await archived(
        company, formula, zoe.id, at=_utc(31, 22, 59, month=10), to=["early@x.example"]
    )
    await mark(e["first_minute"], "sent", sent_at=_utc(31, 23, 0, month=10))
    e["before"] = await archived(
        company, comma, zoe.id, at=_utc(31, 22, 58, month=10), to=["before@x.example"]
    )
    await mark(e["before"], "sent", sent_at=_utc(31, 22, 59, month=10))
    e["last_minute"] = await archived(
        company, comma, zoe.id, at=_utc(30, 22), to=["late@x.example"]
    )
    await mark(e["last_minute"], "sent", sent_at=_utc(30, 22, 59))
    e["after"] = await archived(company, comma, zoe.id, at=_utc(30, 22, 30), to=["after@x.example"])
    await mark(e["after"], "sent", sent_at=_utc(30, 23, 0))
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
        emails=e,
    )


def _read(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8), "Excel needs the byte order mark to read UTF-8"
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))


async def _export(app: Litestar, email: str, params: dict[str, str]) -> Any:
    async with ApiClient.signed_in(app, email) as client:
        return await client.get("/api/archive/billing.csv", params=params)


async def _archive_rows(company: int) -> list[list[str]]:
    """What the archive holds for November (Zurich), worked out from the tables directly."""
    start = datetime(2026, 11, 1, tzinfo=ZURICH)
    end = datetime(2026, 12, 1, tzinfo=ZURICH)
    emails = await SentEmail.select().where(SentEmail.company == company).order_by(SentEmail.id)
    clients = {r["id"]: r["name"] for r in await Client.select(Client.id, Client.name)}
    authors = {
        r["id"]: f"{r['first_name']} {r['last_name']}"
        for r in await Employee.select(Employee.id, Employee.first_name, Employee.last_name)
    }
    rows = []
    for e in emails:
        if e["kind"] != "work_report" or e["sent_at"] is None:
            continue
        if not start <= e["sent_at"] < end:
            continue
        recipients = (
            await EmailRecipient.select()
            .where(EmailRecipient.sent_email == e["id"])
            .order_by(EmailRecipient.id)
        )
        for r in recipients:
            if r["status"] in BILLED:
                client = clients[e["client"]]
                rows.append(
                    (
                        e["sent_at"],
                        e["id"],
                        [
                            e["order_number"],
                            f"'{client}" if client.startswith("=") else client,
                            r["email"],
                            e["sent_at"].astimezone(ZURICH).isoformat(timespec="seconds"),
                            r["status"],
                            authors[e["author"]],
                        ],
                    )
                )
    return [row for _, _, row in sorted(rows, key=lambda t: (t[0], t[1]))]


async def test_the_csv_of_a_period_is_the_archive_read_back(app: Litestar, books: Books) -> None:
    answer = await _export(app, books.coordinator.email, PERIOD)
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert (
        "work-reports%202026-11-01%20to%202026-11-30.csv" in answer.headers["content-disposition"]
    )
    header, *rows = _read(answer.content)
    assert header == HEADER
    assert rows == await _archive_rows(books.company)
    assert rows == [
        [
            "2026-0103",
            '\'=HYPERLINK("http://x.example")',
            "early@x.example",
            "2026-11-01T00:00:00+01:00",
            "sent",
            'Zoë "Zo" Brändli',
        ],
        [
            "2026-0101",
            "Müller, Söhne & Co.",
            "anna.meier@mueller.example",
            "2026-11-03T09:01:00+01:00",
            "sent",
            "Jürg Nägeli, jun.",
        ],
        [
            "2026-0101",
            "Müller, Söhne & Co.",
            "buchhaltung@mueller.example",
            "2026-11-03T09:01:00+01:00",
            "sent",
            "Jürg Nägeli, jun.",
        ],
        [
            "2026-0102",
            'Bäckerei "Zum Beck"',
            "beck@beck.example",
            "2026-11-04T10:02:00+01:00",
            "delivered",
            'Zoë "Zo" Brändli',
        ],
        [
            "2026-0101",
            "Müller, Söhne & Co.",
            "alt@mueller.example",
            "2026-11-05T11:01:00+01:00",
            "bounced",
            'Zoë "Zo" Brändli',
        ],
        [
            "2026-0101",
            "Müller, Söhne & Co.",
            "chef@mueller.example",
            "2026-11-05T11:01:00+01:00",
            "read",
            'Zoë "Zo" Brändli',
        ],
        [
            "2026-0102",
            'Bäckerei "Zum Beck"',
            "beck@beck.example",
            "2026-11-06T12:01:00+01:00",
            "sent",
            "Jürg Nägeli, jun.",
        ],
        [
            "2026-0101",
            "Müller, Söhne & Co.",
            "late@x.example",
            "2026-11-30T23:59:00+01:00",
            "sent",
            'Zoë "Zo" Brändli',
        ],
    ]


async def test_the_file_is_quoted_for_excel(app: Litestar, books: Books) -> None:
    answer = await _export(app, books.backoffice.email, {"from": "2026-11-03", "to": "2026-11-04"})
    assert answer.status_code == 200, answer.text
    text = answer.content.decode("utf-8-sig")
    assert text.split("\r\n")[:3] == [
        "Order,Client,Recipient,Sent at,Status,Author",
        '2026-0101,"Müller, Söhne & Co.",anna.meier@mueller.example,2026-11-03T09:01:00+01:00,'
        'sent,"Jürg Nägeli, jun."',
        '2026-0101,"Müller, Söhne & Co.",buchhaltung@mueller.example,2026-11-03T09:01:00+01:00,'
        'sent,"Jürg Nägeli, jun."',
    ]
    assert '"Bäckerei ""Zum Beck"""' in text


async def test_a_period_without_work_reports_gives_the_header_only(
    app: Litestar, books: Books
) -> None:
    answer = await _export(app, books.coordinator.email, {"from": "2026-09-01", "to": "2026-09-30"})
    assert answer.status_code == 200
    assert _read(answer.content) == [HEADER]


@pytest.mark.parametrize("role", ["dispatcher", "technician"])
async def test_only_coordinators_and_back_office_may_export(
    app: Litestar, books: Books, role: str
) -> None:
    answer = await _export(app, getattr(books, role).email, PERIOD)
    assert answer.status_code == 403
    assert "coordinator or back-office" in answer.json()["detail"]


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({}, 400, "Missing required query parameter"),
        ({"from": "2026-11-01"}, 400, "Missing required query parameter 'to'"),
        ({"from": "2026-11-31", "to": "2026-12-01"}, 400, "from"),
        ({"from": "1.11.2026", "to": "30.11.2026"}, 400, "from"),
        ({"from": "2026-11-30", "to": "2026-11-01"}, 422, "after it ends"),
        ({"from": "9999-12-31", "to": "9999-12-31"}, 422, "too far"),
    ],
)
async def test_missing_or_bad_dates_are_refused_with_a_message(
    app: Litestar, books: Books, params: dict[str, str], status: int, words: str
) -> None:
    answer = await _export(app, books.coordinator.email, params)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]


async def test_a_day_is_a_day_in_the_viewers_time_zone(app: Litestar, books: Books) -> None:
    await Employee.update({Employee.time_zone: "UTC"}).where(Employee.id == books.backoffice.id)
    try:
        answer = await _export(
            app, books.backoffice.email, {"from": "2026-10-31", "to": "2026-10-31"}
        )
    finally:
        await Employee.update({Employee.time_zone: "Europe/Zurich"}).where(
            Employee.id == books.backoffice.id
        )
    _, *rows = _read(answer.content)
    # 22:59 and 23:00 UTC on 31 October: both that day in UTC, shown in UTC.
    assert [(r[2], r[3]) for r in rows] == [
        ("before@x.example", "2026-10-31T22:59:00+00:00"),
        ("early@x.example", "2026-10-31T23:00:00+00:00"),
    ]
    assert timedelta(0) == datetime.fromisoformat(rows[0][3]).utcoffset()
