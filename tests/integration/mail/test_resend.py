"""Fix and resend, and the notifications of failed or bounced emails."""

from __future__ import annotations

import email
import email.policy

from litestar import Litestar

from organisatrice.mail.outbox import email_detail
from organisatrice.mail.tables import SentEmail
from organisatrice.orders.tables import Order
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_contact, make_employee, make_template
from tests.integration.archive.helpers import Office, drain, office, send, upload_offer
from tests.smtp_relay import smtp_relay


async def test_a_bounced_email_is_fixed_and_resent_with_the_same_content(app: Litestar) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {"anna.meir@client.example": "550 5.1.1 User unknown"}
        setup = await office(port)
        offer = await upload_offer(app, setup)
        first = await send(app, setup, "anna.meir@client.example")
        await drain()
        assert (await email_detail(first["id"])).status == "bounced"
        colleague = await make_employee(setup.company, roles={Role.DISPATCHER})
        async with ApiClient.signed_in(app, colleague.email) as client:
            assert (await client.get("/api/notifications")).json() == []
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            [note] = (await client.get("/api/notifications")).json()
            assert note["email_id"] == first["id"] and note["resent_as"] is None
            assert note["recipients"][0]["detail"] == "Refused by the relay: 550 5.1.1 User unknown"
            bad = await client.post(
                f"/api/emails/{first['id']}/resend", json={"to": [{"email": "not an address"}]}
            )
            assert bad.status_code == 422
            again = await client.post(
                f"/api/emails/{first['id']}/resend",
                json={"to": [{"email": "anna.meier@client.example", "name": "Anna Meier"}]},
            )
            assert again.status_code == 201, again.text
            [note] = (await client.get("/api/notifications")).json()
            assert note["resent_as"] == again.json()["id"]
        await drain()
        [delivered] = relay.received
    original = await SentEmail.select().where(SentEmail.id == first["id"]).first()
    resent = await SentEmail.select().where(SentEmail.id == again.json()["id"]).first()
    assert original is not None and resent is not None
    assert resent["resend_of"] == first["id"]
    assert resent["message_id"] != original["message_id"]
    assert resent["subject"] == original["subject"]
    message = email.message_from_bytes(delivered.data, policy=email.policy.default)
    assert "anna.meier@client.example" in str(message["To"])
    [attachment] = list(message.iter_attachments())
    assert attachment.get_filename() == "Offerte Müller.pdf"
    assert attachment.get_payload(decode=True) == offer
    assert delivered.rcpt_tos == ["anna.meier@client.example"]


async def test_back_office_sees_every_failed_email_of_the_company(app: Litestar) -> None:
    with smtp_relay() as (relay, port):
        relay.data_replies = ["554 5.7.1 Rejected"]
        setup = await office(port, attachments=[])
        sent = await send(app, setup)
        await drain()
    boss = await make_employee(setup.company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, boss.email) as client:
        notes = (await client.get("/api/notifications")).json()
    assert [n["email_id"] for n in notes] == [sent["id"]]


async def test_coordinators_are_told_of_failed_work_reports_not_of_other_emails(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {"anna.meir@client.example": "550 5.1.1 User unknown"}
        setup = await office(port, attachments=[])
        report = await send(app, setup, "anna.meir@client.example")
        offer_template = await make_template(setup.company, kind="offer", attachments=[])
        offer = await send(
            app,
            Office(setup.company, setup.dispatcher, setup.order, offer_template),
            "anna.meir@client.example",
        )
        await drain()
    coordinator = await make_employee(setup.company, roles={Role.COORDINATOR})
    async with ApiClient.signed_in(app, coordinator.email) as client:
        notes = (await client.get("/api/notifications")).json()
    assert [(n["email_id"], n["status"]) for n in notes] == [(report["id"], "bounced")]
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        notes = (await client.get("/api/notifications")).json()
    assert {n["email_id"] for n in notes} == {report["id"], offer["id"]}


async def test_a_bounced_contacts_address_is_corrected_at_the_contact_and_proposed_next_time(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {"anna.meir@client.example": "550 5.1.1 User unknown"}
        setup = await office(port, attachments=[])
        order = await Order.select(Order.client).where(Order.id == setup.order).first()
        assert order is not None
        contact = await make_contact(
            setup.company, client_id=order["client"], email="anna.meir@client.example"
        )
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            draft = await client.post(
                f"/api/orders/{setup.order}/drafts",
                json={"template_id": setup.template, "contact_id": contact},
            )
            sent = await client.post(f"/api/orders/{setup.order}/drafts/{draft.json()['id']}/send")
            assert sent.status_code == 201, sent.text
            await drain()
            entry = (await client.get(f"/api/archive/{sent.json()['id']}")).json()
            [bounced] = entry["recipients"]
            assert (bounced["status"], bounced["contact_id"]) == ("bounced", contact)
            fixed = await client.patch(
                f"/api/contacts/{bounced['contact_id']}",
                json={"email": "anna.meier@client.example"},
            )
            assert fixed.status_code == 200, fixed.text
            next_draft = await client.post(
                f"/api/orders/{setup.order}/drafts",
                json={"template_id": setup.template, "contact_id": contact},
            )
    assert [r["email"] for r in next_draft.json()["recipients"]["to"]] == [
        "anna.meier@client.example"
    ]
