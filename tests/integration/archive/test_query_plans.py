"""The archive's first pages are read through indexes, never by reading the whole table.

An archive of 24,000 emails over two companies (rows as wide as real ones) is loaded and
analysed, then the database explains the very SQL the listing runs (`listing_query`) for each
filter, both sorts and a following page: PostgreSQL's planner must choose the filter's index by
itself, and SQLite must search, not scan. The recipient search must use the trigram index
(pg_trgm GIN; FTS5 trigram on SQLite), also as the prepared statement the app's search
connections execute again and again (`plan_cache_mode = force_custom_plan`); the pages that one
index reads in order keep their index in a generic plan, made once for all values."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from piccolo.querystring import QueryString

from organisatrice.archive import listing
from organisatrice.archive.export import billing_query, chain_query
from organisatrice.archive.history import work_report_states, work_report_states_query
from organisatrice.archive.listing import (
    ArchiveFilters,
    ArchiveKind,
    ArchiveSort,
    Position,
    Scope,
    check_filters,
    listing_query,
    page_query,
    scope_of,
)
from organisatrice.core.db import engine, is_sqlite
from organisatrice.core.postgres import SearchingPostgresEngine
from organisatrice.mail.schemas import EmailStatus
from organisatrice.mail.tables import SentEmail
from organisatrice.roles.policy import Actor, Role
from tests.factories import MadeOrder, make_company, make_employee, make_order

ROWS = 20_000
FOREIGN_ROWS = 4_000
LIMIT = listing.DEFAULT_LIMIT + 1  # the listing asks one more, to know there is a next page
START = datetime(2026, 6, 1, tzinfo=UTC)  # rows go back one minute each from here
_HASH_A, _HASH_B = 2654435761, 2246822519  # spread the addresses' characters (Knuth)


def local_part(n: int) -> str:
    """The hexadecimal part of row n's address, as the loader writes it."""
    return format((n * _HASH_A) % 2**32, "x")


# One statement per engine: addresses with varied characters, every status (one in eleven
# failed, one in eleven bounced), four kinds, authors and orders in turn, and blocks of text as
# wide as a real email's six blocks.
_LOAD_POSTGRES = """
INSERT INTO sent_email (company, "order", client, author, order_number, recipient_list, kind,
  subject, sender, recipients, blocks, attachments, message_id, blob_sha256, size, token,
  envelope_sender, status, queued_at, sent_at, next_attempt_at, deadline_at)
SELECT {}, (p.ids)[1 + n % p.k], (p.clients)[1 + n % p.k], (p.authors)[1 + n % p.a],
  (p.numbers)[1 + n % p.k],
  'k' || to_hex((n::bigint * 2654435761) % 4294967296) || '@d'
    || to_hex(((n % 997)::bigint * 2246822519) % 4294967296) || '.example',
  (ARRAY['work_report', 'photo_documentation', 'offer', 'general'])[1 + n % 4],
  'Bulk ' || n, 'office@firm.example', '[]', {}, '[]', 'bulk-' || n, '', 0,
  'bulk-' || {}::int || '-' || n, '',
  (ARRAY['sent', 'delivered', 'read', 'sent', 'delivered', 'read', 'sent', 'delivered',
         'read', 'failed', 'bounced'])[1 + n % 11],
  p.start - n * interval '1 minute', p.start - n * interval '1 minute', p.start, p.start
FROM generate_series(1, {}) AS n,
  (SELECT {}::int[] AS ids, {}::int[] AS clients, {}::int[] AS authors, {}::text[] AS numbers,
          {}::int AS k, {}::int AS a, {}::timestamptz AS start) AS p
"""

# Timestamps as Piccolo writes them on SQLite (str() of a UTC datetime), so that they compare
# with the listing's parameters as the app's own rows do.
_LOAD_SQLITE = """
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {})
INSERT INTO sent_email (company, "order", client, author, order_number, recipient_list, kind,
  subject, sender, recipients, blocks, attachments, message_id, blob_sha256, size, token,
  envelope_sender, status, queued_at, sent_at, next_attempt_at, deadline_at)
SELECT {}, json_extract({}, '$[' || (n % {}) || ']'), json_extract({}, '$[' || (n % {}) || ']'),
  json_extract({}, '$[' || (n % {}) || ']'), json_extract({}, '$[' || (n % {}) || ']'),
  'k' || printf('%x', (n * 2654435761) % 4294967296) || '@d'
    || printf('%x', ((n % 997) * 2246822519) % 4294967296) || '.example',
  json_extract('["work_report", "photo_documentation", "offer", "general"]',
               '$[' || (n % 4) || ']'),
  'Bulk ' || n, 'office@firm.example', '[]', {}, '[]', 'bulk-' || n, '', 0,
  'bulk-' || {} || '-' || n, '',
  json_extract('["sent", "delivered", "read", "sent", "delivered", "read", "sent",
                 "delivered", "read", "failed", "bounced"]', '$[' || (n % 11) || ']'),
  strftime('%Y-%m-%d %H:%M:%S', {} - n * 60, 'unixepoch') || '+00:00',
  strftime('%Y-%m-%d %H:%M:%S', {} - n * 60, 'unixepoch') || '+00:00',
  {}, {}
FROM seq
"""


async def _load(company: int, orders: list[MadeOrder], authors: list[int], count: int) -> None:
    blocks = "x" * 1000
    ids = [o.id for o in orders]
    clients = [o.client_id for o in orders]
    numbers = [o.number for o in orders]
    if is_sqlite():
        epoch = int(START.timestamp())
        query = QueryString(
            _LOAD_SQLITE,
            count,
            company,
            json.dumps(ids),
            len(ids),
            json.dumps(clients),
            len(ids),
            json.dumps(authors),
            len(authors),
            json.dumps(numbers),
            len(ids),
            blocks,
            company,
            epoch,
            epoch,
            START,
            START,
        )
    else:
        query = QueryString(
            _LOAD_POSTGRES,
            company,
            blocks,
            company,
            count,
            ids,
            clients,
            authors,
            numbers,
            len(ids),
            len(authors),
            START,
        )
    await engine().run_querystring(query)


class Bulk(msgspec.Struct):
    company: int
    orders: list[MadeOrder]
    authors: list[int]
    technician: Actor


@pytest.fixture(scope="module")
async def bulk(database: None) -> AsyncIterator[Bulk]:
    company = await make_company()
    foreign = await make_company()
    authors = [(await make_employee(company)).id for _ in range(12)]
    technician = await make_employee(company, roles={Role.TECHNICIAN})
    orders = [await make_order(company, number=f"2026-{n:04d}") for n in range(1, 60)]
    orders.append(await make_order(company, number="2026-0060", technician_id=technician.id))
    foreign_orders = [await make_order(foreign) for _ in range(3)]
    foreign_author = await make_employee(foreign)
    await _load(company, orders, authors, ROWS)
    await _load(foreign, foreign_orders, [foreign_author.id], FOREIGN_ROWS)
    await engine().run_ddl("ANALYZE" if is_sqlite() else "ANALYZE sent_email")
    try:
        yield Bulk(
            company=company,
            orders=orders,
            authors=authors,
            technician=Actor(
                employee_id=technician.id,
                company_id=company,
                company_name="",
                first_name="Tom",
                last_name="Tech",
                email=technician.email,
                locale="de",
                time_zone="Europe/Zurich",
                roles=frozenset({Role.TECHNICIAN}),
                may_email=True,
                company_email_enabled=True,
            ),
        )
    finally:
        # These rows have no stored bytes and no hash chain: they must not outlive the module.
        await SentEmail.delete().where(SentEmail.company.is_in([company, foreign]))


class Plan(msgspec.Struct):
    text: str
    whole_table: list[str]
    indexes: set[str]


def _postgres_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _postgres_nodes(child)


async def explain(query: QueryString) -> Plan:
    """How the database will run `query`: the steps that read all of sent_email (or its whole
    trigram table), and the indexes of sent_email it uses."""
    if is_sqlite():
        rows = await engine().run_querystring(QueryString("EXPLAIN QUERY PLAN {}", query))
        lines = [str(r["detail"]) for r in rows]
        whole = [
            line
            for line in lines
            # SCAN is a full pass (of the table, or of a whole index); SEARCH is a range.
            if re.match(r"SCAN s\b", line)
            or (line.startswith("SCAN sent_email_recipients") and ":M" not in line)
        ]
        indexes = {
            m.group(1)
            for line in lines
            if (m := re.search(r"^SEARCH s USING (?:COVERING )?INDEX (\w+)", line))
        }
        indexes |= {"sent_email_recipients" for line in lines if ":M" in line}
        return Plan(text="\n".join(lines), whole_table=whole, indexes=indexes)
    rows = await engine().run_querystring(QueryString("EXPLAIN (FORMAT JSON) {}", query))
    raw = rows[0]["QUERY PLAN"]
    tree = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    nodes = list(_postgres_nodes(tree))
    return Plan(
        text=json.dumps(tree, indent=1),
        whole_table=[
            f"{n['Node Type']} on {n['Relation Name']}"
            for n in nodes
            if n["Node Type"] == "Seq Scan" and n.get("Relation Name") == "sent_email"
        ],
        indexes={
            str(n["Index Name"])
            for n in nodes
            if str(n.get("Index Name", "")).startswith("sent_email")
        },
    )


def _trigram() -> str:
    return "sent_email_recipients" if is_sqlite() else "sent_email_archive_recipient"


# (filters, sort, the index that must serve it; None: any, as long as nothing reads it all)
CASES: dict[str, tuple[dict[str, Any], ArchiveSort, str | None]] = {
    "newest": ({}, ArchiveSort.NEWEST, "sent_email_archive_date"),
    "oldest": ({}, ArchiveSort.OLDEST, "sent_email_archive_date"),
    "by-order-number": ({}, ArchiveSort.ORDER_NUMBER, "sent_email_archive_order_number"),
    "by-order-number-desc": ({}, ArchiveSort.ORDER_NUMBER_DESC, "sent_email_archive_order_number"),
    "dates": (
        {"sent_from": date(2026, 5, 20), "sent_to": date(2026, 5, 21)},
        ArchiveSort.NEWEST,
        "sent_email_archive_date",
    ),
    "client": ({"client_id": 3}, ArchiveSort.NEWEST, "sent_email_archive_client"),
    "kind": ({"kind": ArchiveKind.OFFER}, ArchiveSort.NEWEST, "sent_email_archive_kind"),
    "status": ({"status": EmailStatus.BOUNCED}, ArchiveSort.NEWEST, "sent_email_archive_status"),
    "author": ({"author_id": 2}, ArchiveSort.NEWEST, "sent_email_archive_author"),
    "order-number": (
        {"order_number": "2026-0042"},
        ArchiveSort.NEWEST,
        "sent_email_archive_order_number",
    ),
    # Matches one order in sixty: read from the order number index, then sorted.
    "order-number-prefix": (
        {"order_number_prefix": "2026-006"},
        ArchiveSort.NEWEST,
        "sent_email_archive_order_number",
    ),
    # Matches a sixth of the archive: walking the dates and skipping the others is as good.
    "order-number-prefix-broad": ({"order_number_prefix": "2026-004"}, ArchiveSort.NEWEST, None),
    "recipient": ({"recipient": local_part(1234)}, ArchiveSort.NEWEST, "trigram"),
    "recipient-in-every-row": ({"recipient": ".example"}, ArchiveSort.NEWEST, None),
    "combined": (
        {
            "kind": ArchiveKind.WORK_REPORT,
            "status": EmailStatus.FAILED,
            "client_id": 3,
            "sent_from": date(2026, 5, 1),
        },
        ArchiveSort.NEWEST,
        None,
    ),
    "combined-with-recipient": (
        {"recipient": local_part(4321), "kind": ArchiveKind.GENERAL, "author_id": 5},
        ArchiveSort.NEWEST,
        None,
    ),
}


def _filters(bulk: Bulk, given: dict[str, Any]) -> ArchiveFilters:
    # Client and author numbers above are positions in the loaded company, not ids.
    values = dict(given)
    if "client_id" in values:
        values["client_id"] = bulk.orders[values["client_id"]].client_id
    if "author_id" in values:
        values["author_id"] = bulk.authors[values["author_id"]]
    return check_filters(ArchiveFilters(**values))


def _second_page() -> Position:
    """A cursor in the middle of the archive, as page 2 (or 200) would carry."""
    return Position(
        queued_at=START - timedelta(minutes=ROWS // 2), id=2**30, order_number="2026-0030"
    )


@pytest.mark.parametrize("page", ["first", "later"])
@pytest.mark.parametrize("case", list(CASES))
async def test_each_filter_and_sort_reads_its_index_not_the_whole_table(
    bulk: Bulk, case: str, page: str
) -> None:
    given, sort, index = CASES[case]
    scope = Scope(company_id=bulk.company, time_zone="Europe/Zurich")
    after = _second_page() if page == "later" else None
    query = await page_query(scope, _filters(bulk, given), sort=sort, after=after, limit=LIMIT)
    plan = await explain(query)
    assert plan.whole_table == [], f"{case} reads the whole table:\n{plan.text}"
    assert plan.indexes, f"{case} uses no index of sent_email:\n{plan.text}"
    if index is not None:
        wanted = _trigram() if index == "trigram" else index
        assert wanted in plan.indexes, f"{case} does not use {wanted}:\n{plan.text}"


@pytest.mark.skipif(not is_sqlite(), reason="PostgreSQL's planner has the trigram statistics")
@pytest.mark.parametrize(("recipient", "few"), [(local_part(1234), True), (".example", False)])
async def test_sqlite_starts_a_recipient_search_from_its_matches_when_they_are_few(
    bulk: Bulk, recipient: str, few: bool
) -> None:
    listing.match_counts.clear()
    assert await listing.few_recipient_matches(recipient) is few
    # Asked again, the count is remembered (an answer planted in the memo is what comes back).
    listing.match_counts.put(recipient, not few)
    assert await listing.few_recipient_matches(recipient) is not few
    listing.match_counts.put(recipient, few)
    scope = Scope(company_id=bulk.company, time_zone="Europe/Zurich")
    filters = check_filters(ArchiveFilters(recipient=recipient))
    plan = await explain(await page_query(scope, filters, limit=LIMIT))
    # Else the planner may choose (with a million emails it walks the company's date index).
    if few:
        assert "SEARCH s USING INTEGER PRIMARY KEY (rowid=?)" in plan.text.splitlines(), plan.text
    # Either start gives the same page.
    pages = [
        await listing.run(listing_query(scope, filters, limit=LIMIT, few_matches=first))
        for first in (True, False)
    ]
    assert pages[0] == pages[1]
    assert pages[0]


async def test_a_technicians_archive_is_read_through_indexes(bulk: Bulk) -> None:
    plan = await explain(await page_query(scope_of(bulk.technician), ArchiveFilters(), limit=LIMIT))
    assert plan.whole_table == [], plan.text
    assert plan.indexes, plan.text


async def test_the_billing_export_reads_the_work_reports_index(bulk: Bulk) -> None:
    scope = Scope(company_id=bulk.company, time_zone="Europe/Zurich")
    start = datetime(2026, 5, 22, tzinfo=UTC)
    plan = await explain(billing_query(scope, start, start + timedelta(days=7)))
    assert plan.whole_table == [], plan.text
    assert "sent_email_billing" in plan.indexes, plan.text
    # Whether an email was resent is read through the index on resend_of, email by email.
    assert "sent_email_resend_of" in plan.text, plan.text


async def test_the_billing_export_completes_resent_work_reports_by_id(bulk: Bulk) -> None:
    plan = await explain(chain_query(bulk.company, {101, 102}, {103}))
    assert plan.whole_table == [], plan.text
    assert not re.findall(r"^SCAN [sc]\b", plan.text, re.MULTILINE), plan.text


async def test_the_listing_finds_the_rows_the_plans_were_read_for(bulk: Bulk) -> None:
    """The explained queries are the ones that run: the recipient search finds its row."""
    scope = Scope(company_id=bulk.company, time_zone="Europe/Zurich")
    filters = check_filters(ArchiveFilters(recipient=local_part(1234).upper()))
    rows = await listing.run(listing_query(scope, filters, limit=LIMIT))
    assert [r["recipients"].split("@")[0] for r in rows] == [f"k{local_part(1234)}"]


def _literal(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    if isinstance(value, datetime):
        value = value.isoformat()
    assert isinstance(value, str)
    return "'" + value.replace("'", "''") + "'"


def _postgres_plan(raw: Any) -> dict[str, Any]:
    tree = (json.loads(raw) if isinstance(raw, str) else raw)[0]["Plan"]
    assert isinstance(tree, dict)
    return tree


@pytest.mark.skipif(is_sqlite(), reason="prepared statements and plan caching are PostgreSQL's")
async def test_the_apps_prepared_recipient_search_never_falls_back_to_a_generic_plan(
    bulk: Bulk,
) -> None:
    scope = Scope(company_id=bulk.company, time_zone="Europe/Zurich")
    filters = check_filters(ArchiveFilters(recipient=local_part(777)))
    assert not listing.reads_in_order(scope, filters, ArchiveSort.NEWEST)
    query = listing_query(scope, filters, limit=LIMIT)
    sql, args = query.compile_string("postgres")
    # The app's statement cache prepares the query once and runs it again and again, which is
    # when PostgreSQL would otherwise go generic (after five). Searches run on their own pool;
    # used one at a time, it keeps one connection.
    for _ in range(8):
        assert len(await listing.run(query)) == 1
    db = engine()
    assert isinstance(db, SearchingPostgresEngine) and db.search_pool is not None
    async with db.search_pool.acquire() as connection:
        assert await connection.fetchval("SHOW plan_cache_mode") == "force_custom_plan"
        counters = (
            "SELECT name, generic_plans, custom_plans FROM pg_prepared_statements "
            "WHERE statement = $1"
        )
        prepared = await connection.fetchrow(counters, sql)
        assert prepared["generic_plans"] == 0
        assert prepared["custom_plans"] >= 8
        literals = ", ".join(_literal(a) for a in args)
        raw = await connection.fetchval(
            f'EXPLAIN (FORMAT JSON) EXECUTE "{prepared["name"]}"({literals})'
        )
        used = {n.get("Index Name") for n in _postgres_nodes(_postgres_plan(raw))}
        assert "sent_email_archive_recipient" in used, raw
        # The counter does see a generic plan when one is used: the check above can fail.
        async with connection.transaction():
            await connection.execute("SET LOCAL plan_cache_mode = force_generic_plan")
            await connection.fetch(sql, *args)
            assert (await connection.fetchrow(counters, sql))["generic_plans"] == 1


IN_ORDER = {
    "newest",
    "oldest",
    "by-order-number",
    "by-order-number-desc",
    "dates",
    "client",
    "kind",
    "status",
    "author",
    "order-number",
}


@pytest.mark.parametrize("case", list(CASES))
async def test_pages_that_one_index_reads_in_order_are_told_from_searches(
    bulk: Bulk, case: str
) -> None:
    given, sort, _ = CASES[case]
    scope = Scope(company_id=bulk.company, time_zone="Europe/Zurich")
    assert listing.reads_in_order(scope, _filters(bulk, given), sort) is (case in IN_ORDER)
    assert not listing.reads_in_order(scope_of(bulk.technician), _filters(bulk, given), sort)


@pytest.mark.skipif(is_sqlite(), reason="prepared statements and plan caching are PostgreSQL's")
@pytest.mark.parametrize("page", ["first", "later"])
@pytest.mark.parametrize("case", sorted(IN_ORDER))
async def test_a_page_read_in_order_keeps_its_index_in_a_generic_plan(
    bulk: Bulk, case: str, page: str
) -> None:
    """Pages that are not searches run on the pool where PostgreSQL may keep one plan for all
    values: that plan must read the filter's index too."""
    given, sort, index = CASES[case]
    scope = Scope(company_id=bulk.company, time_zone="Europe/Zurich")
    after = _second_page() if page == "later" else None
    query = await page_query(scope, _filters(bulk, given), sort=sort, after=after, limit=LIMIT)
    sql, args = query.compile_string("postgres")
    db = engine()
    async with db.transaction():
        await db.run_ddl("SET LOCAL plan_cache_mode = force_generic_plan")
        await db.run_ddl(f"PREPARE page AS {sql}")
        literals = ", ".join(_literal(a) for a in args)
        rows = await db.run_querystring(
            QueryString(f"EXPLAIN (FORMAT JSON) EXECUTE page({literals})")
        )
        await db.run_ddl("DEALLOCATE page")
    tree = _postgres_plan(rows[0]["QUERY PLAN"])
    nodes = list(_postgres_nodes(tree))
    assert not [
        n for n in nodes if n.get("Relation Name") == "sent_email" and n["Node Type"] == "Seq Scan"
    ]
    assert index in {n.get("Index Name") for n in nodes}, json.dumps(tree, indent=1)


async def test_the_order_lists_work_report_states_are_one_statement_through_the_order_index(
    bulk: Bulk,
) -> None:
    boss = msgspec.structs.replace(bulk.technician, roles=frozenset({Role.DISPATCHER}))
    page = [o.id for o in bulk.orders[:25]]
    query = work_report_states_query(boss, page)
    [statement] = query.querystrings
    plan = await explain(statement)
    if is_sqlite():
        whole = [line for line in plan.text.splitlines() if re.match(r"SCAN sent_email\b", line)]
        assert not whole, plan.text
    else:
        assert not plan.whole_table, plan.text
    # What it answers: one state per order with a work report, the newest.
    states = await work_report_states(boss, page)
    reported = await SentEmail.select(SentEmail.order).where(
        SentEmail.order.is_in(page) & (SentEmail.kind == "work_report")
    )
    assert [s.order_id for s in states] == sorted({r["order"] for r in reported})
    newest = (
        await SentEmail.select(SentEmail.status)
        .where((SentEmail.order == page[0]) & (SentEmail.kind == "work_report"))
        .order_by(SentEmail.id, ascending=False)
        .first()
    )
    assert newest is not None and states[0].status == newest["status"]
    # A technician sees only the orders they worked on.
    assert [s.order_id for s in await work_report_states(bulk.technician, page)] == []
