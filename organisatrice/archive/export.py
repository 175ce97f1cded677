"""The billing export: the work reports sent in a period, one row each, as XLSX or CSV for Excel.

A row is a work report: the email and its resends (fix and resend, `resend_of`, a resend of a
resend too), so that an order is billed once however often its report had to go out again. It
belongs to the period in which the relay first accepted it, and only to that one: a report first
sent in October and resent in November is October's. The row shows it as it first went out
(order, client, author, the time in the viewer's time zone), the addresses that got any of its
sendings, and the outcome of its latest sending for the client: its To addresses' status (a cc
that bounced does not make a delivered report "not delivered"; an email without a To address is
judged by all its addresses).

An address counts (is billed) when the relay accepted the email for it: the recipient's status
is sent or later (sent, delayed, delivered, bounced, read), never queued, sending, deferred or
failed. When the client's address was accepted and the relay never took a cc, the client is
listed and the cc is not; an email none of whose addresses counts did not go out. The period is
the days from..to (both included) in the viewer's time zone, on the time the relay accepted the
email (`sent_at`).

Headers, outcomes, the file's name and the CSV's delimiter follow the viewer's language
(export.toml). A period without a sent work report is refused (`no_work_reports`) rather than
answered with an empty file.
"""

from __future__ import annotations

import csv
import functools
import io
from datetime import date, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import anyio.to_thread
import msgspec
import xlsxwriter
from piccolo.querystring import QueryString

from organisatrice.archive.listing import Scope, as_utc, names_of, period, run, scope_of
from organisatrice.core.codes import Code
from organisatrice.core.db import bound_list
from organisatrice.core.errors import NotFound
from organisatrice.core.structs import Out
from organisatrice.mail.outbox import overall_status
from organisatrice.mail.schemas import EmailStatus
from organisatrice.roles.policy import Actor

BILLED = (
    EmailStatus.SENT.value,
    EmailStatus.DELAYED.value,
    EmailStatus.DELIVERED.value,
    EmailStatus.BOUNCED.value,
    EmailStatus.READ.value,
)
# A cell that starts with one of these is a formula to Excel (CSV injection): it is shown as
# text by a leading apostrophe, as OWASP advises.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Wide enough for most names, narrow enough that a long list of addresses stays on screen.
_MAX_COLUMN_WIDTH = 60


class ExportFormat(StrEnum):
    XLSX = "xlsx"
    CSV = "csv"


MEDIA_TYPES = {
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ExportFormat.CSV: "text/csv",
}


class Columns(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The headers, in the file's column order."""

    order: str
    client: str
    recipients: str
    sent_at: str
    outcome: str
    author: str


class Words(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """One language's part of export.toml."""

    filename: str
    sheet: str
    delimiter: str
    date_time: str
    excel_date_time: str
    columns: Columns
    outcomes: dict[EmailStatus, str]


@functools.cache
def catalogue() -> dict[str, Words]:
    return msgspec.toml.decode(
        (Path(__file__).parent / "export.toml").read_bytes(), type=dict[str, Words]
    )


def words_for(locale: str) -> Words:
    """The words in the employee's language ("fr", "fr-CH"); German for any other."""
    words = catalogue()
    return words.get(locale[:2].lower(), words["de"])


class WorkReportRow(Out):
    email_id: int
    order_number: str
    client: str
    recipients: list[str]
    sent_at: datetime
    outcome: EmailStatus
    author: str


class BillingFile(Out):
    filename: str
    media_type: str
    data: bytes


# Each email with each of its recipients (an email without any has one row, without address:
# it may still link a resend to its first email), whether it was resent, and which email it
# resends. `resent_as` is read per email through the index on resend_of, as the listing reads it.
_SENDINGS_SQL = """
SELECT s.id, s.resend_of, s.order_number, s.client AS client_id, s.author AS author_id,
  s.sent_at, s.status AS outcome,
  (SELECT max(c.id) FROM sent_email c WHERE c.resend_of = s.id) AS resent_as, r.email,
  r.field, r.status AS recipient_status
FROM sent_email s LEFT JOIN email_recipient r ON r.sent_email = s.id
WHERE {}
ORDER BY s.id, r.id
"""


def _sendings_query(where: list[QueryString]) -> QueryString:
    return QueryString(_SENDINGS_SQL, QueryString(" AND ".join("{}" for _ in where), *where))


def billing_query(scope: Scope, start: datetime, end: datetime) -> QueryString:
    """The work reports sent in [start, end). `kind = 'work_report'` is written out, not
    bound, so that the partial index on work reports by send time serves it."""
    where = [
        QueryString("s.company = {}", scope.company_id),
        QueryString("s.kind = 'work_report'"),
        QueryString("s.sent_at >= {}", start),
        QueryString("s.sent_at < {}", end),
    ]
    if scope.visible_orders is not None:
        where.append(QueryString('s."order" IN ({})', scope.visible_orders))
    return _sendings_query(where)


def chain_query(company_id: int, ids: set[int], resent: set[int]) -> QueryString:
    """The emails `ids` and the resends of the emails `resent`, by their indexes."""
    found = []
    if ids:
        found.append(QueryString("s.id IN ({})", bound_list(sorted(ids))))
    if resent:
        found.append(QueryString("s.resend_of IN ({})", bound_list(sorted(resent))))
    return _sendings_query(
        [
            QueryString("s.company = {}", company_id),
            QueryString(f"({' OR '.join('{}' for _ in found)})", *found),
        ]
    )


class Sending(msgspec.Struct, kw_only=True):
    """One email of a work report, with the addresses it counts for."""

    id: int
    resend_of: int | None
    order_number: str
    client_id: int
    author_id: int | None
    sent_at: datetime | None
    outcome: EmailStatus
    resent: bool
    recipients: list[str]
    # The statuses of its To addresses: the client's outcome.
    to_statuses: list[str]


def _by_email(rows: list[dict[str, Any]]) -> dict[int, Sending]:
    sendings: dict[int, Sending] = {}
    for r in rows:
        sending = sendings.get(r["id"])
        if sending is None:
            sending = sendings[r["id"]] = Sending(
                id=r["id"],
                resend_of=r["resend_of"],
                order_number=r["order_number"],
                client_id=r["client_id"],
                author_id=r["author_id"],
                sent_at=as_utc(r["sent_at"]) if r["sent_at"] is not None else None,
                outcome=EmailStatus(r["outcome"]),
                resent=r["resent_as"] is not None,
                recipients=[],
                to_statuses=[],
            )
        if r["email"] is None:
            continue
        if r["recipient_status"] in BILLED:
            sending.recipients.append(r["email"])
        if r["field"] == "to":
            sending.to_statuses.append(r["recipient_status"])
    for sending in sendings.values():
        if sending.to_statuses:
            sending.outcome = overall_status(sending.to_statuses)
    return sendings


async def _complete_chains(company_id: int, sendings: dict[int, Sending]) -> None:
    """Add the other emails of the work reports that were resent: the emails they resend, up
    to the first, and all their resends, in the period or not. Few emails, read by id."""
    asked: set[int] = set()
    explored: set[int] = set()
    while True:
        ids = {s.resend_of for s in sendings.values() if s.resend_of} - sendings.keys() - asked
        resent = {s.id for s in sendings.values() if s.resent} - explored
        if not ids and not resent:
            return
        asked |= ids
        explored |= resent
        sendings.update(_by_email(await run(chain_query(company_id, ids, resent))))


class WorkReport(msgspec.Struct, kw_only=True):
    """The emails of one work report that went out, in sending order."""

    first_sent: datetime
    sendings: list[Sending]


def work_reports(sendings: dict[int, Sending]) -> list[WorkReport]:
    """The emails that went out, by work report (the first email of their chain); the reports
    in the order they first went out."""

    def first(sending: Sending) -> int:
        while sending.resend_of in sendings:
            sending = sendings[sending.resend_of]
        return sending.id

    went_out = [(s.sent_at, s) for s in sendings.values() if s.sent_at is not None and s.recipients]
    reports: dict[int, WorkReport] = {}
    for sent_at, sending in sorted(went_out, key=lambda t: (t[0], t[1].id)):
        report = reports.setdefault(first(sending), WorkReport(first_sent=sent_at, sendings=[]))
        report.sendings.append(sending)
    return list(reports.values())


async def billed_work_reports(actor: Actor, sent_from: date, sent_to: date) -> list[WorkReportRow]:
    start, end = period(sent_from, sent_to, actor.time_zone)
    assert start is not None and end is not None
    scope = scope_of(actor)
    sendings = _by_email(await run(billing_query(scope, start, end)))
    await _complete_chains(scope.company_id, sendings)
    # A report first sent before the period was billed then; one whose sendings in the period
    # reached nobody goes out for the first time later, if at all.
    reports = [r for r in work_reports(sendings) if start <= r.first_sent < end]
    firsts = [r.sendings[0] for r in reports]
    clients, authors = await names_of(
        {s.client_id for s in firsts}, {s.author_id for s in firsts if s.author_id}
    )
    zone = ZoneInfo(actor.time_zone)
    return [
        WorkReportRow(
            email_id=first.id,
            order_number=first.order_number,
            client=clients.get(first.client_id, ""),
            recipients=list(dict.fromkeys(a for s in report.sendings for a in s.recipients)),
            sent_at=report.first_sent.astimezone(zone),
            outcome=report.sendings[-1].outcome,
            author=authors.get(first.author_id, "") if first.author_id else "",
        )
        for report, first in zip(reports, firsts, strict=True)
    ]


def as_text(value: str) -> str:
    """The cell as Excel shows it, never as a formula it runs."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def header(words: Words) -> tuple[str, ...]:
    return msgspec.structs.astuple(words.columns)


def cells(row: WorkReportRow, words: Words) -> tuple[str | datetime, ...]:
    """The row in the columns' order: texts guarded against formulas, and the local time
    without its zone (Excel has none)."""
    return (
        as_text(row.order_number),
        as_text(row.client),
        as_text(", ".join(row.recipients)),
        row.sent_at.replace(tzinfo=None),
        words.outcomes[row.outcome],
        as_text(row.author),
    )


def to_csv(rows: list[WorkReportRow], words: Words) -> bytes:
    """CSV as Excel reads it in the viewer's language: its delimiter, quotes doubled, CRLF, in
    UTF-8 with a byte order mark, which is how Excel recognises UTF-8 and shows umlauts
    right."""
    out = io.StringIO()
    writer = csv.writer(out, dialect="excel", delimiter=words.delimiter)
    writer.writerow(header(words))
    for row in rows:
        writer.writerow(
            value.strftime(words.date_time) if isinstance(value, datetime) else value
            for value in cells(row, words)
        )
    return out.getvalue().encode("utf-8-sig")


def to_xlsx(rows: list[WorkReportRow], words: Words) -> bytes:
    """One sheet: bold headers that stay in view and filter, texts as texts, the time as a
    time Excel can sort and count."""
    out = io.BytesIO()
    # Whatever a cell holds, it stays the text it is: write_string already never makes a
    # formula or a link, these keep it so should anyone write with write().
    workbook = xlsxwriter.Workbook(
        out, {"in_memory": True, "strings_to_formulas": False, "strings_to_urls": False}
    )
    sheet = workbook.add_worksheet(words.sheet)
    bold = workbook.add_format({"bold": True})
    timed = workbook.add_format({"num_format": words.excel_date_time})
    titles = header(words)
    widths = [len(title) for title in titles]
    for column, title in enumerate(titles):
        sheet.write_string(0, column, title, bold)
    for line, row in enumerate(rows, start=1):
        for column, value in enumerate(cells(row, words)):
            if isinstance(value, datetime):
                sheet.write_datetime(line, column, value, timed)
                text = value.strftime(words.date_time)
            else:
                sheet.write_string(line, column, value)
                text = value
            widths[column] = max(widths[column], len(text))
    for column, width in enumerate(widths):
        sheet.set_column(column, column, min(width + 2, _MAX_COLUMN_WIDTH))
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, len(rows), len(titles) - 1)
    workbook.close()
    return out.getvalue()


_BUILDERS = {ExportFormat.XLSX: to_xlsx, ExportFormat.CSV: to_csv}


async def billing_export(
    actor: Actor, sent_from: date, sent_to: date, file_format: ExportFormat
) -> BillingFile:
    rows = await billed_work_reports(actor, sent_from, sent_to)
    if not rows:
        raise NotFound(
            f"No work report was sent from {sent_from.isoformat()} to {sent_to.isoformat()}; "
            "choose another period.",
            code=Code.NO_WORK_REPORTS,
            params={"from": sent_from.isoformat(), "to": sent_to.isoformat()},
        )
    words = words_for(actor.locale)
    # A month of a busy company is thousands of rows: built beside the event loop.
    data = await anyio.to_thread.run_sync(_BUILDERS[file_format], rows, words)
    name = words.filename.format(**{"from": sent_from.isoformat(), "to": sent_to.isoformat()})
    return BillingFile(
        filename=f"{name}.{file_format.value}", media_type=MEDIA_TYPES[file_format], data=data
    )
