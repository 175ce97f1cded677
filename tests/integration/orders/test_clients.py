"""Clients and contacts: the company's address book, searchable by name and city."""

from __future__ import annotations

from litestar import Litestar

from tests.client import ApiClient
from tests.factories import (
    make_building,
    make_client,
    make_company,
    make_contact,
    make_employee,
)


async def test_client_list_is_by_name_and_searchable_by_name_or_city(app: Litestar) -> None:
    company = await make_company()
    await make_client(company, "Zwicky Treuhand")
    await make_client(company, "Äbi Immobilien")
    await make_client(company, "Keller AG")
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        names = [c["name"] for c in (await client.get("/api/clients")).json()]
        assert sorted(names) == sorted(["Zwicky Treuhand", "Äbi Immobilien", "Keller AG"])
        found = (await client.get("/api/clients", params={"q": "keller"})).json()
        assert [c["name"] for c in found] == ["Keller AG"]
        found = (await client.get("/api/clients", params={"q": "äbi"})).json()
        assert [c["name"] for c in found] == ["Äbi Immobilien"]
        # make_client puts every client in Zürich.
        assert len((await client.get("/api/clients", params={"q": "zürich"})).json()) == 3


async def test_client_detail_lists_its_buildings_and_their_contacts(app: Litestar) -> None:
    company = await make_company()
    client_id = await make_client(company, "Keller AG")
    building = await make_building(company, client_id, street="Seestrasse 5", city="Winterthur")
    office = await make_contact(company, client_id=client_id, last_name="Meier")
    caretaker = await make_contact(
        company, building_id=building, first_name="Peter", last_name="Huber", salutation="mr"
    )
    other_client = await make_client(company, "Brunner AG")
    await make_contact(company, client_id=other_client, last_name="Brunner")
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        detail = (await client.get(f"/api/clients/{client_id}")).json()
        contact = (await client.get(f"/api/contacts/{caretaker}")).json()
    assert detail["name"] == "Keller AG"
    assert [b["address"] for b in detail["buildings"]] == ["Seestrasse 5, 8001 Winterthur"]
    assert [c["id"] for c in detail["contacts"]] == [office, caretaker]
    assert contact["building_id"] == building
    assert contact["client_id"] is None
    assert (contact["salutation"], contact["first_name"], contact["last_name"]) == (
        "mr",
        "Peter",
        "Huber",
    )
