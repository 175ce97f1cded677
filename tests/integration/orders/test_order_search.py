"""Finding orders: GET /api/orders searches, filters by status and pages, newest first."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar

from organisatrice.roles.policy import Role
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


async def _numbers(client: ApiClient, **params: Any) -> list[str]:
    answer = await client.get("/api/orders", params=params)
    assert answer.status_code == 200, answer.text
    return [item["number"] for item in answer.json()["items"]]


@pytest.fixture
async def office(app: Litestar) -> Any:
    """A company with four orders that differ in every searchable field, and a dispatcher."""
    company = await make_company()
    keller = await make_client(company, "Keller Immobilien AG")
    await make_contact(company, client_id=keller, first_name="Anna", last_name="Meier")
    await make_order(
        company, client_id=keller, number="A-1001", title="Heizungsservice", status="planned"
    )
    brunner = await make_client(company, "Brunner Verwaltung")
    seestrasse = await make_order(
        company,
        client_id=brunner,
        number="A-1002",
        title="Boilerersatz",
        street="Seestrasse 5",
        status="in_progress",
    )
    await make_contact(
        company, building_id=seestrasse.building_ids[0], first_name="Peter", last_name="Huber"
    )
    schmid = await make_client(company, "Schmid Liegenschaften")
    bern = await make_order(
        company, client_id=schmid, number="A-1003", title="Lüftung prüfen", street="Marktgasse 40"
    )
    await add_building_to_order(
        company, bern.id, await make_building(company, schmid, street="Kramgasse 7", city="Bern")
    )
    frei = await make_client(company, "Frei Wohnbau")
    await make_contact(company, client_id=frei, first_name="Urs", last_name="Meier")
    await make_order(company, client_id=frei, number="A-1004", title="Dachrinne", street="Seeweg 1")
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        yield client


async def test_search_finds_order_by_number(office: ApiClient) -> None:
    assert await _numbers(office, q="A-1002") == ["A-1002"]
    assert await _numbers(office, q="1003") == ["A-1003"]


async def test_search_finds_order_by_title_whatever_the_case(office: ApiClient) -> None:
    assert await _numbers(office, q="boilerersatz") == ["A-1002"]


async def test_search_finds_order_by_client_name(office: ApiClient) -> None:
    assert await _numbers(office, q="Brunner") == ["A-1002"]


async def test_search_finds_order_by_building_street(office: ApiClient) -> None:
    assert await _numbers(office, q="Seestrasse") == ["A-1002"]


async def test_search_finds_order_by_any_of_its_buildings_city(office: ApiClient) -> None:
    # The order's first building is in Zürich, its second in Bern.
    assert await _numbers(office, q="Bern") == ["A-1003"]
    assert await _numbers(office, q="Kramgasse") == ["A-1003"]


async def test_search_finds_order_by_contact_last_name(office: ApiClient) -> None:
    assert sorted(await _numbers(office, q="Meier")) == ["A-1001", "A-1004"]


async def test_search_finds_order_by_building_contact_name(office: ApiClient) -> None:
    assert await _numbers(office, q="Huber") == ["A-1002"]
    assert await _numbers(office, q="peter") == ["A-1002"]


async def test_search_with_several_words_needs_every_word_to_match(office: ApiClient) -> None:
    # "Meier" is a contact of A-1001 and A-1004; only A-1001 is at a Bahnhofstrasse.
    assert await _numbers(office, q="Meier Bahnhofstrasse") == ["A-1001"]
    assert await _numbers(office, q="  meier   SEEWEG ") == ["A-1004"]
    assert await _numbers(office, q="Meier Seestrasse") == []


async def test_search_for_something_nobody_has_finds_nothing(office: ApiClient) -> None:
    answer = await office.get("/api/orders", params={"q": "Zebrastreifen"})
    assert answer.json() == {"items": [], "total": 0, "page": 1, "per_page": 25}


async def test_status_filter_keeps_only_orders_in_that_status(office: ApiClient) -> None:
    assert await _numbers(office, status="in_progress") == ["A-1002"]
    assert await _numbers(office, status="planned") == ["A-1001"]
    assert sorted(await _numbers(office, status="completed")) == ["A-1003", "A-1004"]
    assert await _numbers(office, status="completed", q="Meier") == ["A-1004"]
    assert await _numbers(office, status="invoiced") == []


async def test_order_summary_shows_client_and_first_address(office: ApiClient) -> None:
    answer = await office.get("/api/orders", params={"q": "A-1003"})
    (item,) = answer.json()["items"]
    assert item["title"] == "Lüftung prüfen"
    assert item["client"]["name"] == "Schmid Liegenschaften"
    assert item["address"] == "Marktgasse 40, 8001 Zürich"
    assert item["status"] == "completed"
    assert item["start_date"] == "2026-11-02"


async def test_orders_are_paged_newest_first(app: Litestar) -> None:
    company = await make_company()
    numbers = [(await make_order(company, number=f"P-{n}")).number for n in range(1, 8)]
    newest_first = numbers[::-1]
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        pages = []
        for page in (1, 2, 3):
            answer = await client.get("/api/orders", params={"page": page, "per_page": 3})
            body = answer.json()
            assert (body["total"], body["page"], body["per_page"]) == (7, page, 3)
            pages.append([item["number"] for item in body["items"]])
        assert pages == [newest_first[0:3], newest_first[3:6], newest_first[6:]]
        assert len(pages[2]) == 1  # the last page is partly filled

        past_the_end = (await client.get("/api/orders?page=4&per_page=3")).json()
        assert past_the_end["items"] == []
        assert past_the_end["total"] == 7

        default = (await client.get("/api/orders")).json()
        assert default["per_page"] == 25
        assert [item["number"] for item in default["items"]] == newest_first


async def test_total_counts_matches_not_the_page(app: Litestar) -> None:
    company = await make_company()
    for n in range(5):
        await make_order(company, title="Wartung" if n % 2 == 0 else "Reparatur")
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        body = (await client.get("/api/orders?q=Wartung&per_page=2")).json()
        assert body["total"] == 3
        assert len(body["items"]) == 2


@pytest.mark.parametrize(
    ("query", "field", "says"),
    [
        ("per_page=0", "per_page", ">= 1"),
        ("per_page=1000", "per_page", "<= 100"),
        ("page=0", "page", ">= 1"),
        ("page=first", "page", "int"),
        ("status=lost", "status", "'lost'"),
    ],
)
async def test_bad_listing_parameters_get_a_clear_400(
    app: Litestar, query: str, field: str, says: str
) -> None:
    dispatcher = await make_employee(await make_company())
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        answer = await client.get(f"/api/orders?{query}")
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["status"] == 400
    (error,) = problem["errors"]
    assert error["key"] == field
    assert says in error["message"]


async def test_search_ignores_the_case_of_umlauts(app: Litestar) -> None:
    company = await make_company()
    await make_order(company, number="U-1", title="Überbauung Öltank")
    await make_order(company, number="U-2", client_id=await make_client(company, "MÜLLER AG"))
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        assert await _numbers(client, q="überbauung") == ["U-1"]
        assert await _numbers(client, q="ÖLTANK") == ["U-1"]
        assert await _numbers(client, q="Müller") == ["U-2"]


async def test_search_characters_mean_themselves_not_sql_patterns(app: Litestar) -> None:
    company = await make_company()
    await make_order(company, number="X_1", title="Service")
    await make_order(company, number="XY1", title="100% Kontrolle")
    await make_order(company, number="X\\3", title="Wartung")
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        assert await _numbers(client, q="X_") == ["X_1"]
        assert await _numbers(client, q="100%") == ["XY1"]
        assert await _numbers(client, q="%") == ["XY1"]
        assert await _numbers(client, q="X\\") == ["X\\3"]
        assert await _numbers(client, q="'; DROP TABLE work_order; --") == []
        assert len(await _numbers(client)) == 3
