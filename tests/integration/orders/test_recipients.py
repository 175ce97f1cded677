"""Who an order's emails can go to: contacts of its client and of its buildings, with email."""

from __future__ import annotations

from litestar import Litestar

from tests.client import ApiClient
from tests.factories import (
    add_building_to_order,
    make_building,
    make_client,
    make_company,
    make_contact,
    make_employee,
    make_order,
)


async def test_recipients_are_the_client_and_building_contacts_with_email(app: Litestar) -> None:
    company = await make_company()
    client_id = await make_client(company, "Keller Immobilien AG")
    order = await make_order(company, client_id=client_id)
    on_order = order.building_ids[0]
    second_on_order = await make_building(company, client_id, street="Seestrasse 5")
    await add_building_to_order(company, order.id, second_on_order)
    not_on_order = await make_building(company, client_id, street="Hinterhof 9")
    other_client = await make_client(company, "Brunner Verwaltung")

    office = await make_contact(
        company, client_id=client_id, first_name="Anna", last_name="Meier", email="anna@k.example"
    )
    caretaker = await make_contact(
        company, building_id=on_order, first_name="Peter", last_name="Huber", email="ph@k.example"
    )
    janitor = await make_contact(
        company,
        building_id=second_on_order,
        first_name="Lea",
        last_name="Graf",
        email="lea@k.example",
        language="fr",
    )
    await make_contact(company, client_id=client_id, last_name="Ohnemail", email=None)
    await make_contact(company, building_id=on_order, last_name="Auchohne", email="")
    await make_contact(company, building_id=not_on_order, last_name="Hinterhof", email="h@k.ex")
    await make_contact(company, client_id=other_client, last_name="Brunner", email="b@b.example")
    dispatcher = await make_employee(company)

    async with ApiClient.signed_in(app, dispatcher.email) as client:
        answer = await client.get(f"/api/orders/{order.id}/recipients")
        detail = (await client.get(f"/api/orders/{order.id}")).json()
    assert answer.status_code == 200, answer.text
    recipients = answer.json()
    assert [(r["contact_id"], r["name"], r["email"], r["source"]) for r in recipients] == [
        (office, "Anna Meier", "anna@k.example", "client"),
        (caretaker, "Peter Huber", "ph@k.example", "building"),
        (janitor, "Lea Graf", "lea@k.example", "building"),
    ]
    assert [r["building_id"] for r in recipients] == [None, on_order, second_on_order]
    assert recipients[2]["language"] == "fr"
    assert detail["recipients"] == recipients


async def test_order_without_contacts_has_no_recipients(app: Litestar) -> None:
    company = await make_company()
    order = await make_order(company)
    # The same client's other order, with its own building contact, adds nobody to this one.
    other = await make_order(company, client_id=order.client_id, street="Seestrasse 5")
    await make_contact(company, building_id=other.building_ids[0], email="x@k.example")
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        assert (await client.get(f"/api/orders/{order.id}/recipients")).json() == []
        assert len((await client.get(f"/api/orders/{other.id}/recipients")).json()) == 1
