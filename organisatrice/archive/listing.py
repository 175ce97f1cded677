"""The archive across orders: every sent email the employee may see, in one table, filtered and
sorted, a page at a time.

Pages are cut by keyset, not by offset: a page's cursor names the last row shown (its send time
and id, and its order number when sorted by it) and the next page starts strictly after it. A
row's key never changes, so emails that arrive while someone pages neither push rows onto the
next page nor repeat them; newest first, they simply are not on the later pages. Each filter has
an index that returns its rows already in page order (see the archive's index migration), so a
page reads about `limit` rows whether the archive holds a thousand emails or millions, and no
total is counted.

`listing_query` builds the SQL and its parameters, `page_query` chooses among its shapes; the
listing runs exactly that, and the query plan tests explain exactly that.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from contextlib import nullcontext
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from time import monotonic
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

import msgspec
from piccolo.querystring import QueryString

from organisatrice.archive.entries import ATTENTION
from organisatrice.core.codes import Code
from organisatrice.core.db import engine, is_sqlite
from organisatrice.core.errors import Invalid
from organisatrice.core.reads import long_reads
from organisatrice.core.structs import MAX_ID, Out
from organisatrice.mail.schemas import EmailStatus
from organisatrice.orders.services import visible_orders
from organisatrice.orders.tables import Client, Order
from organisatrice.roles.policy import Actor, sees_all_orders
from organisatrice.roles.tables import Employee

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
# A trigram index finds substrings of three characters or more; shorter ones would read the
# whole archive, and would match most of it anyway.
MIN_RECIPIENT_SEARCH = 3
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ArchiveKind(StrEnum):
    """What an archived email carried (the template's kind; `proof` is a test send to oneself)."""

    WORK_REPORT = "work_report"
    PHOTO_DOCUMENTATION = "photo_documentation"
    OFFER = "offer"
    GENERAL = "general"
    REPLY = "reply"
    PROOF = "proof"


class ArchiveSort(StrEnum):
    NEWEST = "newest"
    OLDEST = "oldest"
    ORDER_NUMBER = "order_number"
    ORDER_NUMBER_DESC = "order_number_desc"


class ArchiveFilters(msgspec.Struct, frozen=True, kw_only=True):
    """What the listing is narrowed to; every field left at None does not narrow. Dates are
    calendar days in the viewer's time zone, both included; they apply to when the email was
    sent from the app (queued), which is also the sort date."""

    sent_from: date | None = None
    sent_to: date | None = None
    client_id: int | None = None
    kind: ArchiveKind | None = None
    order_number: str | None = None
    order_number_prefix: str | None = None
    status: EmailStatus | None = None
    recipient: str | None = None
    author_id: int | None = None
    # Only emails a client answered in person and nobody has taken care of yet.
    unanswered_reply: bool = False


class ArchiveRow(Out):
    """One row of the table; built from the page's statement column by column (see _COLUMNS)."""

    id: int
    order_id: int
    order_number: str
    client_id: int
    client_name: str
    kind: str
    subject: str
    status: EmailStatus
    recipients: list[str]
    author_id: int | None
    author_name: str
    queued_at: datetime
    sent_at: datetime | None
    attachment_count: int
    # This email resends that one (fix and resend) / was itself resent as that one, the newest.
    resend_of: int | None
    resent_as: int | None
    needs_attention: bool


class ArchivePage(Out):
    """One page, and the cursor of the next (None on the last page)."""

    items: list[ArchiveRow]
    next_cursor: str | None


class Scope(msgspec.Struct, frozen=True, kw_only=True):
    """Whose archive: the company, and for employees who do not see every order (technicians)
    the query of the orders they see, from the orders room's rule."""

    company_id: int
    time_zone: str
    visible_orders: QueryString | None = None


def scope_of(actor: Actor) -> Scope:
    visible = None
    if not sees_all_orders(actor):
        visible = Order.select(Order.id).where(visible_orders(actor)).querystrings[0]
    return Scope(company_id=actor.company_id, time_zone=actor.time_zone, visible_orders=visible)


class _Cursor(msgspec.Struct, frozen=True, array_like=True):
    search: str
    queued_at: int  # microseconds since the epoch, UTC
    id: int
    order_number: str = ""


class Position(msgspec.Struct, frozen=True, kw_only=True):
    """Where a page starts: strictly after this row, in the page's sort order."""

    queued_at: datetime
    id: int
    order_number: str = ""


def _fingerprint(filters: ArchiveFilters, sort: ArchiveSort) -> str:
    """Names the search a cursor belongs to, so a cursor is never applied to another one."""
    return hashlib.sha256(msgspec.json.encode([sort, filters])).hexdigest()[:12]


def encode_cursor(filters: ArchiveFilters, sort: ArchiveSort, last: Position) -> str:
    micros = (last.queued_at - _EPOCH) // timedelta(microseconds=1)
    raw = msgspec.json.encode(
        _Cursor(_fingerprint(filters, sort), micros, last.id, last.order_number)
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_BAD_CURSOR = "The cursor is not one this archive handed out; start again from the first page."


def decode_cursor(cursor: str, filters: ArchiveFilters, sort: ArchiveSort) -> Position:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        decoded = msgspec.json.decode(raw, type=_Cursor)
        queued_at = _EPOCH + timedelta(microseconds=decoded.queued_at)
    except (binascii.Error, ValueError, msgspec.DecodeError, OverflowError):
        raise Invalid(_BAD_CURSOR, code=Code.CURSOR_INVALID, field="cursor") from None
    if not 1 <= decoded.id <= MAX_ID or not queued_at.year < 9999:
        raise Invalid(_BAD_CURSOR, code=Code.CURSOR_INVALID, field="cursor")
    if decoded.search != _fingerprint(filters, sort):
        raise Invalid(
            "This cursor belongs to another search (other filters or sort); "
            "start again from the first page.",
            code=Code.CURSOR_OF_OTHER_SEARCH,
            field="cursor",
        )
    return Position(queued_at=queued_at, id=decoded.id, order_number=decoded.order_number)


def _day_start(day: date, time_zone: str, field: str) -> datetime:
    try:
        return datetime.combine(day, time.min, tzinfo=ZoneInfo(time_zone)).astimezone(UTC)
    except (OverflowError, ValueError):
        raise Invalid(
            f"{day.isoformat()} is too far in the past or future.",
            code=Code.DATE_OUT_OF_RANGE,
            params={"date": day.isoformat()},
            field=field,
        ) from None


def period(
    sent_from: date | None, sent_to: date | None, time_zone: str
) -> tuple[datetime | None, datetime | None]:
    """The days from..to (both included, in `time_zone`) as instants: [start, end)."""
    if sent_from is not None and sent_to is not None and sent_from > sent_to:
        raise Invalid(
            f"The period starts ({sent_from.isoformat()}) after it ends "
            f"({sent_to.isoformat()}); swap the dates.",
            code=Code.PERIOD_REVERSED,
            params={"from": sent_from.isoformat(), "to": sent_to.isoformat()},
            field="from",
        )
    start = _day_start(sent_from, time_zone, "from") if sent_from is not None else None
    end = None
    if sent_to is not None:
        if sent_to == date.max:
            raise Invalid(
                f"{sent_to.isoformat()} is too far in the future.",
                code=Code.DATE_OUT_OF_RANGE,
                params={"date": sent_to.isoformat()},
                field="to",
            )
        end = _day_start(sent_to + timedelta(days=1), time_zone, "to")
    return start, end


def _no_nul(value: str, field: str) -> None:
    if "\x00" in value:
        raise Invalid(
            "The text contains a NUL character, which no address or number has.",
            code=Code.NUL_CHARACTER,
            field=field,
        )


def check_filters(filters: ArchiveFilters) -> ArchiveFilters:
    """Refuse what cannot be searched; answers the filters normalised (recipient in lower case,
    trimmed), which is what the cursor fingerprints."""
    for field in ("order_number", "order_number_prefix", "recipient"):
        value = getattr(filters, field)
        if value is not None:
            _no_nul(value, field)
    recipient = filters.recipient
    if recipient is not None:
        recipient = recipient.strip().lower()
        if len(recipient) < MIN_RECIPIENT_SEARCH:
            raise Invalid(
                f"Type at least {MIN_RECIPIENT_SEARCH} characters of the recipient's address.",
                code=Code.SEARCH_TOO_SHORT,
                params={"min": MIN_RECIPIENT_SEARCH},
                field="recipient",
            )
    return msgspec.structs.replace(filters, recipient=recipient)


_LIKE_SPECIAL = re.compile(r"([\\%_])")
# The statement's columns are ArchiveRow's fields, in their order: a page's rows become Structs
# positionally, in C (from dicts, field by field, was most of a page's Python). The stored
# recipient text stands in the recipients' place and is split after; needs_attention, the last
# field, follows from the status.
_COLUMNS = {
    "id": "p.id",
    "order_id": 'p."order"',
    "order_number": "p.order_number",
    "client_id": "p.client",
    "client_name": "c.name",
    "kind": "p.kind",
    "subject": "p.subject",
    "status": "p.status",
    "recipients": "p.recipient_list",
    "author_id": "p.author",
    "author_name": "coalesce(trim(e.first_name || ' ' || e.last_name), '')",
    "queued_at": "p.queued_at",
    "sent_at": "p.sent_at",
    "attachment_count": "coalesce(json_array_length(nullif(p.attachments, ''){json}), 0)",
    "resend_of": "p.resend_of",
    "resent_as": "(SELECT max(r.id) FROM sent_email r WHERE r.resend_of = p.id)",
}
# In the Struct's order (a field without a column fails here, at import).
_COLUMN_LIST = ", ".join(f"{_COLUMNS[f]} AS {f}" for f in ArchiveRow.__struct_fields__[:-1])
# The page is cut from sent_email alone, through its index; only its rows are joined to their
# client's and author's names, in the same statement (one round trip per page).
_SELECT = (
    "SELECT {columns} "
    'FROM (SELECT s.id, s."order", s.order_number, s.client, s.author, s.kind, s.subject, '
    "s.status, s.recipient_list, s.queued_at, s.sent_at, s.attachments, s.resend_of "
    "FROM sent_email s WHERE {where} ORDER BY {order} LIMIT {limit:d}) p "
    "JOIN client c ON c.id = p.client LEFT JOIN employee e ON e.id = p.author ORDER BY {outer}"
)


def _prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string that starts with `prefix` (code point
    order, which is UTF-8 byte order), or None when there is none."""
    while prefix:
        last = ord(prefix[-1]) + 1
        if 0xD800 <= last <= 0xDFFF:
            last = 0xE000
        if last <= 0x10FFFF:
            return prefix[:-1] + chr(last)
        prefix = prefix[:-1]
    return None


def listing_query(
    scope: Scope,
    filters: ArchiveFilters,
    *,
    sort: ArchiveSort = ArchiveSort.NEWEST,
    after: Position | None = None,
    limit: int = DEFAULT_LIMIT,
    sqlite: bool | None = None,
    few_matches: bool = False,
) -> QueryString:
    """The SQL of one page and its parameters. Every value is a bound parameter; only the shape
    (which conditions, which order) varies, and each shape is one an index serves."""
    sqlite = is_sqlite() if sqlite is None else sqlite
    # "C": byte order, so that a prefix is a range of the index whatever the database's locale.
    number = "s.order_number" if sqlite else 's.order_number COLLATE "C"'
    # SQLite would walk the company's date index and test each row against the trigram
    # table's matches; when these are few (see `few_recipient_matches`), starting from them is
    # 20 times faster. A unary + keeps the planner off the company's indexes.
    company = "+s.company" if sqlite and filters.recipient and few_matches else "s.company"
    # One flat statement (conditions with `{}` for their values): Piccolo compiles nested
    # QueryStrings one level at a time, which cost more than the rest of the page's Python.
    where: list[str] = [f"{company} = {{}}"]
    args: list[Any] = [scope.company_id]

    def condition(sql: str, *values: Any) -> None:
        where.append(sql)
        args.extend(values)

    if scope.visible_orders is not None:
        condition('s."order" IN ({})', scope.visible_orders)
    start, end = period(filters.sent_from, filters.sent_to, scope.time_zone)
    if start is not None:
        condition("s.queued_at >= {}", start)
    if end is not None:
        condition("s.queued_at < {}", end)
    for column, value in (
        ("s.client", filters.client_id),
        ("s.author", filters.author_id),
        ("s.kind", filters.kind.value if filters.kind else None),
        ("s.status", filters.status.value if filters.status else None),
        (number, filters.order_number),
    ):
        if value is not None:
            condition(f"{column} = {{}}", value)
    if filters.unanswered_reply:
        # Few at any time (they leave once handled): the company's waiting replies first.
        condition(
            "s.id IN (SELECT r.sent_email FROM client_reply r WHERE r.company = {} "
            "AND NOT r.automatic AND r.handled_at IS NULL)",
            scope.company_id,
        )
    if filters.order_number_prefix:
        condition(f"{number} >= {{}}", filters.order_number_prefix)
        end_of_prefix = _prefix_end(filters.order_number_prefix)
        if end_of_prefix is not None:
            condition(f"{number} < {{}}", end_of_prefix)
    if filters.recipient:
        if sqlite:
            # The FTS5 trigram table: a quoted phrase is a substring match, case-insensitive.
            condition(
                "s.id IN (SELECT rowid FROM sent_email_recipients "
                "WHERE sent_email_recipients MATCH {})",
                _phrase(filters.recipient),
            )
        else:
            # recipient_list is lower case; the GIN trigram index serves LIKE '%…%'.
            literal = _LIKE_SPECIAL.sub(r"\\\1", filters.recipient)
            condition("s.recipient_list LIKE {}", f"%{literal}%")

    descending = sort in (ArchiveSort.NEWEST, ArchiveSort.ORDER_NUMBER_DESC)
    direction = "DESC" if descending else "ASC"
    past = "<" if descending else ">"
    by_number = sort in (ArchiveSort.ORDER_NUMBER, ArchiveSort.ORDER_NUMBER_DESC)
    if after is not None:
        if by_number:
            condition(
                f"({number}, s.queued_at, s.id) {past} ({{}}, {{}}, {{}})",
                after.order_number,
                after.queued_at,
                after.id,
            )
        else:
            condition(f"(s.queued_at, s.id) {past} ({{}}, {{}})", after.queued_at, after.id)
    keys = ([number] if by_number else []) + ["s.queued_at", "s.id"]
    sql = _SELECT.format(
        columns=_COLUMN_LIST.format(json="" if sqlite else "::json"),
        where=" AND ".join(where),
        order=", ".join(f"{key} {direction}" for key in keys),
        # The joins keep the page's order only when told (same keys, on the page's alias).
        outer=", ".join(f"p.{key[2:]} {direction}" for key in keys),
        # In the text, not a parameter: PostgreSQL costs a generic plan with an unknown LIMIT
        # as if it read a tenth of the archive, and so would plan every page anew.
        limit=limit,
    )
    return QueryString(sql, *args)


def _phrase(recipient: str) -> str:
    """An FTS5 query that matches `recipient` as a substring (trigram table, quoted phrase)."""
    return '"' + recipient.replace('"', '""') + '"'


# SQLite keeps no statistics for the trigram table, so the listing counts, up to this many, how
# many archived emails match before it chooses where to start.
FEW_MATCHES = 2000


class MatchCounts:
    """What the last counts said, per search text, for a minute. The count only chooses the
    plan (either start gives the same page), so an old answer costs time, never a wrong row;
    a search's next pages, and the same text searched again, skip one read of the archive
    (a rare text among common trigrams takes SQLite 20 ms to count at a million emails)."""

    SECONDS = 60.0
    SIZE = 256

    def __init__(self) -> None:
        self._seen: dict[str, tuple[float, bool]] = {}

    def get(self, recipient: str) -> bool | None:
        seen = self._seen.get(recipient)
        if seen is None or monotonic() - seen[0] > self.SECONDS:
            return None
        return seen[1]

    def put(self, recipient: str, few: bool) -> None:
        self._seen.pop(recipient, None)
        if len(self._seen) >= self.SIZE:
            del self._seen[next(iter(self._seen))]  # the oldest
        self._seen[recipient] = (monotonic(), few)

    def clear(self) -> None:
        self._seen.clear()


match_counts = MatchCounts()


async def few_recipient_matches(recipient: str) -> bool:
    """On SQLite: at most FEW_MATCHES emails (of all companies) have `recipient` in an address."""
    few = match_counts.get(recipient)
    if few is None:
        rows = await run(
            QueryString(
                "SELECT count(*) AS n FROM (SELECT 1 FROM sent_email_recipients "
                "WHERE sent_email_recipients MATCH {} LIMIT {})",
                _phrase(recipient),
                FEW_MATCHES + 1,
            )
        )
        few = int(rows[0]["n"]) <= FEW_MATCHES
        match_counts.put(recipient, few)
    return few


async def page_query(
    scope: Scope,
    filters: ArchiveFilters,
    *,
    sort: ArchiveSort = ArchiveSort.NEWEST,
    after: Position | None = None,
    limit: int = DEFAULT_LIMIT,
) -> QueryString:
    """The SQL the listing runs for one page (on SQLite chosen after counting the matches of
    a recipient search)."""
    few = False
    if filters.recipient and is_sqlite():
        few = await few_recipient_matches(filters.recipient)
    return listing_query(scope, filters, sort=sort, after=after, limit=limit, few_matches=few)


def reads_in_order(scope: Scope, filters: ArchiveFilters, sort: ArchiveSort) -> bool:
    """One index hands out the page's rows in page order whatever the values (at most one
    equality filter, sorted by date; or sorted by order number with no other filter), so the
    page reads about `limit` rows: a quick read, whose plan the database may keep. Every other
    page is a search (core/reads.py): how many rows it reads depends on the values."""
    if scope.visible_orders is not None or filters.recipient or filters.unanswered_reply:
        return False
    if sort in (ArchiveSort.ORDER_NUMBER, ArchiveSort.ORDER_NUMBER_DESC):
        return msgspec.structs.replace(filters, order_number_prefix=None) == ArchiveFilters()
    if filters.order_number_prefix:
        return False
    equalities = (
        filters.client_id,
        filters.author_id,
        filters.kind,
        filters.status,
        filters.order_number,
    )
    return sum(value is not None for value in equalities) <= 1


async def _fetch(query: QueryString, search: bool) -> list[Any]:
    """The engine's rows: dicts on SQLite (in column order), asyncpg Records on PostgreSQL."""
    with long_reads() if search else nullcontext():
        return list(await engine().run_querystring(query))


async def run(query: QueryString) -> list[dict[str, Any]]:
    """A search's rows as dicts (the export, the match count)."""
    return engine().transform_response_to_dicts(await _fetch(query, search=True))


# Each stored status: as the enum, and whether it needs attention.
_STATUSES = {status.value: (status, status in ATTENTION) for status in EmailStatus}
# Called with the row's values spread out, which mypy cannot count against the fields.
_ROW: Callable[..., ArchiveRow] = ArchiveRow


def _items(rows: list[Any], zone: ZoneInfo) -> list[ArchiveRow]:
    """The page statement's rows (columns in ArchiveRow's order, see _COLUMNS) as Structs."""
    items = [_ROW(*(r.values() if isinstance(r, dict) else r), False) for r in rows]
    statuses = _STATUSES
    for item in items:
        stored: Any = item.recipients
        item.recipients = stored.split()
        item.status, item.needs_attention = statuses[item.status]
        # Both engines answer timestamps as aware datetimes (UTC).
        item.queued_at = item.queued_at.astimezone(zone)
        if item.sent_at is not None:
            item.sent_at = item.sent_at.astimezone(zone)
    return items


def as_utc(value: Any) -> datetime:
    """A timestamp read by raw SQL as an aware datetime (SQLite may answer its text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def names_of(
    client_ids: set[int], author_ids: set[int]
) -> tuple[dict[int, str], dict[int, str]]:
    clients: dict[int, str] = {}
    authors: dict[int, str] = {}
    if client_ids:
        for r in await Client.select(Client.id, Client.name).where(
            Client.id.is_in(list(client_ids))
        ):
            clients[r["id"]] = r["name"]
    if author_ids:
        for r in await Employee.select(Employee.id, Employee.first_name, Employee.last_name).where(
            Employee.id.is_in(list(author_ids))
        ):
            authors[r["id"]] = f"{r['first_name']} {r['last_name']}".strip()
    return clients, authors


class PageRead(NamedTuple):
    """How list_archive reads a page: the filters as checked (what its cursors name), the
    statement, and whether it is a search (core/reads.py)."""

    filters: ArchiveFilters
    query: QueryString
    search: bool


async def page_read(
    actor: Actor,
    filters: ArchiveFilters,
    *,
    sort: ArchiveSort = ArchiveSort.NEWEST,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> PageRead:
    """The read of a page of `limit` emails (the statement asks one more, to know whether a
    next page exists); also what the benchmark runs raw through the driver."""
    if not 1 <= limit <= MAX_LIMIT:
        raise Invalid(
            f"A page holds 1 to {MAX_LIMIT} emails.",
            code=Code.PAGE_SIZE_OUT_OF_RANGE,
            params={"max": MAX_LIMIT},
            field="limit",
        )
    filters = check_filters(filters)
    after = decode_cursor(cursor, filters, sort) if cursor else None
    scope = scope_of(actor)
    return PageRead(
        filters=filters,
        query=await page_query(scope, filters, sort=sort, after=after, limit=limit + 1),
        search=not reads_in_order(scope, filters, sort),
    )


async def list_archive(
    actor: Actor,
    filters: ArchiveFilters,
    *,
    sort: ArchiveSort = ArchiveSort.NEWEST,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> ArchivePage:
    """One page of the archive the actor may see, and the cursor of the next."""
    read = await page_read(actor, filters, sort=sort, cursor=cursor, limit=limit)
    rows = await _fetch(read.query, read.search)
    items = _items(rows[:limit], ZoneInfo(actor.time_zone))
    next_cursor = None
    if len(rows) > limit:
        last = items[-1]
        next_cursor = encode_cursor(
            read.filters,
            sort,
            Position(queued_at=last.queued_at, id=last.id, order_number=last.order_number),
        )
    return ArchivePage(items=items, next_cursor=next_cursor)
