"""Archive listing at scale: a million archived emails over two companies and 50,000 orders,
bulk-loaded with each database's own fast path (PostgreSQL: COPY through asyncpg's
`copy_records_to_table`; SQLite: `executemany` in one transaction), the listing's indexes and
SQLite's trigram FTS table built after the load, as a long-lived archive would have them.

Three pages of 50, each timed through our listing (`organisatrice.archive.listing.list_archive`:
filters checked, cursor decoded, the query, names, rows as Structs) and as the same query (the
statement the listing runs, with its values) in raw SQL through the driver on one open
connection, rows left as the driver returns them. For information beside them: the page's SQL
written by hand for the driver (names joined in, no attachment count), and on SQLite the same
query through sqlite3 on the event loop's own thread, as the listing runs its quick pages:
- the emails that failed, newest first (a status filter);
- a rare recipient, searched by a substring of the address;
- the page after 10,000 rows, newest first (keyset: the cursor of row 10,000).
"""

from __future__ import annotations

import functools
import random
import sqlite3
import statistics
import time
from collections.abc import Awaitable, Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec

from bench.common import Measurement, Row, alternate, percentile
from organisatrice.core.db import engine, is_sqlite
from organisatrice.roles.policy import Actor, Role
from organisatrice.settings import get_settings

RARE = "hauswart.zebrowski@rare-facility.example"
RARE_SEARCH = "zebrowski"
STATUSES = (
    (["delivered"] * 60) + (["sent"] * 30) + (["read"] * 5) + (["failed"] * 3) + (["bounced"] * 2)
)
KINDS = ("work_report", "work_report", "photo_documentation", "offer", "general")


class Scale(msgspec.Struct, frozen=True):
    emails: int
    orders: int
    clients: int
    deep: int
    repeats: int


def scale(size: str) -> Scale:
    if size == "full":
        return Scale(emails=1_000_000, orders=50_000, clients=500, deep=10_000, repeats=400)
    return Scale(emails=2_000, orders=100, clients=10, deep=200, repeats=3)


class Loaded(msgspec.Struct, frozen=True):
    companies: list[int]
    authors: dict[int, list[int]]
    load_seconds: float
    index_seconds: float


# ---------------------------------------------------------------------------- the bulk load


def _orders(company: int, clients: list[int], count: int, first: int) -> Iterator[tuple[Any, ...]]:
    created = datetime(2016, 1, 4, tzinfo=UTC)
    for n in range(count):
        yield (
            company,
            f"{2016 + n * 10 // count}-{first + n:06d}",
            "Heizungsservice",
            "",
            "completed",
            clients[n % len(clients)],
            None,
            None,
            "",
            created + timedelta(minutes=n * 100),
        )


ORDER_COLUMNS = (
    "company", "number", "title", "description", "status", "client", "start_date", "end_date",
    "remarks", "created_at",
)  # fmt: skip
EMAIL_COLUMNS = (
    "company", "order", "author", "client", "order_number", "recipient_list", "template_id",
    "template_name", "kind", "subject", "sender", "recipients", "blocks", "attachments",
    "message_id", "blob_sha256", "size", "token", "envelope_sender", "read_receipt", "resend_of",
    "status", "queued_at", "sent_at", "attempts", "next_attempt_at", "deadline_at", "lease_until",
    "lease_owner", "chain_prev", "chain_hash",
)  # fmt: skip


def _emails(
    company: int,
    orders: list[tuple[int, str, int]],
    authors: list[int],
    count: int,
    rare_every: int,
) -> Iterator[tuple[Any, ...]]:
    """`count` archived emails of one company, ten years of them, oldest first."""
    rng = random.Random(company)
    start = datetime(2016, 1, 4, tzinfo=UTC)
    step = timedelta(days=3650) / count
    attachments = '[{"filename":"Arbeitsrapport.pdf","size":48213,"sha256":"' + "a" * 64 + '"}]'
    for n in range(count):
        order_id, number, client = orders[rng.randrange(len(orders))]
        queued = start + step * n + timedelta(microseconds=rng.randrange(1, 999_999))
        status = STATUSES[rng.randrange(len(STATUSES))]
        recipient = (
            RARE
            if n % rare_every == rare_every - 1
            else f"kontakt{rng.randrange(20_000)}@kunde{client}.example"
        )
        token = f"{company:04x}{n:028x}"
        yield (
            company,
            order_id,
            authors[n % len(authors)],
            client,
            number,
            recipient,
            None,
            "Arbeitsrapport senden",
            KINDS[n % len(KINDS)],
            f"Arbeitsrapport {number}",
            "auftraege@meier.example",
            "{}",
            "{}",
            attachments,
            f"<{token}@meier.example>",
            "b" * 64,
            48_213,
            token,
            f"bounce+{token}@bounces.meier.example",
            False,
            None,
            status,
            queued,
            None if status == "failed" else queued + timedelta(seconds=2),
            1,
            queued,
            queued + timedelta(hours=48),
            None,
            "",
            "",
            "",
        )


def _chunks(rows: Iterator[tuple[Any, ...]], size: int = 50_000) -> Iterator[list[tuple[Any, ...]]]:
    chunk: list[tuple[Any, ...]] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def _people(
    count_clients: int,
) -> tuple[list[int], dict[int, list[int]], dict[int, list[int]]]:
    from organisatrice.orders.tables import Client
    from tests.factories import make_company, make_employee

    companies = [
        await make_company(f"Archive {name} {time.time_ns()}") for name in ("Meier", "Rochat")
    ]
    authors = {
        c: [(await make_employee(c, roles={Role.COORDINATOR})).id for _ in range(5)]
        for c in companies
    }
    clients: dict[int, list[int]] = {}
    for c in companies:
        rows = await Client.insert(
            *[Client(company=c, name=f"Kunde {n} AG", city="Zürich") for n in range(count_clients)]
        ).returning(Client.id)
        clients[c] = [r["id"] for r in rows]
    return companies, authors, clients


def _sqlite_load(
    sc: Scale, companies: list[int], authors: dict[int, list[int]], clients: dict[int, list[int]]
) -> tuple[float, float]:
    path = get_settings().sqlite_path
    db = sqlite3.connect(path, isolation_level=None)
    try:
        started = time.perf_counter()
        # The listing's indexes and the FTS triggers go while the rows go in, and come back after.
        saved = db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'sent_email' "
            "AND type IN ('index', 'trigger') AND sql IS NOT NULL"
        ).fetchall()
        db.execute("BEGIN")
        for kind, name, _ in saved:
            db.execute(f'DROP {kind.upper()} "{name}"')
        placeholders = ", ".join("?" for _ in ORDER_COLUMNS)
        columns = ", ".join(f'"{c}"' for c in ORDER_COLUMNS)
        per_company = sc.orders // len(companies)
        emails_each = sc.emails // len(companies)
        for c in companies:
            for chunk in _chunks(_orders(c, clients[c], per_company, c * 1_000_000)):
                db.executemany(f"INSERT INTO work_order ({columns}) VALUES ({placeholders})", chunk)  # noqa: S608 - our own column names
            orders = db.execute(
                "SELECT id, number, client FROM work_order WHERE company = ?", (c,)
            ).fetchall()
            placeholders_e = ", ".join("?" for _ in EMAIL_COLUMNS)
            columns_e = ", ".join(f'"{col}"' for col in EMAIL_COLUMNS)
            for chunk in _chunks(
                _emails(c, orders, authors[c], emails_each, max(emails_each // 20, 2))
            ):
                db.executemany(
                    f"INSERT INTO sent_email ({columns_e}) VALUES ({placeholders_e})",  # noqa: S608 - our own column names
                    chunk,
                )
        db.execute("COMMIT")
        loaded = time.perf_counter()
        db.execute("BEGIN")
        for _, _, sql in sorted(saved, key=lambda s: s[0] != "index"):
            db.execute(sql)
        fts = db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%fts5%' "
            "AND sql LIKE '%sent_email%'"
        ).fetchall()
        for (name,) in fts:
            db.execute(f'INSERT INTO "{name}"("{name}") VALUES (\'rebuild\')')  # noqa: S608 - our own column names
        db.execute("COMMIT")
        return loaded - started, time.perf_counter() - loaded
    finally:
        db.close()


async def _postgres_load(
    sc: Scale, companies: list[int], authors: dict[int, list[int]], clients: dict[int, list[int]]
) -> tuple[float, float]:
    import asyncpg

    db = await asyncpg.connect(get_settings().database_url)
    try:
        started = time.perf_counter()
        saved = await db.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'sent_email' "
            "AND indexname::regclass NOT IN "
            "(SELECT conindid FROM pg_constraint WHERE conrelid = 'sent_email'::regclass)"
        )
        async with db.transaction():
            for index in saved:
                await db.execute(f'DROP INDEX "{index["indexname"]}"')
            # The rows are made valid: no foreign key trigger needs to check each one.
            await db.execute("SET LOCAL session_replication_role = replica")
            per_company = sc.orders // len(companies)
            emails_each = sc.emails // len(companies)
            for c in companies:
                await db.copy_records_to_table(
                    "work_order",
                    records=list(_orders(c, clients[c], per_company, c * 1_000_000)),
                    columns=list(ORDER_COLUMNS),
                )
                orders = [
                    tuple(r)
                    for r in await db.fetch(
                        "SELECT id, number, client FROM work_order WHERE company = $1", c
                    )
                ]
                for chunk in _chunks(
                    _emails(c, orders, authors[c], emails_each, max(emails_each // 20, 2))
                ):
                    await db.copy_records_to_table(
                        "sent_email", records=chunk, columns=list(EMAIL_COLUMNS)
                    )
        loaded = time.perf_counter()
        for index in saved:
            await db.execute(index["indexdef"])
        # What autovacuum does after such a load (insert-only tables are vacuumed too: hint
        # bits, visibility map), done now rather than in the middle of the measurements.
        await db.execute("VACUUM (ANALYZE) sent_email")
        await db.execute("VACUUM (ANALYZE) work_order")
        return loaded - started, time.perf_counter() - loaded
    finally:
        await db.close()


async def bulk_load(sc: Scale) -> Loaded:
    companies, authors, clients = await _people(sc.clients)
    if is_sqlite():
        load, index = _sqlite_load(sc, companies, authors, clients)
    else:
        load, index = await _postgres_load(sc, companies, authors, clients)
    return Loaded(companies=companies, authors=authors, load_seconds=load, index_seconds=index)


# ---------------------------------------------------------------------------- the queries

_SELECT = (
    'SELECT s.id, s."order", s.order_number, s.client, c.name AS client_name, s.author, '
    "e.first_name, e.last_name, s.kind, s.subject, s.status, s.recipient_list, s.queued_at, "
    "s.sent_at, s.attachments, s.resend_of, "
    "(SELECT max(r.id) FROM sent_email r WHERE r.resend_of = s.id) AS resent_as "
    "FROM ({page}) s JOIN client c ON c.id = s.client "
    "LEFT JOIN employee e ON e.id = s.author ORDER BY s.queued_at DESC, s.id DESC"
)
_PAGE = (
    "SELECT * FROM sent_email s WHERE {company} = {p} AND {where} "
    "ORDER BY s.queued_at DESC, s.id DESC LIMIT 51"
)


def raw_sql(case: str, sqlite: bool) -> str:
    """The page's SQL as one would write it by hand for the driver (`?` or `$n` parameters)."""
    n = iter(range(1, 10))

    def p() -> str:
        return "?" if sqlite else f"${next(n)}"

    company = p()
    if case == "status":
        where = f"s.status = {p()}"
    elif case == "recipient":
        fts = "SELECT rowid FROM sent_email_recipients WHERE sent_email_recipients MATCH"
        where = f"s.id IN ({fts} {p()})" if sqlite else f"s.recipient_list LIKE {p()}"
    else:
        first, second = p(), p()
        where = f"(s.queued_at, s.id) < ({first}, {second})"
    # As the listing writes it on SQLite for a rare recipient: starting from the matches.
    column = "+s.company" if sqlite and case == "recipient" else "s.company"
    page = _PAGE.format(company=column, p=company, where=where)
    return _SELECT.format(page=page)


class Case(msgspec.Struct, frozen=True):
    name: str
    label: str


_ON_LOOP = "raw, sqlite3 on the event loop"
_NEW_SEARCH = "ours, a new search"
_BY_HAND = "raw, written by hand"
# Measured beside ours and the raw SQL, for information: (contender, detail, what the note says).
_BESIDE = (
    (
        _BY_HAND,
        "raw hand-written p95 ms",
        "the page's SQL written by hand (names joined, no attachment count) through the driver",
    ),
    (
        _NEW_SEARCH,
        "ours new search p95 ms",
        "the first page of a new search (the match count not yet remembered)",
    ),
    (
        _ON_LOOP,
        "raw sqlite3 on the loop p95 ms",
        "raw SQL through sqlite3 on the event loop's thread (no hand-over)",
    ),
)


def cases(sc: Scale) -> list[Case]:
    return [
        Case("status", "50 failed emails, newest first"),
        Case("recipient", f"recipient contains “{RARE_SEARCH}” (rare)"),
        Case("deep", f"the page after row {sc.deep:,}, newest first"),
    ]


async def run(size: str, database: str, *, rounds: int, warmup: int) -> list[Row]:
    sc = scale(size)
    print(f"  bulk-loading {sc.emails:,} emails, {sc.orders:,} orders on {database}", flush=True)
    loaded = await bulk_load(sc)
    print(
        f"  loaded in {loaded.load_seconds:.0f} s, indexes in {loaded.index_seconds:.0f} s",
        flush=True,
    )
    company = loaded.companies[0]
    sqlite = is_sqlite()
    position = await _deep_position(company, sc.deep, sqlite)
    raw_params: dict[str, list[Any]] = {
        "status": [company, "failed"],
        "recipient": [company, f'"{RARE_SEARCH}"' if sqlite else f"%{RARE_SEARCH}%"],
        "deep": [company, *position],
    }
    from organisatrice.archive import listing

    driver = await _raw_runner(sqlite)
    # Quick pages run on the loop's own SQLite connection (organisatrice/core/sqlite.py), which
    # the baseline through aiosqlite does not: shown beside it, for information.
    on_loop = await _raw_runner(sqlite, on_loop=True) if sqlite else None
    rows: list[Row] = []
    try:
        for case in cases(sc):
            page = _page(listing, case.name, company, loaded, position)
            statement = await _statement(listing, page)
            runs = {
                "raw": functools.partial(driver.fetch, *statement),
                _BY_HAND: functools.partial(
                    driver.fetch, raw_sql(case.name, sqlite), raw_params[case.name]
                ),
            }
            if on_loop is not None:
                runs[_ON_LOOP] = functools.partial(on_loop.fetch, *statement)
            contenders: dict[str, Callable[[], Awaitable[Measurement]]] = {
                name: _timed(run, sc.repeats) for name, run in runs.items()
            }
            ours_once = _ours(listing, page, case.name)
            contenders["ours"] = _timed(ours_once, sc.repeats)
            if sqlite and case.name == "recipient":

                async def new_search_once(
                    once: Callable[[], Awaitable[object]] = ours_once,
                ) -> object:
                    listing.match_counts.clear()
                    return await once()

                contenders[_NEW_SEARCH] = _timed(new_search_once, sc.repeats)
            print(f"  {case.label}", flush=True)
            measured = await alternate(contenders, rounds=rounds, warmup=warmup)
            rows.append(_row(case, database, measured, sc, loaded))
    finally:
        await driver.close()
        if on_loop is not None:
            await on_loop.close()
    return rows


def _row(
    case: Case, database: str, measured: dict[str, Measurement], sc: Scale, loaded: Loaded
) -> Row:
    limit = 1.5 if database == "PostgreSQL" else 2.0
    raw = measured["raw"]
    ours = measured["ours"]
    details: dict[str, float | str] = {
        "raw p50 ms": round(raw["p50 ms"], 3),
        "raw p95 ms": round(raw["p95 ms"], 3),
        "emails": sc.emails,
        "bulk load s": round(loaded.load_seconds, 1),
        "indexes s": round(loaded.index_seconds, 1),
    }
    details.update(
        {"ours p50 ms": round(ours["p50 ms"], 3), "ours p95 ms": round(ours["p95 ms"], 3)}
    )
    ratio = ours["p95 ms"] / raw["p95 ms"] if raw["p95 ms"] else None
    note = f"p50 {ours['p50 ms']:.1f} ms (raw {raw['p50 ms']:.1f})"
    for name, detail, label in _BESIDE:
        beside = measured.get(name)
        if beside is not None:
            details[detail] = round(beside["p95 ms"], 3)
            note += f"; {label}: p95 {beside['p95 ms']:.2f} ms"
    return Row(
        benchmark=f"Archive listing: {case.label}",
        database=database,
        unit="p95 ms",
        ours=ours["p95 ms"],
        baseline=raw["p95 ms"],
        baseline_name="the same statement, raw through the driver",
        ratio=ratio,
        target=f"p95 < 20 ms; ≤ {limit}× raw",
        met=ours["p95 ms"] < 20 and ratio is not None and ratio <= limit,
        details=details,
        note=note,
    )


def _timed(
    once: Callable[[], Awaitable[object]], repeats: int
) -> Callable[[], Awaitable[Measurement]]:
    async def measure() -> Measurement:
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            await once()
            times.append((time.perf_counter() - start) * 1000)
        return {"p95 ms": percentile(times, 95), "p50 ms": statistics.median(times)}

    return measure


class _Page(msgspec.Struct, frozen=True):
    """What a coordinator asks the listing for: one of the benchmark's pages."""

    actor: Actor
    filters: Any
    sort: Any
    cursor: str | None


def _page(listing: Any, case: str, company: int, loaded: Loaded, position: list[Any]) -> _Page:
    actor = Actor(
        employee_id=loaded.authors[company][0],
        company_id=company,
        company_name="Archive",
        first_name="Clara",
        last_name="Coordinator",
        email="clara@archive.example",
        locale="de",
        time_zone="Europe/Zurich",
        roles=frozenset({Role.COORDINATOR}),
        may_email=True,
        company_email_enabled=True,
    )
    sort = listing.ArchiveSort.NEWEST
    filters = listing.ArchiveFilters()
    cursor = None
    if case == "status":
        filters = listing.ArchiveFilters(status="failed")
    elif case == "recipient":
        filters = listing.ArchiveFilters(recipient=RARE_SEARCH)
    else:
        cursor = listing.encode_cursor(
            filters, sort, listing.Position(queued_at=position[0], id=position[1])
        )
    filters = msgspec.convert(msgspec.to_builtins(filters), type(filters))
    return _Page(actor=actor, filters=filters, sort=sort, cursor=cursor)


def _ours(listing: Any, page: _Page, case: str) -> Callable[[], Awaitable[object]]:
    async def once() -> object:
        answer = await listing.list_archive(
            page.actor, page.filters, sort=page.sort, cursor=page.cursor, limit=50
        )
        if not answer.items:
            raise RuntimeError(f"the {case} page is empty")
        return answer

    return once


async def _statement(listing: Any, page: _Page) -> tuple[str, list[Any]]:
    """The SQL and values list_archive runs for the page, in the driver's parameter style."""
    read = await listing.page_read(
        page.actor, page.filters, sort=page.sort, cursor=page.cursor, limit=50
    )
    sql, values = read.query.compile_string(engine_type=engine().engine_type)
    return sql, list(values)


async def _deep_position(company: int, deep: int, sqlite: bool) -> list[Any]:
    from organisatrice.mail.tables import SentEmail

    rows = await SentEmail.raw(
        "SELECT queued_at, id FROM sent_email WHERE company = {} "
        "ORDER BY queued_at DESC, id DESC LIMIT 1 OFFSET {}",
        company,
        deep - 1,
    )
    queued = rows[0]["queued_at"]
    if isinstance(queued, str):
        queued = datetime.fromisoformat(queued)
    return [queued, rows[0]["id"]]


class _Raw:
    async def fetch(self, sql: str, params: list[Any]) -> int:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


async def _raw_runner(sqlite: bool, *, on_loop: bool = False) -> _Raw:
    if sqlite and on_loop:
        plain = sqlite3.connect(get_settings().sqlite_path)

        class SqliteOnLoop(_Raw):
            async def fetch(self, sql: str, params: list[Any]) -> int:
                return len(plain.execute(sql, params).fetchall())

            async def close(self) -> None:
                plain.close()

        return SqliteOnLoop()
    if sqlite:
        import aiosqlite

        connection = await aiosqlite.connect(get_settings().sqlite_path)

        class SqliteRaw(_Raw):
            async def fetch(self, sql: str, params: list[Any]) -> int:
                async with connection.execute(sql, params) as cursor:
                    return len(await cursor.fetchall())

            async def close(self) -> None:
                await connection.close()

        return SqliteRaw()
    import asyncpg

    pg = await asyncpg.connect(get_settings().database_url)

    class PostgresRaw(_Raw):
        async def fetch(self, sql: str, params: list[Any]) -> int:
            return len(await pg.fetch(sql, *params))

        async def close(self) -> None:
            await pg.close()

    return PostgresRaw()
