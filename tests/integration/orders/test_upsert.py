"""Data in from the company's own systems: batches by external id through an API token, on
both databases. Sending the same rows again changes nothing; one changed field is one update,
recorded as the token; bad rows name the row, the field and why."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar

from organisatrice.orders.tables import (
    Client,
    Contact,
    Order,
    RecordChange,
    WorkItem,
)
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import MadeEmployee, make_company, make_employee, make_template, set_company

SIZE = 1_000


async def _erp(app: Litestar, company: int, scopes: list[str]) -> str:
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as office:
        made = await office.post("/api/tokens", json={"name": "ERP", "scopes": scopes})
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


def _clients(n: int) -> list[dict[str, Any]]:
    return [
        {"external_id": f"C{i}", "name": f"Kunde {i} AG", "city": "Zürich", "language": "de"}
        for i in range(n)
    ]


def _buildings(n: int) -> list[dict[str, Any]]:
    return [
        {"external_id": f"B{i}", "client": f"C{i}", "street": f"Seestrasse {i}", "city": "Zürich"}
        for i in range(n)
    ]


def _contacts(n: int) -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"P{i}",
            "client": f"C{i}",
            "salutation": "ms",
            "first_name": "Anna",
            "last_name": f"Meier{i}",
            "email": f"anna{i}@kunde.example",
        }
        for i in range(n)
    ]


def _orders(n: int, technician: str) -> list[dict[str, Any]]:
    return [
        {
            "external_id": f"O{i}",
            "number": f"2026-{i:05d}",
            "title": "Heizungsservice",
            "status": "completed",
            "client": f"C{i}",
            "buildings": [f"B{i}"],
            "start_date": "2026-11-02",
            "work_items": [
                {
                    "date": "2026-11-03",
                    "technician": technician,
                    "hours": 1.5 + k,
                    "description": f"Arbeit {k}",
                }
                for k in range(3)
            ],
            "materials": [{"article": "Dichtung", "quantity": 2, "unit": "pc"}],
        }
        for i in range(n)
    ]


async def _send(erp: ApiClient, kind: str, rows: list[dict[str, Any]], **body: Any) -> Any:
    answer = await erp.http.post(f"/api/{kind}/batch", json={"rows": rows, **body})
    assert answer.status_code == 200, answer.text
    return answer.json()


async def test_a_token_brings_in_1000_of_each_and_the_same_batches_again_change_nothing(
    app: Litestar,
) -> None:
    company = await make_company()
    technician = await make_employee(company, roles={Role.TECHNICIAN})
    secret = await _erp(app, company, ["contacts:write", "orders:write"])
    batches = {
        "clients": _clients(SIZE),
        "buildings": _buildings(SIZE),
        "contacts": _contacts(SIZE),
        "orders": _orders(SIZE, technician.email),
    }
    async with ApiClient.with_token(app, secret) as erp:
        for kind, rows in batches.items():
            for start in range(0, SIZE, 500):
                done = await _send(erp, kind, rows[start : start + 500])
                assert (done["created"], done["failed"], done["written"]) == (500, 0, True)
        logged = await RecordChange.count().where(RecordChange.company == company)
        assert logged == 4 * SIZE
        for kind, rows in batches.items():
            again = await _send(erp, kind, rows)
            assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, SIZE), kind
    assert await RecordChange.count().where(RecordChange.company == company) == logged
    assert await Order.count().where(Order.company == company) == SIZE
    assert await WorkItem.count().where(WorkItem.company == company) == 3 * SIZE
    one = await Contact.select(Contact.client.name, Contact.email).where(
        (Contact.company == company) & (Contact.external_id == "P7")
    )
    assert one == [{"client.name": "Kunde 7 AG", "email": "anna7@kunde.example"}]


async def test_one_changed_email_is_one_recorded_update_and_the_next_draft_proposes_it(
    app: Litestar,
) -> None:
    company = await make_company()
    await set_company(company, sender_address="office@firm.example")
    technician = await make_employee(company, roles={Role.TECHNICIAN})
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    template = await make_template(company)
    secret = await _erp(app, company, ["contacts:write", "orders:write"])
    async with ApiClient.with_token(app, secret) as erp:
        await _send(erp, "clients", _clients(3))
        await _send(erp, "buildings", _buildings(3))
        await _send(erp, "contacts", _contacts(3))
        await _send(erp, "orders", _orders(3, technician.email))
        before = await RecordChange.count().where(RecordChange.company == company)
        fixed = _contacts(3)
        fixed[1]["email"] = "anna.neu@kunde.example"
        result = await _send(erp, "contacts", fixed)
    assert (result["updated"], result["unchanged"]) == (1, 2)
    assert [r["outcome"] for r in result["rows"]] == ["unchanged", "updated", "unchanged"]
    changes = await RecordChange.select().where(
        (RecordChange.company == company) & (RecordChange.id > 0)
    )
    assert len(changes) == before + 1
    last = changes[-1]
    assert (last["subject"], last["action"], last["source"]) == ("contact", "updated", "api")
    assert last["token"] is not None and last["employee"] is None
    assert '"email":["anna1@kunde.example","anna.neu@kunde.example"]' in last["changes"]
    order = await Order.select(Order.id).where(
        (Order.company == company) & (Order.external_id == "O1")
    )
    contact = await Contact.select(Contact.id).where(
        (Contact.company == company) & (Contact.external_id == "P1")
    )
    draft = await _draft(app, dispatcher, order[0]["id"], template, contact[0]["id"])
    assert [r["email"] for r in draft["recipients"]["to"]] == ["anna.neu@kunde.example"]


async def _draft(
    app: Litestar, employee: MadeEmployee, order_id: int, template: int, contact: int
) -> Any:
    async with ApiClient.signed_in(app, employee.email) as client:
        made = await client.post(
            f"/api/orders/{order_id}/drafts", json={"template_id": template, "contact_id": contact}
        )
    assert made.status_code == 201, made.text
    return made.json()


async def test_bad_rows_name_row_field_and_why_and_an_atomic_batch_writes_nothing(
    app: Litestar,
) -> None:
    company = await make_company()
    secret = await _erp(app, company, ["contacts:write"])
    async with ApiClient.with_token(app, secret) as erp:
        await _send(erp, "clients", _clients(2))
        rows = _contacts(6)
        rows[1]["email"] = "anna@@kunde"
        rows[2]["client"] = "NO-SUCH-CLIENT"
        rows[3]["external_id"] = "P0"
        del rows[4]["client"]
        rows[5]["client"] = "C1"
        result = await _send(erp, "contacts", rows)
        assert result["written"] is False
        assert await Contact.count().where(Contact.company == company) == 0
        found = {(e["row"], e["field"], e["code"]) for e in result["errors"]}
        assert found == {
            (1, "email", "invalid_email"),
            (2, "client", "unknown_reference"),
            (3, "external_id", "duplicate_external_id"),
            (4, "client", "missing_field"),
        }
        assert all(e["message"] for e in result["errors"])
        per_row = await _send(erp, "contacts", rows, mode="per_row")
    assert per_row["written"] is True
    assert (per_row["created"], per_row["failed"]) == (2, 4)
    saved = await Contact.select(Contact.external_id).where(Contact.company == company)
    assert sorted(r["external_id"] for r in saved) == ["P0", "P5"]


async def test_a_batch_row_without_external_id_or_required_field_is_refused(
    app: Litestar,
) -> None:
    company = await make_company()
    secret = await _erp(app, company, ["contacts:write", "orders:write"])
    async with ApiClient.with_token(app, secret) as erp:
        clients = await _send(erp, "clients", [{"name": "Ohne Schlüssel"}, {"external_id": "X"}])
        orders = await _send(erp, "orders", [{"external_id": "O1", "title": "Ohne Nummer"}])
        bad_field = await erp.http.post(
            "/api/clients/batch", json={"rows": [{"external_id": "Y", "name": "A\r\nB"}]}
        )
    assert {(e["row"], e["field"], e["code"]) for e in clients["errors"]} == {
        (0, "external_id", "missing_field"),
        (1, "name", "missing_field"),
    }
    assert {e["field"] for e in orders["errors"]} == {"number", "client"}
    assert bad_field.status_code == 400
    assert "rows[0].name" in bad_field.json()["detail"]
    assert await Client.count().where(Client.company == company) == 0


async def test_an_orders_work_is_replaced_only_when_it_differs(app: Litestar) -> None:
    company = await make_company()
    technician = await make_employee(company, roles={Role.TECHNICIAN})
    secret = await _erp(app, company, ["contacts:write", "orders:write"])
    async with ApiClient.with_token(app, secret) as erp:
        await _send(erp, "clients", _clients(1))
        await _send(erp, "buildings", _buildings(1))
        order = _orders(1, technician.email)
        await _send(erp, "orders", order)
        order[0]["work_items"][2]["hours"] = 4
        order[0]["responsible"] = [technician.email.upper()]
        changed = await _send(erp, "orders", order)
        again = await _send(erp, "orders", order)
        stranger = dict(order[0], responsible=["nobody@else.example"])
        refused = await _send(erp, "orders", [stranger])
    assert changed["updated"] == 1 and again["unchanged"] == 1
    hours = await WorkItem.select(WorkItem.hours).where(WorkItem.company == company)
    assert sorted(r["hours"] for r in hours) == [1.5, 2.5, 4.0]
    assert refused["errors"][0]["field"] == "responsible"
    assert "nobody@else.example" in refused["errors"][0]["message"]


async def test_screens_create_edit_and_deactivate_a_client_recorded_as_the_person(
    app: Litestar,
) -> None:
    company = await make_company()
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        made = await client.post("/api/clients", json={"name": " Neubau AG ", "city": "Bern"})
        assert made.status_code == 201, made.text
        client_id = made.json()["id"]
        assert made.json()["name"] == "Neubau AG"
        building = await client.post(
            "/api/buildings", json={"client_id": client_id, "street": "Marktgasse 1"}
        )
        assert building.status_code == 201, building.text
        contact = await client.post(
            "/api/contacts",
            json={"building_id": building.json()["id"], "last_name": "Huber", "email": "x@y.ch"},
        )
        assert contact.status_code == 201, contact.text
        bad = await client.patch(f"/api/contacts/{contact.json()['id']}", json={"email": "x@"})
        assert bad.status_code == 422 and bad.json()["field"] == "email"
        off = await client.patch(f"/api/clients/{client_id}", json={"active": False})
        assert off.status_code == 200 and off.json()["active"] is False
        listed = (await client.get("/api/clients", params={"q": "Neubau"})).json()
        everything = (
            await client.get("/api/clients", params={"q": "Neubau", "include_inactive": True})
        ).json()
    assert listed == [] and [c["id"] for c in everything] == [client_id]
    log = await RecordChange.select().where(RecordChange.company == company)
    assert [(r["subject"], r["action"]) for r in log] == [
        ("client", "created"),
        ("building", "created"),
        ("contact", "created"),
        ("client", "updated"),
    ]
    assert {r["employee"] for r in log} == {dispatcher.id}
    assert {r["source"] for r in log} == {"screen"}


async def test_a_dispatcher_creates_an_order_for_a_new_client(app: Litestar) -> None:
    company = await make_company()
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        made = await client.post("/api/clients", json={"name": "Frisch AG"})
        client_id = made.json()["id"]
        building = await client.post(
            "/api/buildings", json={"client_id": client_id, "street": "Weg 3", "city": "Thun"}
        )
        new_order = {
            "number": "A-1",
            "title": "Boiler entkalken",
            "client_id": client_id,
            "building_ids": [building.json()["id"]],
        }
        # Who is responsible is back-office's to say (as on PUT …/responsible).
        refused = await client.post(
            "/api/orders", json={**new_order, "responsible": [dispatcher.email]}
        )
        order = await client.post("/api/orders", json=new_order)
        assert order.status_code == 201, order.text
        detail = order.json()
        changed = await client.patch(f"/api/orders/{detail['id']}", json={"status": "completed"})
    assert refused.status_code == 422 and refused.json()["field"] == "responsible"
    assert detail["client"]["name"] == "Frisch AG"
    assert detail["buildings"][0]["address"] == "Weg 3, Thun"
    assert changed.json()["status"] == "completed"


@pytest.mark.parametrize("role", [Role.TECHNICIAN])
async def test_technicians_read_only_the_clients_of_their_orders_and_write_none(
    app: Litestar, role: Role
) -> None:
    company = await make_company()
    technician = await make_employee(company, roles={role})
    backoffice = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, backoffice.email) as office:
        mine = (await office.post("/api/clients", json={"name": "Mein Kunde"})).json()["id"]
        other = (await office.post("/api/clients", json={"name": "Fremder Kunde"})).json()["id"]
        await office.post(
            "/api/orders",
            json={
                "number": "T-1",
                "title": "Service",
                "client_id": mine,
                "responsible": [technician.email],
            },
        )
    async with ApiClient.signed_in(app, technician.email) as client:
        listed = (await client.get("/api/clients")).json()
        hidden = await client.get(f"/api/clients/{other}")
        write = await client.post("/api/clients", json={"name": "Nope"})
    assert [c["id"] for c in listed] == [mine]
    assert hidden.status_code == 404
    assert write.status_code == 403
