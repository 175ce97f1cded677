"""/api/orders/work-reports: the order list's page asks once for the state of each order's
newest work report."""

from __future__ import annotations

from litestar import Litestar

from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_employee, make_order, make_template
from tests.integration.archive.helpers import Office, drain, office, send
from tests.smtp_relay import smtp_relay

URL = "/api/orders/work-reports"
BAD = "anna.meir@client.example"


async def test_each_order_shows_its_newest_work_report_and_others_are_left_out(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {BAD: "550 5.1.1 User unknown"}
        setup = await office(port, attachments=[])
        await send(app, setup, BAD)
        await drain()
        # Sent again to the right address: the newest is what the list shows.
        await send(app, setup, "anna.meier@client.example")
        await drain()
        second = await make_order(setup.company)
        bounced = Office(setup.company, setup.dispatcher, second.id, setup.template)
        await send(app, bounced, BAD)
        offer = await make_template(setup.company, kind="offer", attachments=[])
        quiet = await make_order(setup.company)
        await send(app, Office(setup.company, setup.dispatcher, quiet.id, offer))
        await drain()
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        answer = await client.get(URL, params={"order_id": [setup.order, second.id, quiet.id]})
        assert answer.status_code == 200, answer.text
        assert [(s["order_id"], s["status"]) for s in answer.json()] == [
            (setup.order, "sent"),
            (second.id, "bounced"),
        ]


async def test_orders_one_may_not_see_are_left_out(app: Litestar) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port, attachments=[])
        await send(app, setup)
        await drain()
        stranger_office = await office(port, attachments=[])
    technician = await make_employee(setup.company, roles={Role.TECHNICIAN})
    async with ApiClient.signed_in(app, technician.email) as client:
        assert (await client.get(URL, params={"order_id": setup.order})).json() == []
    async with ApiClient.signed_in(app, stranger_office.dispatcher.email) as client:
        assert (await client.get(URL, params={"order_id": setup.order})).json() == []


async def test_a_question_without_orders_with_too_many_or_with_bad_ids_is_refused(
    app: Litestar,
) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port, attachments=[])
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        too_many = {"order_id": list(range(1, 102))}
        # An id past what the database holds (SQLite's integers end at 2**63) is a bad id.
        beyond = {"order_id": [1, -65245018404875875123200]}
        for params in ({}, too_many, {"order_id": "x"}, {"order_id": 0}, beyond):
            answer = await client.get(URL, params=params)
            assert answer.status_code == 400, params
            assert answer.json()["code"]
