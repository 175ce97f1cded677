"""/api/me/notices: each employee chooses which notifications they get and which also come by
email to their own address, through the company's relay."""

from __future__ import annotations

import email
import email.policy

from litestar import Litestar

from organisatrice.archive.notice_mail import email_notices
from organisatrice.orders.tables import Order
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_employee, make_order
from tests.integration.archive.helpers import Office, drain, office, send
from tests.smtp_relay import smtp_relay

URL = "/api/me/notices"
BAD = "anna.meir@client.example"


async def test_each_employee_is_offered_the_kinds_their_roles_are_told_of(
    app: Litestar,
) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port)
    kinds = {}
    for role in (Role.DISPATCHER, Role.COORDINATOR, Role.BACKOFFICE):
        employee = await make_employee(setup.company, roles={role})
        async with ApiClient.signed_in(app, employee.email) as client:
            kinds[role] = {
                c["kind"]: (c["shown"], c["emailed"], c["may_email"])
                for c in (await client.get(URL)).json()
            }
    assert kinds[Role.DISPATCHER] == {
        "failed_email": (True, False, True),
        "client_reply": (True, False, True),
    }
    assert set(kinds[Role.COORDINATOR]) == {"failed_email", "work_report", "client_reply"}
    # The relay's problems are only shown: emailing them would go through that relay.
    assert kinds[Role.BACKOFFICE]["relay"] == (True, False, False)


async def test_a_kind_switched_off_is_not_shown(app: Litestar) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {BAD: "550 5.1.1 User unknown"}
        setup = await office(port, attachments=[])
        report = await send(app, setup, BAD)
        await drain()
    coordinator = await make_employee(setup.company, roles={Role.COORDINATOR})
    async with ApiClient.signed_in(app, coordinator.email) as client:
        [note] = (await client.get("/api/notifications")).json()
        assert (note["email_id"], note["kind"]) == (report["id"], "work_report")
        off = [{"kind": "work_report", "shown": False, "emailed": False}]
        assert (await client.put(URL, json={"choices": off})).status_code == 200
        assert (await client.get("/api/notifications")).json() == []
        assert {c["kind"]: c["shown"] for c in (await client.get(URL)).json()}[
            "work_report"
        ] is False
    # The author still sees their own bounced email, until they switch that off too.
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        [note] = (await client.get("/api/notifications")).json()
        assert note["kind"] == "failed_email"
        off = [{"kind": "failed_email", "shown": False, "emailed": False}]
        await client.put(URL, json={"choices": off})
        assert (await client.get("/api/notifications")).json() == []


async def test_an_emailed_kind_arrives_at_the_employee_through_the_relay_once(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {BAD: "550 5.1.1 User unknown"}
        setup = await office(port, attachments=[])
        coordinator = await make_employee(
            setup.company, roles={Role.COORDINATOR}, first_name="Rita", last_name="Sutter"
        )
        async with ApiClient.signed_in(app, coordinator.email) as client:
            on = [{"kind": "work_report", "shown": True, "emailed": True}]
            [report_choice] = [
                c
                for c in (await client.put(URL, json={"choices": on})).json()
                if c["kind"] == "work_report"
            ]
            assert report_choice["emailed"] is True
        report = await send(app, setup, BAD)
        await drain()
        assert await email_notices() == 1
        assert await email_notices() == 0
        [note] = [m for m in relay.received if m.rcpt_tos == [coordinator.email]]
        # The author asked for nothing by email.
        assert not [m for m in relay.received if m.rcpt_tos == [setup.dispatcher.email]]
    message = email.message_from_bytes(note.data, policy=email.policy.default)
    number = await order_number(setup)
    assert message["Subject"] == f"Arbeitsrapport nicht zugestellt: Auftrag {number}"
    assert "Rita Sutter" in str(message["To"])
    body = message.get_body(("plain",))
    assert body is not None
    assert f"/#/orders/{setup.order}" in body.get_content()
    assert report["subject"] in body.get_content()


async def order_number(setup: Office) -> str:
    row = await Order.select(Order.number).where(Order.id == setup.order).first()
    assert row is not None
    return str(row["number"])


async def test_choices_of_an_unknown_kind_are_refused_with_a_code(app: Litestar) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port)
    await make_order(setup.company)
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        answer = await client.put(
            URL, json={"choices": [{"kind": "weather", "shown": True, "emailed": True}]}
        )
        assert answer.status_code == 400
        assert answer.json()["code"]
        assert all(c["emailed"] is False for c in (await client.get(URL)).json())
