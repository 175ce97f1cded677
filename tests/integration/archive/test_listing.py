"""The archive across orders, through the API: each filter alone and combined, the sorts, pages
that neither skip nor repeat while mail arrives, who sees what, and refusals that say why."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar import Litestar

from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import MadeEmployee, MadeOrder, make_client, make_company, make_employee
from tests.factories import make_order as _make_order
from tests.integration.archive.listing_helpers import archived, mark


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour, minute, tzinfo=UTC)


class World(msgspec.Struct):
    company: int
    coordinator: MadeEmployee
    technician: MadeEmployee
    authors: dict[str, MadeEmployee]
    clients: dict[str, int]
    orders: dict[str, MadeOrder]
    emails: dict[str, int]
    foreign_coordinator: MadeEmployee
    foreign_client: int
    foreign_author: int
    foreign_email: int


async def _office(name: str) -> tuple[int, MadeEmployee]:
    company = await make_company(name)
    return company, await make_employee(company, roles={Role.COORDINATOR})


@pytest.fixture(scope="module")
async def world(database: None) -> World:
    """Seven emails of one company (times in UTC; the viewers are in Europe/Zurich, UTC+1 in
    November) and one of another company that looks just like them."""
    company, coordinator = await _office("Haustechnik Muster")
    technician = await make_employee(company, roles={Role.TECHNICIAN}, first_name="Tom")
    eva = await make_employee(company, first_name="Eva", last_name="Muster")
    luca = await make_employee(company, first_name="Luca", last_name="Rossi")
    meier = await make_client(company, "Meier AG")
    zuercher = await make_client(company, "Bäckerei Zürcher")
    o1 = await _make_order(
        company, client_id=meier, number="2026-0101", technician_id=technician.id
    )
    o2 = await _make_order(company, client_id=meier, number="2026-0102")
    o3 = await _make_order(company, client_id=zuercher, number="2026-0201")
    e: dict[str, int] = {}
    e["e1"] = await archived(company, o1, eva.id, at=_at(2, 8), to=["anna.meier@meier.example"])
    await mark(e["e1"], "sent", sent_at=_at(2, 8, 1))
    e["e2"] = await archived(
        company,
        o1,
        luca.id,
        at=_at(3, 9),
        kind="photo_documentation",
        to=["anna.meier@meier.example", "hauswart@meier.example"],
        attachments=2,
        subject="Fotodokumentation",
    )
    await mark(e["e2"], "delivered", sent_at=_at(3, 9, 1))
    # 23:30 UTC on the 3rd is half past midnight on the 4th in Zurich.
    e["e3"] = await archived(
        company, o2, eva.id, at=_at(3, 23, 30), kind="offer", to=["Einkauf@Meier.example"]
    )
    await mark(e["e3"], "failed")
    e["e4"] = await archived(company, o3, luca.id, at=_at(5, 10), to=["jo_bauer@zuercher.example"])
    await mark(e["e4"], "bounced", sent_at=_at(5, 10, 1))
    e["e5"] = await archived(
        company, o3, eva.id, at=_at(6, 10), kind="general", to=["jodbauer@zuercher.example"]
    )
    e["e6"] = await archived(
        company,
        o2,
        luca.id,
        at=_at(7, 12),
        to=["einkauf@meier.example"],
        cc=["anna.meier@meier.example"],
    )
    await mark(e["e6"], "read", sent_at=_at(7, 12, 1))
    e["e7"] = await archived(
        company, o1, eva.id, at=_at(8, 7), kind="proof", to=["eva@firm.example"]
    )
    await mark(e["e7"], "sent", sent_at=_at(8, 7, 1))

    foreign, foreign_coordinator = await _office("Konkurrenz GmbH")
    foreign_author = await make_employee(foreign, first_name="Eva", last_name="Muster")
    foreign_client = await make_client(foreign, "Meier AG")
    foreign_order = await _make_order(foreign, client_id=foreign_client, number="2026-0101")
    foreign_email = await archived(
        foreign, foreign_order, foreign_author.id, at=_at(3, 9), to=["anna.meier@meier.example"]
    )
    return World(
        company=company,
        coordinator=coordinator,
        technician=technician,
        authors={"eva": eva, "luca": luca},
        clients={"meier": meier, "zuercher": zuercher},
        orders={"o1": o1, "o2": o2, "o3": o3},
        emails=e,
        foreign_coordinator=foreign_coordinator,
        foreign_client=foreign_client,
        foreign_author=foreign_author.id,
        foreign_email=foreign_email,
    )


@pytest.fixture
async def coordinator(app: Litestar, world: World) -> AsyncIterator[ApiClient]:
    async with ApiClient.signed_in(app, world.coordinator.email) as client:
        yield client


async def _page(client: ApiClient, **params: Any) -> dict[str, Any]:
    answer = await client.get("/api/archive", params=params)
    assert answer.status_code == 200, answer.text
    page: dict[str, Any] = answer.json()
    return page


async def _names(client: ApiClient, world: World, **params: Any) -> list[str]:
    """The emails listed (all pages), by their name in the world, in the order shown."""
    by_id = {v: k for k, v in world.emails.items()}
    names: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **params, **({"cursor": cursor} if cursor else {})}
        page = await _page(client, **query)
        names += [by_id.get(row["id"], f"foreign {row['id']}") for row in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            return names


ALONE = [
    pytest.param({}, "e7 e6 e5 e4 e3 e2 e1", id="no-filter-newest-first"),
    # Days in the viewer's time zone: e3 (23:30 UTC on the 3rd) belongs to the 4th.
    pytest.param({"from": "2026-11-03", "to": "2026-11-03"}, "e2", id="one-day"),
    pytest.param({"from": "2026-11-04", "to": "2026-11-05"}, "e4 e3", id="two-days"),
    pytest.param({"from": "2026-11-06"}, "e7 e6 e5", id="from-only"),
    pytest.param({"to": "2026-11-02"}, "e1", id="to-only"),
    pytest.param({"client": "zuercher"}, "e5 e4", id="client"),
    pytest.param({"kind": "work_report"}, "e6 e4 e1", id="kind"),
    pytest.param({"kind": "proof"}, "e7", id="kind-proof"),
    pytest.param({"order_number": "2026-0101"}, "e7 e2 e1", id="order-number-exact"),
    pytest.param({"order_number": "2026-01"}, "", id="order-number-exact-is-not-prefix"),
    pytest.param({"order_number_prefix": "2026-01"}, "e7 e6 e3 e2 e1", id="order-prefix"),
    pytest.param({"order_number_prefix": "2026-02"}, "e5 e4", id="order-prefix-other"),
    pytest.param({"status": "failed"}, "e3", id="status-failed"),
    pytest.param({"status": "bounced"}, "e4", id="status-bounced"),
    pytest.param({"recipient": "MEIER"}, "e6 e3 e2 e1", id="recipient-any-case"),
    pytest.param({"recipient": "einkauf@"}, "e6 e3", id="recipient-stored-lower-case"),
    # "_" is a character, not a wildcard: jodbauer@ is not jo_bauer@.
    pytest.param({"recipient": "o_b"}, "e4", id="recipient-underscore-literal"),
    pytest.param({"recipient": "nobody"}, "", id="recipient-none"),
    pytest.param({"author": "luca"}, "e6 e4 e2", id="author"),
]

COMBINED = [
    pytest.param({"client": "meier", "kind": "work_report"}, "e6 e1", id="client+kind"),
    pytest.param(
        {"from": "2026-11-03", "status": "failed", "recipient": "meier"}, "e3", id="date+status+to"
    ),
    pytest.param(
        {"author": "luca", "order_number_prefix": "2026-0", "to": "2026-11-05"},
        "e4 e2",
        id="author+prefix+to",
    ),
    pytest.param(
        {"kind": "work_report", "status": "read", "recipient": "anna"}, "e6", id="kind+status+to"
    ),
    pytest.param({"client": "zuercher", "kind": "offer"}, "", id="nothing-matches"),
]


def _query(world: World, given: dict[str, str]) -> dict[str, Any]:
    params: dict[str, Any] = {}
    for key, value in given.items():
        if key == "client":
            params["client_id"] = world.clients[value]
        elif key == "author":
            params["author_id"] = world.authors[value].id
        else:
            params[key] = value
    return params


@pytest.mark.parametrize(("given", "expected"), ALONE)
async def test_each_filter_alone_lists_exactly_its_emails_newest_first(
    coordinator: ApiClient, world: World, given: dict[str, str], expected: str
) -> None:
    assert await _names(coordinator, world, **_query(world, given)) == expected.split()


@pytest.mark.parametrize(("given", "expected"), COMBINED)
async def test_filters_combine(
    coordinator: ApiClient, world: World, given: dict[str, str], expected: str
) -> None:
    assert await _names(coordinator, world, **_query(world, given)) == expected.split()


async def test_sorts_oldest_first_and_by_order_number(coordinator: ApiClient, world: World) -> None:
    assert await _names(coordinator, world, sort="oldest") == [
        "e1",
        "e2",
        "e3",
        "e4",
        "e5",
        "e6",
        "e7",
    ]
    # By order number, then by time within the order.
    assert await _names(coordinator, world, sort="order_number") == [
        "e1",
        "e2",
        "e7",
        "e3",
        "e6",
        "e4",
        "e5",
    ]
    assert await _names(coordinator, world, sort="order_number_desc") == [
        "e5",
        "e4",
        "e6",
        "e3",
        "e7",
        "e2",
        "e1",
    ]
    assert await _names(coordinator, world, sort="order_number", kind="work_report") == [
        "e1",
        "e6",
        "e4",
    ]


async def test_a_row_shows_order_client_author_recipients_and_attachments(
    coordinator: ApiClient, world: World
) -> None:
    page = await _page(coordinator, order_number="2026-0101", kind="photo_documentation")
    [row] = page["items"]
    assert row == {
        "id": world.emails["e2"],
        "order_id": world.orders["o1"].id,
        "order_number": "2026-0101",
        "client_id": world.clients["meier"],
        "client_name": "Meier AG",
        "kind": "photo_documentation",
        "subject": "Fotodokumentation",
        "status": "delivered",
        "needs_attention": False,
        "recipients": ["anna.meier@meier.example", "hauswart@meier.example"],
        "author_id": world.authors["luca"].id,
        "author_name": "Luca Rossi",
        # In the viewer's time zone.
        "queued_at": "2026-11-03T10:00:00+01:00",
        "sent_at": "2026-11-03T10:01:00+01:00",
        "attachment_count": 2,
        "resend_of": None,
        "resent_as": None,
    }
    assert page["next_cursor"] is None


async def test_failed_and_bounced_emails_are_flagged(coordinator: ApiClient, world: World) -> None:
    page = await _page(coordinator, limit=100)
    flagged = {row["id"] for row in page["items"] if row["needs_attention"]}
    assert flagged == {world.emails["e3"], world.emails["e4"]}
    queued = next(row for row in page["items"] if row["id"] == world.emails["e5"])
    assert queued["status"] == "queued" and queued["sent_at"] is None


async def test_a_fixed_and_resent_email_and_its_resend_name_each_other(app: Litestar) -> None:
    company, coordinator = await _office("Haustechnik Resend")
    order = await _make_order(company, number="2026-0301")
    bounced = await archived(company, order, coordinator.id, at=_at(6, 9), to=["anna@typo.example"])
    await mark(bounced, "bounced", sent_at=_at(6, 9, 1))
    first = await archived(
        company, order, coordinator.id, at=_at(6, 10), to=["ana@typo.example"], resend_of=bounced
    )
    await mark(first, "bounced", sent_at=_at(6, 10, 1))
    fixed = await archived(
        company, order, coordinator.id, at=_at(6, 11), to=["anna@client.example"], resend_of=bounced
    )
    async with ApiClient.signed_in(app, coordinator.email) as client:
        rows = {row["id"]: row for row in (await _page(client))["items"]}
    # The original leads to its newest resend; each resend back to the original.
    assert (rows[bounced]["resent_as"], rows[bounced]["resend_of"]) == (fixed, None)
    assert (rows[first]["resent_as"], rows[first]["resend_of"]) == (None, bounced)
    assert (rows[fixed]["resent_as"], rows[fixed]["resend_of"]) == (None, bounced)


async def test_technician_sees_only_the_emails_of_orders_they_work_on(
    app: Litestar, world: World
) -> None:
    async with ApiClient.signed_in(app, world.technician.email) as technician:
        assert await _names(technician, world) == ["e7", "e2", "e1"]
        assert await _names(technician, world, client_id=world.clients["zuercher"]) == []
        assert await _names(technician, world, recipient="einkauf") == []
        assert await _names(technician, world, kind="photo_documentation") == ["e2"]


async def test_another_companys_emails_never_appear(app: Litestar, world: World) -> None:
    async with ApiClient.signed_in(app, world.coordinator.email) as ours:
        listed = await _names(ours, world, limit=100)
        assert not [name for name in listed if name.startswith("foreign")]
        assert await _names(ours, world, client_id=world.foreign_client) == []
        assert await _names(ours, world, author_id=world.foreign_author) == []
    async with ApiClient.signed_in(app, world.foreign_coordinator.email) as theirs:
        page = await _page(theirs, recipient="anna.meier", order_number="2026-0101")
        assert [row["id"] for row in page["items"]] == [world.foreign_email]
        assert await _page(theirs, client_id=world.clients["meier"]) == {
            "items": [],
            "next_cursor": None,
        }


async def _all_pages(client: ApiClient, first: dict[str, Any], **params: Any) -> list[int]:
    seen = [row["id"] for row in first["items"]]
    cursor = first["next_cursor"]
    while cursor is not None:
        page = await _page(client, cursor=cursor, **params)
        seen += [row["id"] for row in page["items"]]
        cursor = page["next_cursor"]
    return seen


@pytest.fixture
async def busy_office(app: Litestar) -> AsyncIterator[tuple[ApiClient, dict[str, Any]]]:
    """22 emails over five orders, three of them queued in the very same microsecond (the id
    breaks the tie)."""
    company, coordinator = await _office("Busy Office")
    author = await make_employee(company)
    orders = [await _make_order(company, number=f"2026-{n:04d}") for n in (5, 1, 4, 2, 3)]
    start = datetime(2026, 10, 1, 8, tzinfo=UTC)
    ids = []
    for n in range(19):
        ids.append(
            await archived(
                company, orders[n % 5], author.id, at=start + timedelta(hours=n), to=[f"r{n}@x.ch"]
            )
        )
    same = start + timedelta(hours=7, minutes=30)
    for n in range(3):
        ids.append(await archived(company, orders[n], author.id, at=same, to=[f"s{n}@x.ch"]))
    async with ApiClient.signed_in(app, coordinator.email) as client:
        yield client, {"company": company, "author": author, "orders": orders, "ids": ids}


@pytest.mark.parametrize("sort", ["newest", "oldest", "order_number", "order_number_desc"])
async def test_pages_neither_skip_nor_repeat_while_new_emails_arrive(
    busy_office: tuple[ApiClient, dict[str, Any]], sort: str
) -> None:
    client, office = busy_office
    original = set(office["ids"])
    first = await _page(client, sort=sort, limit=5)
    assert len(first["items"]) == 5
    # Sent meanwhile, by colleagues, now: newer than everything listed.
    arrived = {
        await archived(
            office["company"],
            order,
            office["author"].id,
            at=datetime.now(UTC),
            to=["late@x.ch"],
        )
        for order in office["orders"]
    }
    seen = await _all_pages(client, first, sort=sort, limit=5)
    assert len(seen) == len(set(seen)), "a row was listed twice"
    assert original <= set(seen), "a row was skipped"
    assert set(seen) <= original | arrived
    if sort == "newest":
        # Newest first, the new emails belong before page 1: the pages go on where they were.
        assert set(seen) == original
    if sort == "oldest":
        # Oldest first, they come at the end, once each.
        assert set(seen) == original | arrived


async def test_pages_follow_the_sort_and_end_with_no_cursor(
    busy_office: tuple[ApiClient, dict[str, Any]],
) -> None:
    client, _ = busy_office
    first = await _page(client, limit=4)
    seen = await _all_pages(client, first, limit=4)
    answer = await client.get("/api/archive", params={"limit": 100})
    everything = answer.json()["items"]
    assert seen == [row["id"] for row in everything]
    keys = [(row["queued_at"], row["id"]) for row in everything]
    assert keys == sorted(keys, reverse=True)
    assert len(seen) == 22


@pytest.mark.parametrize(
    ("params", "status", "words"),
    [
        ({"cursor": "bm90IGEgY3Vyc29y"}, 422, "cursor"),
        ({"cursor": "%%%"}, 422, "cursor"),
        ({"from": "2026-11-05", "to": "2026-11-01"}, 422, "after it ends"),
        ({"from": "2026-13-01"}, 400, "from"),
        ({"to": "yesterday"}, 400, "to"),
        ({"kind": "letter"}, 400, "kind"),
        ({"status": "lost"}, 400, "status"),
        ({"sort": "subject"}, 400, "sort"),
        ({"limit": "0"}, 400, "limit"),
        ({"limit": "101"}, 400, "limit"),
        ({"client_id": "0"}, 400, "client_id"),
        ({"recipient": " ab "}, 422, "at least 3 characters"),
        ({"order_number": "x\x00y"}, 422, "NUL"),
    ],
)
async def test_bad_input_is_refused_with_a_message_that_says_what_is_wrong(
    coordinator: ApiClient, params: dict[str, str], status: int, words: str
) -> None:
    answer = await coordinator.get("/api/archive", params=params)
    assert answer.status_code == status, answer.text
    assert words in answer.json()["detail"]


async def test_a_cursor_works_only_for_the_search_it_came_from(
    coordinator: ApiClient, world: World
) -> None:
    first = await _page(coordinator, kind="work_report", limit=1)
    cursor = first["next_cursor"]
    assert cursor is not None
    same = await _page(coordinator, kind="work_report", limit=1, cursor=cursor)
    assert same["items"][0]["id"] == world.emails["e4"]
    for other in ({"kind": "offer"}, {"kind": "work_report", "sort": "oldest"}):
        answer = await coordinator.get("/api/archive", params={**other, "cursor": cursor})
        assert answer.status_code == 422
        assert "another search" in answer.json()["detail"]
