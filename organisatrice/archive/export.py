"""The billing export: the work reports sent in a period, one CSV row per recipient who got one.

A work report counts when the relay accepted it for that recipient: the recipient's status is
sent or later (sent, delivered, bounced, read), never queued, sending, deferred or failed. The
rule is per recipient, as the rows are: when the client's address was accepted and a cc was
refused, the client's row is billed and the refused address is not listed. The period is the
days from..to (both included) in the viewer's time zone, on the time the relay accepted the
email (`sent_at`), which is the time the file shows.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

from piccolo.querystring import QueryString

from organisatrice.archive.listing import Scope, as_utc, names_of, period, run, scope_of
from organisatrice.core.structs import Out
from organisatrice.mail.schemas import EmailStatus
from organisatrice.roles.policy import Actor

BILLED = (
    EmailStatus.SENT.value,
    EmailStatus.DELAYED.value,
    EmailStatus.DELIVERED.value,
    EmailStatus.BOUNCED.value,
    EmailStatus.READ.value,
)
HEADER = ("Order", "Client", "Recipient", "Sent at", "Status", "Author")
# A cell that starts with one of these is a formula to Excel (CSV injection): it is shown as
# text by a leading apostrophe, as OWASP advises.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class BillingRow(Out):
    email_id: int
    order_number: str
    client: str
    recipient: str
    sent_at: datetime
    status: EmailStatus
    author: str


class BillingFile(Out):
    filename: str
    data: bytes


def billing_query(scope: Scope, start: datetime, end: datetime) -> QueryString:
    """The recipients who got a work report in [start, end). `kind = 'work_report'` is written
    out, not bound, so that the partial index on work reports by send time serves it."""
    where = [
        QueryString("s.company = {}", scope.company_id),
        QueryString("s.kind = 'work_report'"),
        QueryString("s.sent_at >= {}", start),
        QueryString("s.sent_at < {}", end),
    ]
    if scope.visible_orders is not None:
        where.append(QueryString('s."order" IN ({})', scope.visible_orders))
    return QueryString(
        "SELECT s.id, s.order_number, s.client AS client_id, s.author AS author_id, s.sent_at, "
        "r.email, r.status FROM sent_email s JOIN email_recipient r ON r.sent_email = s.id "
        "WHERE {} AND r.status IN ({}) ORDER BY s.sent_at, s.id, r.id",
        QueryString(" AND ".join("{}" for _ in where), *where),
        QueryString(", ".join("{}" for _ in BILLED), *BILLED),
    )


async def billed_work_reports(actor: Actor, sent_from: date, sent_to: date) -> list[BillingRow]:
    start, end = period(sent_from, sent_to, actor.time_zone)
    assert start is not None and end is not None
    rows = await run(billing_query(scope_of(actor), start, end))
    clients, authors = await names_of(
        {r["client_id"] for r in rows}, {r["author_id"] for r in rows if r["author_id"]}
    )
    zone = ZoneInfo(actor.time_zone)
    return [
        BillingRow(
            email_id=r["id"],
            order_number=r["order_number"],
            client=clients.get(r["client_id"], ""),
            recipient=r["email"],
            sent_at=as_utc(r["sent_at"]).astimezone(zone),
            status=EmailStatus(r["status"]),
            author=authors.get(r["author_id"], "") if r["author_id"] else "",
        )
        for r in rows
    ]


def as_text(value: str) -> str:
    """The cell as Excel shows it, never as a formula it runs."""
    return f"'{value}" if value.startswith(_FORMULA_START) else value


def to_csv(rows: list[BillingRow]) -> bytes:
    """RFC 4180 CSV (commas, quotes doubled, CRLF) in UTF-8 with a byte order mark, which is
    how Excel recognises UTF-8 and shows umlauts right."""
    out = io.StringIO()
    writer = csv.writer(out, dialect="excel")
    writer.writerow(HEADER)
    for row in rows:
        writer.writerow(
            (
                as_text(row.order_number),
                as_text(row.client),
                as_text(row.recipient),
                row.sent_at.isoformat(timespec="seconds"),
                row.status.value,
                as_text(row.author),
            )
        )
    return out.getvalue().encode("utf-8-sig")


async def billing_export(actor: Actor, sent_from: date, sent_to: date) -> BillingFile:
    rows = await billed_work_reports(actor, sent_from, sent_to)
    return BillingFile(
        filename=f"work-reports {sent_from.isoformat()} to {sent_to.isoformat()}.csv",
        data=to_csv(rows),
    )
