"""GET /api/orders/{id}: everything the office needs about one order on one screen."""

from __future__ import annotations

from datetime import date

from litestar import Litestar

from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import (
    add_building_to_order,
    make_building,
    make_client,
    make_company,
    make_employee,
    make_material,
    make_order,
    make_work_item,
)


async def test_order_detail_shows_work_by_technician_with_total_hours(app: Litestar) -> None:
    company = await make_company()
    luca = await make_employee(
        company, roles={Role.TECHNICIAN}, first_name="Luca", last_name="Rossi"
    )
    mara = await make_employee(
        company, roles={Role.TECHNICIAN}, first_name="Mara", last_name="Keller"
    )
    order = await make_order(company, title="Heizungsservice")
    await make_work_item(
        company, order.id, luca.id, hours=2.5, day=date(2026, 11, 4), description="Brenner"
    )
    await make_work_item(
        company, order.id, mara.id, hours=1.25, day=date(2026, 11, 3), description="Ventil"
    )
    await make_work_item(company, order.id, luca.id, hours=0.5, day=date(2026, 11, 5))
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        answer = await client.get(f"/api/orders/{order.id}")
    assert answer.status_code == 200, answer.text
    detail = answer.json()
    assert [
        (w["date"], w["technician"]["name"], w["hours"], w["description"])
        for w in detail["work_items"]
    ] == [
        ("2026-11-03", "Mara Keller", 1.25, "Ventil"),
        ("2026-11-04", "Luca Rossi", 2.5, "Brenner"),
        ("2026-11-05", "Luca Rossi", 0.5, ""),
    ]
    assert detail["work_items"][0]["technician"]["id"] == mara.id
    assert detail["total_hours"] == 4.25


async def test_order_detail_shows_materials_buildings_client_and_responsible(
    app: Litestar,
) -> None:
    company = await make_company()
    eva = await make_employee(company, first_name="Eva", last_name="Brunner")
    tom = await make_employee(company, roles={Role.COORDINATOR}, first_name="Tom", last_name="Frei")
    client_id = await make_client(company, "Keller Immobilien AG")
    order = await make_order(
        company,
        client_id=client_id,
        number="4711",
        title="Boilerersatz",
        status="in_progress",
        street="Bahnhofstrasse 12",
        responsible=[eva.id, tom.id],
    )
    second = await make_building(company, client_id, street="Seestrasse 5", city="Winterthur")
    await add_building_to_order(company, order.id, second)
    await make_material(company, order.id, article="Dichtung", quantity=2)
    await make_material(company, order.id, article="Kupferrohr", quantity=1.5, unit="m")
    async with ApiClient.signed_in(app, tom.email) as client:
        detail = (await client.get(f"/api/orders/{order.id}")).json()
    assert (detail["number"], detail["title"], detail["status"]) == (
        "4711",
        "Boilerersatz",
        "in_progress",
    )
    assert detail["client"]["id"] == client_id
    assert detail["client"]["name"] == "Keller Immobilien AG"
    assert detail["client"]["city"] == "Zürich"
    assert [b["address"] for b in detail["buildings"]] == [
        "Bahnhofstrasse 12, 8001 Zürich",
        "Seestrasse 5, 8001 Winterthur",
    ]
    assert all(b["client_id"] == client_id for b in detail["buildings"])
    assert [(e["id"], e["name"]) for e in detail["responsible"]] == [
        (eva.id, "Eva Brunner"),
        (tom.id, "Tom Frei"),
    ]
    assert [(m["article"], m["quantity"], m["unit"]) for m in detail["materials"]] == [
        ("Dichtung", 2, "pc"),
        ("Kupferrohr", 1.5, "m"),
    ]
    assert detail["start_date"] == "2026-11-02"


async def test_order_without_work_has_zero_hours_and_empty_lists(app: Litestar) -> None:
    company = await make_company()
    order = await make_order(company)
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        detail = (await client.get(f"/api/orders/{order.id}")).json()
    assert detail["total_hours"] == 0
    assert detail["work_items"] == []
    assert detail["materials"] == []
    assert detail["photos"] == []
    assert detail["documents"] == []
    assert detail["responsible"] == []


async def test_unknown_order_is_a_404_problem(app: Litestar) -> None:
    dispatcher = await make_employee(await make_company())
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        answer = await client.get("/api/orders/999999999")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert "999999999" in answer.json()["detail"]
