"""Data in (issue 15): rows brought in through the app against the same rows inserted raw through
the driver, alternately in one run, on the benchmark's database.

- `import_orders`: 100,000 orders with three work items each (tiny: 300) through the batch API,
  `POST /api/orders/batch` with an API token, in batches of 10,000 (tiny: 100), one request at
  a time from one httpx client: every row checked, its client found by external id and its
  technician by email, written with its change-log entry. The app runs under uvicorn
  (`organisatrice serve`, a process of its own). Baseline: the same orders and work items raw
  through the driver in this process, in one transaction: `executemany` into work_order, the
  new ids selected, `executemany` into work_item (sqlite3 on SQLite, asyncpg on PostgreSQL).
  Between rounds (untimed) the round's orders, work items and change-log entries are deleted, so
  every round creates.
- `import_contacts`: a CSV of 100,000 contacts (tiny: 300) uploaded to the spreadsheet import,
  checked and imported as a back-office user in the browser would (session cookie, CSRF),
  polling the import until it is done. Baseline: `executemany` of the same contacts. The app
  server's peak memory (VmHWM of its process) is reported beside the rate.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import httpx
import msgspec

from bench.common import Measurement, Row, alternate, elapsed, ratio_row
from bench.http import app_server

WORK_ITEMS = 3
# One batch request at a time: what an ERP's nightly job does.
CONCURRENT = 1
TARGET = 0.3
MEMORY_TARGET_MB = 300


class Scale(msgspec.Struct, frozen=True):
    orders: int
    batch: int
    clients: int
    contacts: int


def scale(size: str) -> Scale:
    if size == "full":
        return Scale(orders=100_000, batch=10_000, clients=1_000, contacts=100_000)
    return Scale(orders=300, batch=100, clients=20, contacts=300)


class _Counts(msgspec.Struct):
    created: int
    failed: int
    written: bool


# ---------------------------------------------------------------------------- the company


class Company(msgspec.Struct, kw_only=True):
    id: int
    technician_id: int
    technician: str
    secret: str  # its API token's
    clients: dict[str, int]  # external id -> id
    backoffice: str = ""


async def make_company(sc: Scale) -> Company:
    """A company with a technician, a back-office employee and an API token of known secret,
    made directly in the database; its clients come later, through the API."""
    from organisatrice.roles.policy import Role
    from organisatrice.roles.tables import ApiToken
    from tests.factories import make_company as new_company
    from tests.factories import make_employee

    company = await new_company(f"Data In AG {time.time_ns()}")
    technician = await make_employee(company, roles={Role.TECHNICIAN}, first_name="Tom")
    backoffice = await make_employee(company, roles={Role.BACKOFFICE}, first_name="Bea")
    secret = "org_" + secrets.token_urlsafe(32)
    await ApiToken(
        company=company,
        name="Bench ERP",
        scopes=["contacts:write", "orders:write"],
        token_hash=hashlib.sha256(secret.encode()).hexdigest(),
        prefix=secret[:10],
    ).save()
    return Company(
        id=company,
        technician_id=technician.id,
        technician=technician.email,
        backoffice=backoffice.email,
        secret=secret,
        clients={},
    )


def _erp(base: str, secret: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url=base,
        timeout=600,
        headers={"Authorization": f"Bearer {secret}", "Content-Type": "application/json"},
    )


async def _send(client: httpx.AsyncClient, url: str, body: bytes, expected: int) -> None:
    answer = await client.post(url, content=body)
    if answer.status_code != 200:
        raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:500]}")
    counts = msgspec.json.decode(answer.content, type=_Counts)
    if (counts.created, counts.failed, counts.written) != (expected, 0, True):
        raise RuntimeError(f"{url} did not create every row: {answer.text[:500]}")


async def add_clients(client: httpx.AsyncClient, company: Company, sc: Scale) -> None:
    """The clients the orders and contacts name, through the API (untimed)."""
    from organisatrice.orders.tables import Client

    rows = [
        {"external_id": f"C{i}", "name": f"Kunde {i} AG", "city": "Zürich", "language": "de"}
        for i in range(sc.clients)
    ]
    await _send(client, "/api/clients/batch", msgspec.json.encode({"rows": rows}), len(rows))
    found = await Client.select(Client.id, Client.external_id).where(Client.company == company.id)
    company.clients = {r["external_id"]: r["id"] for r in found}


# ---------------------------------------------------------------------------- server memory


def _descendants(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry))
    found, todo = [], [root]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def server_peaks_mb() -> tuple[float, float]:
    """The peak resident memory (VmHWM, in MB) of the app server this process started (the
    `organisatrice serve` process among this process's descendants; under py-spy, its child),
    and the largest of the server's own helper processes (its bounded workers)."""
    server: list[float] = []
    helpers: list[float] = [0.0]
    for pid in _descendants(os.getpid()):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            continue
        if b"py-spy" in argv[0]:
            continue
        peak = next(
            (
                int(line.split()[1]) / 1024
                for line in status.splitlines()
                if line.startswith("VmHWM:")
            ),
            0.0,
        )
        if b"serve" in argv and b"organisatrice" in argv:
            server.append(peak)
        else:
            helpers.append(peak)
    if not server:
        raise RuntimeError("the app server's process was not found")
    return max(server), max(helpers)


# ---------------------------------------------------------------------------- orders


WORK_DATE = date(2026, 11, 3)


def _order_rows(company: Company, sc: Scale) -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"O{i}",
            "number": f"2026-{i:06d}",
            "title": "Heizungsservice",
            "status": "completed",
            "client": f"C{i % sc.clients}",
            "start_date": "2026-11-02",
            "work_items": [
                {
                    "date": WORK_DATE.isoformat(),
                    "technician": company.technician,
                    "hours": 1.5 + k,
                    "description": f"Arbeit {k}",
                }
                for k in range(WORK_ITEMS)
            ],
        }
        for i in range(sc.orders)
    ]


ORDER_COLUMNS = (
    "company", "external_id", "number", "title", "description", "status", "client",
    "start_date", "end_date", "remarks", "created_at", "active",
)  # fmt: skip
ITEM_COLUMNS = ("company", "order", "date", "technician", "hours", "description")


class RawOrders(msgspec.Struct, frozen=True):
    """The same orders as the driver takes them: order tuples, and per external id the work
    items without their order."""

    orders: list[tuple[Any, ...]]
    items: dict[str, list[tuple[Any, ...]]]


def _raw_orders(company: Company, rows: list[dict[str, Any]]) -> RawOrders:
    now = datetime.now(UTC)
    orders = [
        (
            company.id,
            r["external_id"],
            r["number"],
            r["title"],
            "",
            r["status"],
            company.clients[r["client"]],
            date.fromisoformat(r["start_date"]),
            None,
            "",
            now,
            True,
        )
        for r in rows
    ]
    items = {
        r["external_id"]: [
            (date.fromisoformat(w["date"]), company.technician_id, w["hours"], w["description"])
            for w in r["work_items"]
        ]
        for r in rows
    }
    return RawOrders(orders=orders, items=items)


def _insert_sql(table: str, columns: Sequence[str], pg: bool) -> str:
    marks = ", ".join(f"${n}" if pg else "?" for n in range(1, len(columns) + 1))
    names = ", ".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({marks})'  # noqa: S608 - our own names


def _sqlite_connect() -> sqlite3.Connection:
    from organisatrice.core.db import engine

    kwargs = dict(engine().connection_kwargs)  # type: ignore[attr-defined]
    db = sqlite3.connect(**{**kwargs, "isolation_level": None})
    db.execute("PRAGMA foreign_keys = 1")  # as the app's connections
    return db


def _sqlite_orders(company: int, raw: RawOrders) -> None:
    db = _sqlite_connect()
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(_insert_sql("work_order", ORDER_COLUMNS, pg=False), raw.orders)
        ids = db.execute(
            "SELECT id, external_id FROM work_order WHERE company = ?", (company,)
        ).fetchall()
        db.executemany(
            _insert_sql("work_item", ITEM_COLUMNS, pg=False),
            [(company, i, *item) for i, key in ids for item in raw.items[key]],
        )
        db.execute("COMMIT")
    finally:
        db.close()


async def _postgres_orders(company: int, raw: RawOrders) -> None:
    import asyncpg

    from organisatrice.settings import get_settings

    db = await asyncpg.connect(get_settings().database_url)
    try:
        async with db.transaction():
            await db.executemany(_insert_sql("work_order", ORDER_COLUMNS, pg=True), raw.orders)
            ids = await db.fetch(
                "SELECT id, external_id FROM work_order WHERE company = $1", company
            )
            await db.executemany(
                _insert_sql("work_item", ITEM_COLUMNS, pg=True),
                [(company, r["id"], *item) for r in ids for item in raw.items[r["external_id"]]],
            )
    finally:
        await db.close()


async def _clear_orders(company: int) -> None:
    """Untimed, between rounds: what a round inserted goes, so that the next round creates."""
    from organisatrice.orders.tables import Order, RecordChange, WorkItem

    await WorkItem.delete().where(WorkItem.company == company)
    await RecordChange.delete().where(
        (RecordChange.company == company) & (RecordChange.subject == "order")
    )
    await Order.delete().where(Order.company == company)
    await _settle()


async def _settle() -> None:
    """What the database would do on its own between imports, done before a round rather than
    during one: PostgreSQL vacuums the deleted rows away, SQLite checkpoints its WAL."""
    from organisatrice.core.db import is_sqlite
    from organisatrice.settings import get_settings

    if is_sqlite():
        db = _sqlite_connect()
        try:
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            db.close()
        return
    import asyncpg

    db = await asyncpg.connect(get_settings().database_url)
    try:
        for table in ("work_order", "work_item", "record_change", "contact"):
            await db.execute(f"VACUUM ANALYZE {table}")
    finally:
        await db.close()


async def _orders(
    client: httpx.AsyncClient, company: Company, sc: Scale, database: str, rounds: int, warmup: int
) -> Row:
    from organisatrice.core.db import is_sqlite

    rows = _order_rows(company, sc)
    # The JSON bodies made beforehand, as the sender's own work, not the server's.
    parts = [rows[s : s + sc.batch] for s in range(0, len(rows), sc.batch)]
    bodies = [(msgspec.json.encode({"rows": part, "mode": "atomic"}), len(part)) for part in parts]
    raw = _raw_orders(company, rows)
    written = sc.orders * (1 + WORK_ITEMS)

    async def ours() -> Measurement:
        start = time.perf_counter()
        for body, count in bodies:
            await _send(client, "/api/orders/batch", body, count)
        seconds = elapsed(start)
        return {"rows/s": written / seconds, "orders/s": sc.orders / seconds, "s": seconds}

    async def baseline() -> Measurement:
        start = time.perf_counter()
        if is_sqlite():
            _sqlite_orders(company.id, raw)
        else:
            await _postgres_orders(company.id, raw)
        seconds = elapsed(start)
        return {"rows/s": written / seconds, "orders/s": sc.orders / seconds, "s": seconds}

    async def between(_: str) -> None:
        await _clear_orders(company.id)

    measured = await alternate(
        {"api": ours, "raw": baseline}, rounds=rounds, warmup=warmup, between=between
    )
    await _clear_orders(company.id)
    driver = "sqlite3" if is_sqlite() else "asyncpg"
    api = measured["api"]
    return ratio_row(
        benchmark=f"Orders in through the API: {sc.orders:,} with {WORK_ITEMS} work items each",
        database=database,
        unit="rows/s",
        ours=api,
        baseline=measured["raw"],
        baseline_name=f"raw executemany ({driver})",
        key="rows/s",
        target=f"≥ {TARGET}×",
        met=lambda r: r is not None and r >= TARGET,
        note=(
            f"rows = orders + work items ({1 + WORK_ITEMS} per order); "
            f"{api['orders/s']:,.0f} orders/s, {api['s']:.1f} s for {sc.orders:,}; "
            f"POST /api/orders/batch in batches of {sc.batch:,} (atomic, API token), "
            f"{CONCURRENT} request at a time from one httpx client, each order naming its "
            f"client by external id and its technician by email, written with its change-log "
            f"entry; baseline: the same orders and work items in one transaction "
            f"(executemany, ids selected, executemany), no change log; app server peak RSS "
            f"{server_peaks_mb()[0]:.0f} MB"
        ),
    )


# ---------------------------------------------------------------------------- entry


async def run(
    name: str,
    size: str,
    database: str,
    *,
    rounds: int,
    warmup: int,
    env: dict[str, str],
    data_dir: Path,
) -> list[Row]:
    """One of the two benchmarks, each with a company and an app server of its own (so that the
    server's peak memory is the benchmark's own)."""
    sc = scale(size)
    company = await make_company(sc)
    with app_server(env, data_dir) as base:
        async with _erp(base, company.secret) as client:
            await add_clients(client, company, sc)
            if name == "import_orders":
                return [await _orders(client, company, sc, database, rounds, warmup)]
            return await _contacts(base, company, sc, database, rounds, warmup, data_dir)


# ---------------------------------------------------------------------------- contacts

CONTACT_HEADER = (
    "Referenz", "Kunde", "Anrede", "Vorname", "Nachname", "Funktion", "E-Mail", "Telefon",
    "Sprache",
)  # fmt: skip
CONTACT_COLUMNS = (
    "company", "external_id", "client", "building", "salutation", "first_name", "last_name",
    "function", "email", "phone", "language", "active",
)  # fmt: skip
FIRST_NAMES = ("Anna", "Beat", "Chantal", "Daniel", "Élodie", "Fabio", "Gabriela", "Hans")
LAST_NAMES = ("Müller", "Meier", "Schmid", "Keller", "Weber", "Huber", "Rochat", "Bernasconi")
# How often the browser asks how far the import is.
POLL_SECONDS = 0.1


def _contact_cells(i: int, clients: int) -> list[str]:
    first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[i // 8 % len(LAST_NAMES)]
    return [
        f"P{i}",
        f"C{i % clients}",
        "Frau" if i % 2 == 0 else "Herr",
        first,
        last,
        "Hauswart" if i % 3 == 0 else "Verwaltung",
        f"kontakt{i}@kunde{i % clients}.example",
        f"+41 44 {i // 10000 % 1000:03d} {i % 10000:04d}",
        "D",
    ]


def write_contacts_csv(path: Path, sc: Scale) -> int:
    """The contacts as Excel writes "CSV UTF-8" on a Swiss machine: a byte order mark, ";"
    between cells, CRLF after each row, German headers. Answers the file's size."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write(";".join(CONTACT_HEADER) + "\r\n")
        for i in range(sc.contacts):
            out.write(";".join(_contact_cells(i, sc.clients)) + "\r\n")
    return path.stat().st_size


def _raw_contacts(company: Company, sc: Scale) -> list[tuple[Any, ...]]:
    salutations = {"Frau": "ms", "Herr": "mr"}
    return [
        (
            company.id,
            cells[0],
            company.clients[cells[1]],
            None,
            salutations[cells[2]],
            cells[3],
            cells[4],
            cells[5],
            cells[6],
            cells[7],
            "de",
            True,
        )
        for i in range(sc.contacts)
        if (cells := _contact_cells(i, sc.clients))
    ]


def _sqlite_contacts(rows: list[tuple[Any, ...]]) -> None:
    db = _sqlite_connect()
    try:
        db.execute("BEGIN IMMEDIATE")
        db.executemany(_insert_sql("contact", CONTACT_COLUMNS, pg=False), rows)
        db.execute("COMMIT")
    finally:
        db.close()


async def _postgres_contacts(rows: list[tuple[Any, ...]]) -> None:
    import asyncpg

    from organisatrice.settings import get_settings

    db = await asyncpg.connect(get_settings().database_url)
    try:
        async with db.transaction():
            await db.executemany(_insert_sql("contact", CONTACT_COLUMNS, pg=True), rows)
    finally:
        await db.close()


async def _clear_contacts(company: int) -> None:
    from organisatrice.orders.tables import Contact, RecordChange

    await RecordChange.delete().where(
        (RecordChange.company == company) & (RecordChange.subject == "contact")
    )
    await Contact.delete().where(Contact.company == company)
    await _settle()


class _Browser:
    """A back-office employee's browser on the import screen: upload, check, import, asking
    every POLL_SECONDS how far the job is."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client

    def _csrf(self) -> dict[str, str]:
        return {"x-csrftoken": self.client.cookies.get("csrftoken") or ""}

    async def upload(self, name: str, content: bytes) -> int:
        answer = await self.client.post(
            "/api/imports",
            files={"file": (name, content, "text/csv")},
            data={"kind": "contact", "mode": "atomic"},
            headers=self._csrf(),
        )
        if answer.status_code != 201:
            raise RuntimeError(f"the upload answered {answer.status_code}: {answer.text[:500]}")
        job = answer.json()
        if job["missing"] or None in [c["field"] for c in job["columns"]]:
            raise RuntimeError(f"the columns were not all recognised: {job['columns']}")
        return int(job["id"])

    async def start(self, job_id: int, what: str, until: str) -> dict[str, Any]:
        answer = await self.client.post(f"/api/imports/{job_id}/{what}", headers=self._csrf())
        if answer.status_code != 202:
            raise RuntimeError(f"{what} answered {answer.status_code}: {answer.text[:500]}")
        while True:
            await asyncio.sleep(POLL_SECONDS)
            answer = await self.client.get(f"/api/imports/{job_id}")
            answer.raise_for_status()
            job: dict[str, Any] = answer.json()
            if job["status"] not in ("checking", "importing"):
                break
        if job["status"] != until or job["error_count"]:
            raise RuntimeError(
                f"the {what} ended {job['status']}: {job['problem']} {job['errors'][:3]}"
            )
        return job


async def _contacts(
    base: str,
    company: Company,
    sc: Scale,
    database: str,
    rounds: int,
    warmup: int,
    data_dir: Path,
) -> list[Row]:
    from bench.http import signed_in
    from organisatrice.core.db import is_sqlite

    path = data_dir / "Kontakte.csv"
    size = write_contacts_csv(path, sc)
    content = path.read_bytes()  # the file as the browser holds it
    raw = _raw_contacts(company, sc)
    client = await signed_in(base, company.backoffice)
    browser = _Browser(client)
    try:

        async def ours() -> Measurement:
            start = time.perf_counter()
            job_id = await browser.upload(path.name, content)
            uploaded = time.perf_counter()
            await browser.start(job_id, "check", "checked")
            checked = time.perf_counter()
            done = await browser.start(job_id, "run", "done")
            seconds = elapsed(start)
            if done["result"]["created"] != sc.contacts:
                raise RuntimeError(f"the import did not create every contact: {done['result']}")
            return {
                "rows/s": sc.contacts / seconds,
                "s": seconds,
                "upload s": uploaded - start,
                "check s": checked - uploaded,
                "import s": seconds - (checked - start),
            }

        async def baseline() -> Measurement:
            start = time.perf_counter()
            if is_sqlite():
                _sqlite_contacts(raw)
            else:
                await _postgres_contacts(raw)
            seconds = elapsed(start)
            return {"rows/s": sc.contacts / seconds, "s": seconds}

        async def between(_: str) -> None:
            await _clear_contacts(company.id)

        measured = await alternate(
            {"import": ours, "raw": baseline}, rounds=rounds, warmup=warmup, between=between
        )
    finally:
        await client.aclose()
    await _clear_contacts(company.id)
    server, helpers = server_peaks_mb()
    driver = "sqlite3" if is_sqlite() else "asyncpg"
    ran = measured["import"]
    label = f"Contacts in from a CSV file: {sc.contacts:,}"
    rate = ratio_row(
        benchmark=label,
        database=database,
        unit="rows/s",
        ours=ran,
        baseline=measured["raw"],
        baseline_name=f"raw executemany ({driver})",
        key="rows/s",
        target=f"≥ {TARGET}×",
        met=lambda r: r is not None and r >= TARGET,
        note=(
            f'a {size / 1e6:.1f} MB CSV (UTF-8, ";", German headers mapped by their names) '
            f"taken as a back-office user's browser does (session, CSRF): upload "
            f"{ran['upload s']:.1f} s, check (a dry run of every row) {ran['check s']:.1f} s, "
            f"import (atomic; the clean check just made stands, so it reads the file again "
            f"and writes it in parts with change-log entries) "
            f"{ran['import s']:.1f} s, the job asked every {POLL_SECONDS} s how far it is; "
            f"import step alone {sc.contacts / ran['import s']:,.0f} rows/s; baseline: the same "
            f"contacts in one transaction, client ids known, no change log"
        ),
    )
    memory = Row(
        benchmark=f"{label}, peak memory of the app server",
        database=database,
        unit="MB",
        ours=server,
        target=f"< {MEMORY_TARGET_MB} MB",
        met=server < MEMORY_TARGET_MB,
        details={"server VmHWM MB": round(server, 1), "largest helper VmHWM MB": round(helpers, 1)},
        note=(
            f"VmHWM of the `organisatrice serve` process that ran the {rounds + warmup} "
            f"imports of this run (the peak over its whole life); the file's first read runs "
            f"in a bounded worker process of its own: its peak {helpers:.0f} MB"
        ),
    )
    return [rate, memory]
