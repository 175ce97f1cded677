"""The spreadsheet import through HTTP, on both databases: upload, check (what would be
created, updated, left unchanged, and each row's error), import, and the same file again
changing nothing. Every kind of bad input gets its code and message and, in atomic mode,
imports nothing; per row, the good rows are kept."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from organisatrice.imports import service
from organisatrice.imports.tables import ImportJob
from organisatrice.orders.tables import Building, Client, Contact, Order, RecordChange
from organisatrice.orders.writes import upsert
from organisatrice.roles.policy import Role
from organisatrice.settings import get_settings
from tests.client import ApiClient
from tests.factories import MadeEmployee, make_company, make_employee, make_pdf
from tests.unit.imports.spreadsheets import csv_bytes, xlsx_bytes

CLIENT_HEADER = ["Kundennummer", "Firma", "Strasse", "PLZ", "Ort", "E-Mail", "Externe ID"]


def _clients(n: int, *, start: int = 0) -> list[list[str]]:
    return [
        [
            f"{1000 + i}",
            f"Müller & Söhne {i} AG",
            f"Seestrasse {i}",
            "8002",
            "Zürich",
            f"info{i}@kunde.example",
            f"K{i}",
        ]
        for i in range(start, start + n)
    ]


class Office:
    """A back-office employee's browser, and the company's records as the tests look at them."""

    def __init__(self, client: ApiClient, company_id: int, employee: MadeEmployee) -> None:
        self.client = client
        self.company_id = company_id
        self.employee = employee

    async def upload(
        self,
        data: bytes,
        *,
        kind: str = "client",
        filename: str = "kunden.csv",
        mode: str | None = None,
        mapping: list[str | None] | None = None,
        expect: int = 201,
    ) -> dict[str, Any]:
        form = {"kind": kind}
        if mode is not None:
            form["mode"] = mode
        if mapping is not None:
            form["mapping"] = msgspec.json.encode(mapping).decode()
        answer = await self.client.post(
            "/api/imports",
            files={"file": (filename, data, "application/octet-stream")},
            data=form,
        )
        assert answer.status_code == expect, answer.text
        return dict(answer.json())

    async def job(self, job_id: int) -> dict[str, Any]:
        answer = await self.client.get(f"/api/imports/{job_id}")
        assert answer.status_code == 200, answer.text
        return dict(answer.json())

    async def start(self, job_id: int, what: str, *, expect: int = 202) -> dict[str, Any]:
        answer = await self.client.post(f"/api/imports/{job_id}/{what}")
        assert answer.status_code == expect, answer.text
        if expect != 202:
            return dict(answer.json())
        return await self.finished(job_id)

    async def finished(self, job_id: int) -> dict[str, Any]:
        for _ in range(600):
            job = await self.job(job_id)
            if job["status"] not in ("checking", "importing"):
                return job
            await asyncio.sleep(0.05)
        raise AssertionError(f"import {job_id} did not finish: {job}")

    async def check(self, job_id: int) -> dict[str, Any]:
        return await self.start(job_id, "check")

    async def run(self, job_id: int) -> dict[str, Any]:
        return await self.start(job_id, "run")

    async def count(self, table: Any) -> int:
        return int(await table.count().where(table.company == self.company_id))


@pytest.fixture
async def office(app: Litestar) -> AsyncIterator[Office]:
    company_id = await make_company()
    employee = await make_employee(company_id, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, employee.email) as client:
        yield Office(client, company_id, employee)
    await service.settle()


def _counts(created: int = 0, updated: int = 0, unchanged: int = 0, failed: int = 0) -> dict:
    return {"created": created, "updated": updated, "unchanged": unchanged, "failed": failed}


async def test_upload_check_import_then_the_same_file_again_changes_nothing(
    office: Office,
) -> None:
    data = csv_bytes([CLIENT_HEADER, *_clients(3)], encoding="cp1252")

    job = await office.upload(data)
    assert job["status"] == "uploaded"
    assert (job["file_type"], job["encoding"], job["delimiter"]) == ("csv", "cp1252", ";")
    assert [c["field"] for c in job["columns"]] == [
        "number",
        "name",
        "street",
        "postal_code",
        "city",
        "email",
        "external_id",
    ]
    assert job["missing"] == []
    assert job["preview"][0][1] == "Müller & Söhne 0 AG"
    assert job["rows_total"] == 3

    checked = await office.check(job["id"])
    assert checked["status"] == "checked"
    assert checked["check"] == _counts(created=3)
    assert checked["result"] is None
    assert await office.count(Client) == 0

    done = await office.run(job["id"])
    assert done["status"] == "done"
    assert done["result"] == _counts(created=3)
    assert done["rows_done"] == 3
    assert done["finished_at"] is not None
    stored = await Client.select(Client.name, Client.number, Client.external_id).where(
        Client.company == office.company_id
    )
    assert sorted(r["external_id"] for r in stored) == ["K0", "K1", "K2"]
    assert {r["name"] for r in stored} >= {"Müller & Söhne 0 AG"}
    logged = await RecordChange.select(RecordChange.source, RecordChange.employee).where(
        RecordChange.company == office.company_id
    )
    assert {(r["source"], r["employee"]) for r in logged} == {("import", office.employee.id)}

    again = await office.upload(data)
    assert (await office.run(again["id"]))["result"] == _counts(unchanged=3)
    assert await RecordChange.count().where(RecordChange.company == office.company_id) == 3

    log = (await office.client.get("/api/imports")).json()
    assert [item["id"] for item in log["items"]] == [again["id"], job["id"]]
    assert log["items"][0]["uploaded_by"]["id"] == office.employee.id


async def test_a_changed_row_is_one_update(office: Office) -> None:
    rows = _clients(3)
    await office.run((await office.upload(csv_bytes([CLIENT_HEADER, *rows])))["id"])
    rows[1][4] = "Winterthur"

    job = await office.upload(csv_bytes([CLIENT_HEADER, *rows], delimiter=","))
    checked = await office.check(job["id"])
    done = await office.run(job["id"])

    assert checked["check"] == _counts(updated=1, unchanged=2)
    assert done["result"] == _counts(updated=1, unchanged=2)
    city = await Client.select(Client.city).where(
        (Client.company == office.company_id) & (Client.external_id == "K1")
    )
    assert city == [{"city": "Winterthur"}]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
@pytest.mark.parametrize("delimiter", [";", ","])
async def test_csv_in_each_encoding_and_delimiter_imports_the_same_names(
    office: Office, encoding: str, delimiter: str
) -> None:
    header = ["Référence", "Raison sociale", "Localité"]
    rows = [["K1", "Gérance Bérard SA", "Genève"], ["K2", "Zoë's Café", "Zürich"]]

    job = await office.upload(csv_bytes([header, *rows], delimiter=delimiter, encoding=encoding))
    done = await office.run(job["id"])

    assert done["result"] == _counts(created=2)
    names = await Client.select(Client.name, Client.city).where(Client.company == office.company_id)
    assert sorted((r["name"], r["city"]) for r in names) == [
        ("Gérance Bérard SA", "Genève"),
        ("Zoë's Café", "Zürich"),
    ]


async def test_an_xlsx_of_orders_with_their_buildings_and_responsible(office: Office) -> None:
    await office.run((await office.upload(csv_bytes([CLIENT_HEADER, *_clients(1)])))["id"])
    buildings = csv_bytes(
        [
            ["ID", "Kunde", "Strasse", "Ort"],
            ["B1", "K0", "Weg 1", "Bern"],
            ["B2", "K0", "Weg 2", "Bern"],
        ]
    )
    buildings_job = await office.upload(buildings, kind="building")
    assert (await office.run(buildings_job["id"]))["result"] == _counts(created=2)
    header = ["Rif", "Numero", "Titolo", "Stato", "Cliente", "Edifici", "Responsabile", "Inizio"]
    data = xlsx_bytes(
        [
            header,
            [
                "O1",
                4711,
                "Servizio",
                "completato",
                "K0",
                "B1, B2",
                office.employee.email,
                date(2026, 11, 2),
            ],
        ]
    )

    job = await office.upload(data, kind="order", filename="ordini.xlsx")
    done = await office.run(job["id"])

    assert job["file_type"] == "xlsx"
    assert done["result"] == _counts(created=1), done["errors"]
    order = await Order.select(Order.number, Order.status, Order.start_date).where(
        Order.company == office.company_id
    )
    assert order == [{"number": "4711", "status": "completed", "start_date": date(2026, 11, 2)}]
    again = await office.upload(data, kind="order", filename="ordini.xlsx")
    assert (await office.run(again["id"]))["result"] == _counts(unchanged=1)


async def test_columns_mapped_by_hand(office: Office) -> None:
    data = csv_bytes([["Schlüssel Alt", "Bezeichnung Kunde"], ["K1", "Meier AG"]])

    job = await office.upload(data)
    assert job["missing"] == ["external_id", "name"]
    refused = await office.start(job["id"], "check", expect=422)
    assert refused["code"] == "missing_column"
    assert "clients needs a column for: external id, name" in refused["detail"]

    changed = await office.client.patch(
        f"/api/imports/{job['id']}", json={"mapping": ["external_id", "name"]}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["missing"] == []
    assert (await office.run(job["id"]))["result"] == _counts(created=1)


async def test_a_mapping_given_with_the_upload(office: Office) -> None:
    data = csv_bytes([["A", "B", "C"], ["K1", "egal", "Meier AG"]])

    job = await office.upload(data, mapping=["external_id", None, "name"])

    assert [c["field"] for c in job["columns"]] == ["external_id", None, "name"]
    assert job["missing"] == []


async def test_work_items_in_a_spreadsheet_are_refused(office: Office) -> None:
    data = csv_bytes([["ID", "Nummer", "Titel", "Kunde", "Arbeit"], ["O1", "1", "T", "K1", "x"]])
    job = await office.upload(data, kind="order")

    answer = await office.client.patch(
        f"/api/imports/{job['id']}",
        json={"mapping": ["external_id", "number", "title", "client", "work_items"]},
    )

    assert answer.status_code == 422
    assert answer.json()["code"] == "api_only"


# Bad input: each gets its code and message, and atomic mode imports nothing.


async def _refused_atomically(office: Office, data: bytes, kind: str = "client") -> list[dict]:
    job = await office.upload(data, kind=kind)
    checked = await office.check(job["id"])
    assert checked["status"] == "checked"
    imported = await office.run(job["id"])
    assert imported["status"] == "failed"
    assert imported["problem_code"] == "rows_refused"
    assert imported["problem"].startswith("Nothing was imported:")
    assert imported["result"] == _counts()
    assert imported["errors"] == checked["errors"]
    for table in (Client, Building, Contact):
        assert await office.count(table) == 0
    return list(imported["errors"])


async def test_the_same_external_id_twice_in_a_file(office: Office) -> None:
    rows = _clients(3)
    rows[2][6] = "K0"

    errors = await _refused_atomically(office, csv_bytes([CLIENT_HEADER, *rows]))

    assert [(e["row"], e["code"], e["column"]) for e in errors] == [
        (4, "duplicate_external_id", "Externe ID")
    ]
    assert "also in row 2" in errors[0]["message"]


async def test_an_invalid_email(office: Office) -> None:
    rows = _clients(3)
    rows[1][5] = "info at kunde"

    errors = await _refused_atomically(office, csv_bytes([CLIENT_HEADER, *rows]))

    assert [(e["row"], e["code"], e["field"], e["column"]) for e in errors] == [
        (3, "invalid_email", "email", "E-Mail")
    ]


async def test_an_unknown_reference(office: Office) -> None:
    data = csv_bytes(
        [["Externe ID", "Nachname", "Kunde"], ["P1", "Meier", "K404"], ["P2", "Huber", "K405"]]
    )

    errors = await _refused_atomically(office, data, kind="contact")

    assert [(e["row"], e["code"], e["column"]) for e in errors] == [
        (2, "unknown_reference", "Kunde"),
        (3, "unknown_reference", "Kunde"),
    ]
    assert 'No client has the external id "K404"' in errors[0]["message"]


async def test_a_cell_starting_with_a_formula(office: Office) -> None:
    rows = _clients(2)
    rows[1][1] = '=HYPERLINK("http://evil.example","Klick")'

    errors = await _refused_atomically(office, csv_bytes([CLIENT_HEADER, *rows]))

    assert [(e["row"], e["code"], e["column"]) for e in errors] == [(3, "formula", "Firma")]


async def test_a_missing_required_column(office: Office) -> None:
    data = csv_bytes([["Externe ID", "Ort"], ["K1", "Bern"]])
    job = await office.upload(data)

    for what in ("check", "run"):
        refused = await office.start(job["id"], what, expect=422)
        assert (refused["code"], refused["field"]) == ("missing_column", "mapping")
        assert "needs a column for: name" in refused["detail"]
    assert (await office.job(job["id"]))["status"] == "uploaded"
    assert await office.count(Client) == 0


@pytest.mark.parametrize(
    ("data", "status", "code"),
    [
        pytest.param(b"", 422, "empty_file", id="empty"),
        pytest.param(csv_bytes([CLIENT_HEADER]), 422, "empty_file", id="header only"),
        pytest.param(
            csv_bytes([CLIENT_HEADER, *_clients(2)], encoding="utf-16"),
            422,
            "wrong_encoding",
            id="utf-16",
        ),
        pytest.param(make_pdf() + bytes(range(256)), 415, "unsupported_type", id="pdf"),
    ],
)
async def test_a_file_that_cannot_be_imported_is_refused_and_not_kept(
    office: Office, data: bytes, status: int, code: str
) -> None:
    refused = await office.upload(data, expect=status)

    assert (refused["code"], refused["field"]) == (code, "file")
    assert refused["detail"]
    assert await office.count(ImportJob) == 0


async def test_a_file_over_the_size_limit(office: Office, monkeypatch: pytest.MonkeyPatch) -> None:
    small = msgspec.structs.replace(get_settings(), max_import_bytes=1000)
    monkeypatch.setattr(service, "get_settings", lambda: small)

    refused = await office.upload(csv_bytes([CLIENT_HEADER, *_clients(50)]), expect=413)

    assert refused["code"] == "too_large"
    assert refused["detail"].endswith(
        "at most 1 kB can be imported at once. Split it into several files."
    )
    assert await office.count(ImportJob) == 0


async def test_per_row_mode_keeps_the_good_rows(office: Office) -> None:
    rows = _clients(4)
    rows[1][5] = "kaputt"
    rows[3][1] = "@SUM(A1)"

    job = await office.upload(csv_bytes([CLIENT_HEADER, *rows]), mode="per_row")
    done = await office.run(job["id"])

    assert done["status"] == "done"
    assert done["result"] == _counts(created=2, failed=2)
    assert done["check"] is None
    assert [(e["row"], e["code"]) for e in done["errors"]] == [
        (3, "invalid_email"),
        (5, "formula"),
    ]
    assert done["error_count"] == 2
    assert await office.count(Client) == 2


async def test_a_large_file_is_read_in_parts_with_progress(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "CHUNK_ROWS", 7)
    rows = _clients(40)
    rows[33][6] = "K5"

    job = await office.upload(csv_bytes([CLIENT_HEADER, *rows]), mode="per_row")
    done = await office.run(job["id"])

    assert done["rows_done"] == done["rows_total"] == 40
    assert done["result"] == _counts(created=39, failed=1)
    assert [(e["row"], e["code"]) for e in done["errors"]] == [(35, "duplicate_external_id")]


async def test_a_finished_import_is_closed_and_a_running_one_cannot_start_twice(
    office: Office,
) -> None:
    job = await office.upload(csv_bytes([CLIENT_HEADER, *_clients(1)]))
    await office.run(job["id"])

    again = await office.start(job["id"], "run", expect=409)
    assert again["code"] == "import_done"

    other = await office.upload(csv_bytes([CLIENT_HEADER, *_clients(1, start=5)]))
    await ImportJob.update({ImportJob.status: "checking"}).where(ImportJob.id == other["id"])
    # Fresh heartbeat: another server is running it.
    await ImportJob.update({ImportJob.heartbeat_at: datetime.now(UTC)}).where(
        ImportJob.id == other["id"]
    )
    running = await office.start(other["id"], "check", expect=409)
    assert running["code"] == "import_running"


async def test_a_job_whose_server_ended_shows_failed_with_what_it_wrote(office: Office) -> None:
    job = await office.upload(csv_bytes([CLIENT_HEADER, *_clients(1)]))
    await ImportJob.update(
        {
            ImportJob.status: "importing",
            ImportJob.action: "import",
            ImportJob.created: 2000,
            ImportJob.rows_done: 2000,
            ImportJob.heartbeat_at: datetime.now(UTC) - timedelta(minutes=10),
        }
    ).where(ImportJob.id == job["id"])

    found = await office.job(job["id"])

    assert found["status"] == "failed"
    assert found["problem_code"] == "interrupted"
    assert "2000 records were created and 0 updated; they stay" in found["problem"]
    assert found["result"]["created"] == 2000
    closed = await office.start(job["id"], "run", expect=409)
    assert closed["code"] == "import_done"


async def test_data_changed_between_the_check_and_the_write_stops_the_import_there(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Atomic mode checks the whole file, then writes it part by part; someone deleting a
    client the file names in between is caught by upsert's own checks of that part."""
    await office.run((await office.upload(csv_bytes([CLIENT_HEADER, *_clients(2)])))["id"])
    monkeypatch.setattr(service, "CHUNK_ROWS", 2)
    writes = []

    async def upsert_meanwhile(*args: Any, **kw: Any) -> Any:
        if not kw.get("dry_run"):
            writes.append(1)
            if len(writes) == 2:
                await Client.delete().where(
                    (Client.company == office.company_id) & (Client.external_id == "K1")
                )
        return await upsert(*args, **kw)

    monkeypatch.setattr(service, "upsert", upsert_meanwhile)
    data = csv_bytes(
        [["ID", "Nachname", "Kunde"]] + [[f"P{i}", "Meier", f"K{i // 2}"] for i in range(4)]
    )

    job = await office.upload(data, kind="contact")
    stopped = await office.run(job["id"])

    assert stopped["status"] == "failed"
    assert stopped["problem_code"] == "changed_meanwhile"
    assert "stopped at row 4" in stopped["problem"]
    assert "2 records were created and 0 updated; they stay" in stopped["problem"]
    assert stopped["result"] == _counts(created=2)
    assert await office.count(Contact) == 2


async def test_a_server_stopping_mid_import_leaves_the_job_saying_so(
    office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    writing, never = asyncio.Event(), asyncio.Event()

    async def upsert_hanging(*args: Any, **kw: Any) -> Any:
        if not kw.get("dry_run"):
            writing.set()
            await never.wait()
        return await upsert(*args, **kw)

    monkeypatch.setattr(service, "upsert", upsert_hanging)
    job = await office.upload(csv_bytes([CLIENT_HEADER, *_clients(2)]))
    await office.client.post(f"/api/imports/{job['id']}/run")
    await writing.wait()
    assert (await office.job(job["id"]))["status"] == "importing"

    await service.stop_jobs()

    stopped = await office.job(job["id"])
    assert (stopped["status"], stopped["problem_code"]) == ("failed", "interrupted")
    assert stopped["problem"].endswith("Nothing was written.")
    assert await office.count(Client) == 0


async def test_another_companys_import_is_not_found(app: Litestar, office: Office) -> None:
    job = await office.upload(csv_bytes([CLIENT_HEADER, *_clients(1)]))
    other_company = await make_company()
    stranger = await make_employee(other_company, roles={Role.BACKOFFICE})

    async with ApiClient.signed_in(app, stranger.email) as client:
        assert (await client.get(f"/api/imports/{job['id']}")).status_code == 404
        assert (await client.post(f"/api/imports/{job['id']}/run")).status_code == 404
        assert (await client.get("/api/imports")).json()["total"] == 0


async def test_only_back_office_imports(app: Litestar) -> None:
    company_id = await make_company()
    dispatcher = await make_employee(company_id, roles={Role.DISPATCHER})

    async with ApiClient.signed_in(app, dispatcher.email) as client:
        answer = await client.post(
            "/api/imports",
            files={"file": ("k.csv", csv_bytes([CLIENT_HEADER]), "text/csv")},
            data={"kind": "client"},
        )

    assert answer.status_code == 403
