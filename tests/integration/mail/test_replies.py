"""Client replies over SMTP: the Reply-To of a sent email names the email, the receiver takes an
answer to it, and the order shows what the client wrote, the quoted history apart, its
attachment, and whether it was automatic or from an address the email did not go to."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import pytest
from litestar import Litestar

from organisatrice.mail.tables import ClientReply, MailRelay, SentEmail, TrackingCheck
from organisatrice.orders.tables import OrderResponsible
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_employee, make_pdf
from tests.integration.archive.helpers import Office, drain, office, send
from tests.integration.mail.test_inbound import BOUNCE_DOMAIN
from tests.smtp_relay import smtp_relay

ANNA = "anna.meier@client.example"


async def _reachable(company: int) -> None:
    """As if the company's tracking probe had come back: its receiver is reachable."""
    await TrackingCheck.insert(TrackingCheck(company=company, verified_at=datetime.now(UTC)))


async def _sent(app: Litestar, *, reachable: bool = True) -> tuple[Office, int, EmailMessage]:
    with smtp_relay() as (relay, port):
        setup = await office(port, attachments=[])
        if reachable:
            await _reachable(setup.company)
        sent = await send(app, setup, ANNA)
        await drain()
        [received] = relay.received
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return setup, int(sent["id"]), message


def _answer(message: EmailMessage, body: str, *, sender: str = ANNA, **headers: str) -> bytes:
    answer = EmailMessage()
    answer["From"] = f"Anna Meier <{sender}>"
    answer["To"] = str(message["Reply-To"])
    answer["Subject"] = f"Re: {message['Subject']}"
    answer["Message-ID"] = "<answer.1@client.example>"
    answer["In-Reply-To"] = str(message["Message-ID"])
    answer["References"] = str(message["Message-ID"])
    for name, value in headers.items():
        answer[name.replace("_", "-")] = value
    answer.set_content(body)
    return answer.as_bytes()


async def _deliver(port: int, rcpt: str, data: bytes) -> None:
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port) as smtp:
        await smtp.sendmail("anna.meier@client.example", [rcpt], data)


async def _replies(app: Litestar, setup: Office) -> list[dict[str, Any]]:
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        answer = await client.get(f"/api/orders/{setup.order}/replies")
    assert answer.status_code == 200, answer.text
    replies: list[dict[str, Any]] = answer.json()
    return replies


async def test_a_reply_lands_on_the_order_with_its_text_attachment_and_history_folded(
    app: Litestar, receiver: int
) -> None:
    setup, email_id, message = await _sent(app)
    [reply_to] = message["Reply-To"].addresses
    token = await SentEmail.select(SentEmail.token).where(SentEmail.id == email_id).first()
    assert token is not None
    # The author's name, the email's own address: answers come back to the order.
    assert reply_to.display_name.startswith("Eva ")
    assert reply_to.addr_spec == f"reply+{token['token']}@{BOUNCE_DOMAIN}"
    data = email.message_from_bytes(
        _answer(
            message,
            "Einverstanden, bitte auch die Fotos senden.\n\n"
            f"Am 05.12.2026 um 10:12 schrieb Eva Muster <{setup.dispatcher.email}>:\n"
            "> Im Anhang finden Sie den Arbeitsrapport.\n",
        ),
        policy=email.policy.default,
    )
    assert isinstance(data, EmailMessage)
    data.add_attachment(
        make_pdf(), maintype="application", subtype="pdf", filename="Unterschrift.pdf"
    )
    await _deliver(receiver, reply_to.addr_spec, data.as_bytes())

    [reply] = await _replies(app, setup)
    assert reply["email_id"] == email_id
    assert reply["text"] == "Einverstanden, bitte auch die Fotos senden."
    assert "Im Anhang finden Sie den Arbeitsrapport." in reply["quoted"]
    assert [(a["filename"], a["content_type"]) for a in reply["attachments"]] == [
        ("Unterschrift.pdf", "application/pdf")
    ]
    assert (reply["sender"], reply["automatic"], reply["unknown_sender"]) == (ANNA, False, False)


async def test_an_out_of_office_answer_is_marked_automatic(app: Litestar, receiver: int) -> None:
    setup, _, message = await _sent(app)
    data = _answer(message, "Ich bin bis am 12. Dezember abwesend.", Auto_Submitted="auto-replied")
    await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, data)
    [reply] = await _replies(app, setup)
    assert reply["automatic"] is True


async def test_an_answer_from_an_address_the_email_did_not_go_to_is_kept_and_marked(
    app: Litestar, receiver: int
) -> None:
    setup, _, message = await _sent(app)
    data = _answer(message, "Ich bin die Nachbarin.", sender="someone@else.example")
    await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, data)
    [reply] = await _replies(app, setup)
    assert (reply["sender"], reply["unknown_sender"]) == ("someone@else.example", True)


async def test_unknown_tokens_and_oversized_answers_are_refused_and_nothing_kept(
    app: Litestar, receiver: int
) -> None:
    setup, _, message = await _sent(app)
    before = await ClientReply.count()
    with pytest.raises(aiosmtplib.SMTPRecipientsRefused):
        await _deliver(receiver, f"reply+{'0' * 32}@{BOUNCE_DOMAIN}", b"Subject: hi\r\n\r\nhi\r\n")
    huge = _answer(message, "x" * (30 * 1024 * 1024))
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, huge)
    assert refused.value.code == 552
    assert await ClientReply.count() == before
    assert await _replies(app, setup) == []


async def test_answers_go_to_the_author_until_the_receiver_is_reachable_or_when_turned_off(
    app: Litestar,
) -> None:
    setup, _, message = await _sent(app, reachable=False)
    assert message["Reply-To"].addresses[0].addr_spec == setup.dispatcher.email
    await MailRelay.update({MailRelay.replies_to_order: False}).where(
        MailRelay.company == setup.company
    )
    await _reachable(setup.company)
    with smtp_relay() as (relay, port):
        await MailRelay.update({MailRelay.port: port}).where(MailRelay.company == setup.company)
        await send(app, setup, ANNA)
        await drain()
        [received] = relay.received
    again = email.message_from_bytes(received.data, policy=email.policy.default)
    assert again["Reply-To"].addresses[0].addr_spec == setup.dispatcher.email


async def test_another_companys_order_shows_no_replies(app: Litestar, receiver: int) -> None:
    setup, _, message = await _sent(app)
    await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, _answer(message, "Ok."))
    other, _, _ = await _sent(app)
    async with ApiClient.signed_in(app, other.dispatcher.email) as client:
        answer = await client.get(f"/api/orders/{setup.order}/replies")
    assert answer.status_code == 404


async def test_a_clients_answer_waits_in_notifications_until_someone_takes_care_of_it(
    app: Litestar, receiver: int
) -> None:
    setup, email_id, message = await _sent(app)
    address = message["Reply-To"].addresses[0].addr_spec
    await _deliver(receiver, address, _answer(message, "Bitte rufen Sie mich an."))
    await _deliver(
        receiver, address, _answer(message, "Ich bin abwesend.", Auto_Submitted="auto-replied")
    )
    responsible = await make_employee(setup.company, roles={Role.TECHNICIAN})
    await OrderResponsible.insert(
        OrderResponsible(company=setup.company, order=setup.order, employee=responsible.id)
    )
    coordinator = await make_employee(setup.company, roles={Role.COORDINATOR})
    bystander = await make_employee(setup.company, roles={Role.DISPATCHER})

    async def waiting(who: str) -> list[str]:
        async with ApiClient.signed_in(app, who) as client:
            answer = await client.get("/api/notifications/replies")
        assert answer.status_code == 200, answer.text
        return [r["text"] for r in answer.json()]

    # The author, the responsible technician and (a work report) the coordinator; the
    # automatic answer waits for nobody.
    for who in (setup.dispatcher.email, responsible.email, coordinator.email):
        assert await waiting(who) == ["Bitte rufen Sie mich an."], who
    assert await waiting(bystander.email) == []
    [reply, _] = await _replies(app, setup)
    async with ApiClient.signed_in(app, coordinator.email) as client:
        done = await client.post(f"/api/orders/{setup.order}/replies/{reply['id']}/handled")
        assert done.status_code == 200, done.text
        assert done.json()["handled_at"] is not None
        wrong = await client.post(
            f"/api/orders/{setup.order}/replies/{reply['id'] + 10**6}/handled"
        )
        assert wrong.status_code == 404
    assert await waiting(setup.dispatcher.email) == []
    assert reply["email_id"] == email_id
