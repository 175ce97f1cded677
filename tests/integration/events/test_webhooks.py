"""Events out: back-office registers an endpoint; the events of its emails reach a real receiver
on loopback, signed as Standard Webhooks says, each once by id after the receiver was down;
an endpoint that keeps failing is paused and back-office sees why."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar import Litestar

from organisatrice.core.db import transaction
from organisatrice.events.delivery import run_round
from organisatrice.events.outbox import emit
from organisatrice.events.tables import WebhookDelivery
from organisatrice.mail.inbound import record_report
from organisatrice.mail.tables import MailRelay, SentEmail
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_company, make_employee
from tests.integration.archive.helpers import Office, drain, office, send
from tests.integration.events.conftest import Receiver
from tests.integration.mail.test_inbound import dsn
from tests.smtp_relay import smtp_relay

NOTE = "Kunde zahlt schlecht, nur gegen Vorkasse"


async def _endpoint(app: Litestar, setup: Office, receiver: Receiver, *types: str) -> int:
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        made = await client.post(
            "/api/webhooks",
            json={"url": receiver.url, "event_types": list(types), "description": "ERP"},
        )
    assert made.status_code == 201, made.text
    receiver.secret = made.json()["secret"]
    return int(made.json()["id"])


async def _sent_email(app: Litestar, setup: Office, to: str = "anna@client.example") -> int:
    with smtp_relay() as (_, port):
        await _relay_port(setup, port)
        sent = await send(app, setup, to)
        await drain()
    return int(sent["id"])


async def _relay_port(setup: Office, port: int) -> None:
    await MailRelay.update({MailRelay.port: port}).where(MailRelay.company == setup.company)


async def _make_due(endpoint_id: int) -> None:
    """Skip the backoff wait, as if its time had come."""
    await WebhookDelivery.update({WebhookDelivery.next_attempt_at: datetime.now(UTC)}).where(
        WebhookDelivery.endpoint == endpoint_id
    )


async def _deliveries(endpoint_id: int) -> list[dict[str, Any]]:
    return list(
        await WebhookDelivery.select(
            WebhookDelivery.id,
            WebhookDelivery.status,
            WebhookDelivery.next_attempt_at,
            WebhookDelivery.event.event_id.as_alias("event_id"),
        )
        .where(WebhookDelivery.endpoint == endpoint_id)
        .order_by(WebhookDelivery.id)
    )


async def _round() -> int:
    return await run_round("events-tests")


async def test_a_receiver_down_for_two_attempts_then_up_gets_each_event_once(
    app: Litestar, receiver: Receiver, loopback_allowed: None
) -> None:
    setup = await office(0, attachments=[])
    endpoint = await _endpoint(
        app, setup, receiver, "email.queued", "email.sent", "work_report.sent"
    )
    email_id = await _sent_email(app, setup)
    queued = await _deliveries(endpoint)
    assert len(queued) == 3
    receiver.answers = [503, 503]

    assert await _round() == 1  # the receiver is down: the rest waits for the next round
    assert await _round() == 0  # nothing is due before the backoff
    [first, *_] = await _deliveries(endpoint)
    assert first["status"] == "failed"
    assert first["next_attempt_at"] > datetime.now(UTC) + timedelta(seconds=20)
    await _make_due(endpoint)
    assert await _round() == 1
    await _make_due(endpoint)
    assert await _round() == 3

    assert all(d.verified for d in receiver.got)
    assert [d.answered for d in receiver.got] == [503, 503, 200, 200, 200]
    accepted = receiver.accepted_ids()
    assert sorted(accepted) == sorted(d["event_id"] for d in queued)
    assert len(set(accepted)) == len(accepted) == 3
    by_type = {d.type: d.data for d in receiver.got if d.answered == 200}
    assert set(by_type) == {"email.queued", "email.sent", "work_report.sent"}
    sent = by_type["work_report.sent"]
    assert sent["email_id"] == email_id
    assert sent["recipient"] == "anna@client.example"
    assert sent["status"] == "sent"
    assert sent["kind"] == "work_report"
    assert by_type["email.queued"]["recipient"] is None
    assert {d["status"] for d in await _deliveries(endpoint)} == {"delivered"}

    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        log = (await client.get(f"/api/webhooks/{endpoint}/attempts")).json()
        [listed] = (await client.get("/api/webhooks")).json()
    assert log["total"] == 5
    # Newest first: three deliveries, after two refusals of the first event.
    assert [a["status_code"] for a in log["items"]] == [200, 200, 200, 503, 503]
    assert log["items"][-1]["event_id"] == first["event_id"]
    assert log["items"][-1]["error"].startswith("HTTP 503")
    assert listed["consecutive_failures"] == 0
    assert "secret" not in listed


async def test_a_bounce_arrives_as_an_event_without_notes_or_message_text(
    app: Litestar, receiver: Receiver, loopback_allowed: None
) -> None:
    setup = await office(0, attachments=[])
    await _endpoint(app, setup, receiver, "email.bounced")
    email_id = await _sent_email(app, setup, "typo@client.example")
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        noted = await client.post(f"/api/archive/{email_id}/notes", json={"text": NOTE})
    assert noted.status_code == 201, noted.text
    row = await SentEmail.select().where(SentEmail.id == email_id).first()
    assert row is not None
    diagnostic = "550 5.1.1 <typo@client.example>: Recipient address rejected: User unknown"
    report = dsn(
        row["token"], row["message_id"], ("typo@client.example", "failed", "5.1.1", diagnostic)
    )
    await record_report(row["token"], "MAILER-DAEMON@relay.firm.example", report)

    assert await _round() == 1
    [bounced] = receiver.got
    assert bounced.verified
    assert bounced.type == "email.bounced"
    assert bounced.data["email_id"] == email_id
    assert bounced.data["recipient"] == "typo@client.example"
    assert bounced.data["status"] == "bounced"
    assert "User unknown" in bounced.data["detail"]
    assert bounced.data["order_number"] == row["order_number"]
    body = bounced.body.decode()
    assert NOTE not in body
    assert "Im Anhang finden Sie" not in body  # the message's text stays in the archive
    assert json.loads(body)["id"] == bounced.event_id


@pytest.mark.usefixtures("guard_as_shipped")
async def test_an_endpoint_on_loopback_is_refused_unless_the_operator_allows_it(
    app: Litestar, receiver: Receiver
) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as client:
        for url in (
            receiver.url,
            "http://localhost/hooks",
            "http://169.254.169.254/latest/meta-data",
            "https://10.0.0.8/hooks",
        ):
            refused = await client.post(
                "/api/webhooks", json={"url": url, "event_types": ["email.sent"]}
            )
            assert refused.status_code == 422, url
            assert refused.json()["field"] == "url"
        assert "a private address" in refused.json()["detail"]
        plain = await client.post(
            "/api/webhooks",
            json={"url": "http://93.184.215.14/hooks", "event_types": ["email.sent"]},
        )
        assert plain.status_code == 422
        assert "Use https://" in plain.json()["detail"]
        assert (await client.get("/api/webhooks")).json() == []


async def test_with_the_setting_back_office_registers_once_and_sees_the_secret_once(
    app: Litestar, receiver: Receiver, loopback_allowed: None
) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as client:
        made = await client.post(
            "/api/webhooks", json={"url": receiver.url, "event_types": ["email.bounced"]}
        )
        assert made.status_code == 201, made.text
        secret = made.json()["secret"]
        listed = await client.get("/api/webhooks")
        receiver.secret = secret
        tested = await client.post(f"/api/webhooks/{made.json()['id']}/test")
    assert secret.startswith("whsec_")
    assert secret not in listed.text
    assert listed.json()[0]["event_types"] == ["email.bounced"]
    assert tested.status_code == 200, tested.text
    assert tested.json()["status"] == "delivered"
    assert tested.json()["last_status_code"] == 200
    [ping] = receiver.got
    assert ping.verified and ping.type == "webhook.test"


async def test_an_endpoint_that_keeps_failing_is_paused_and_back_office_sees_it(
    app: Litestar, receiver: Receiver, loopback_allowed: None
) -> None:
    setup = await office(0, attachments=[])
    endpoint = await _endpoint(app, setup, receiver, "email.sent")
    await _sent_email(app, setup)
    receiver.answers = [500] * 100
    waited = timedelta()
    rounds = 0
    while (await _deliveries(endpoint))[0]["status"] != "given_up":
        await _make_due(endpoint)
        assert await _round() == 1
        rounds += 1
        [delivery] = await _deliveries(endpoint)
        if delivery["status"] == "failed":
            waited += delivery["next_attempt_at"] - datetime.now(UTC)
    # Retried for more than a day before giving up.
    assert waited > timedelta(hours=24)
    assert rounds == 9

    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        [paused] = (await client.get("/api/webhooks")).json()
        assert paused["paused_at"] is not None
        assert paused["consecutive_failures"] == 9
        [given_up] = await _deliveries(endpoint)
        assert given_up["event_id"] in paused["paused_reason"]
        assert "HTTP 500" in paused["paused_reason"]
        # Its parts, for the screen to word it in the reader's language.
        assert paused["paused_params"]["event"] == given_up["event_id"]
        assert paused["paused_params"]["attempts"] == "9"
        assert paused["paused_params"]["error"].startswith("HTTP 500")

        # Paused: new events wait instead of being sent.
        await _sent_email(app, setup)
        await _make_due(endpoint)
        assert await _round() == 0

        receiver.answers = []
        resumed = await client.patch(f"/api/webhooks/{endpoint}", json={"active": True})
        assert resumed.json()["paused_at"] is None
        assert resumed.json()["consecutive_failures"] == 0
        assert await _round() == 1
        again = await client.post(f"/api/webhooks/{endpoint}/deliveries/{given_up['id']}/resend")
        assert again.status_code == 202, again.text
        assert again.json()["status"] == "pending"
        assert await _round() == 1
    delivered = [d.event_id for d in receiver.got if d.answered == 200]
    assert delivered[-1] == given_up["event_id"]
    assert len(delivered) == 2


async def test_another_companys_endpoint_answers_404(
    app: Litestar, receiver: Receiver, loopback_allowed: None
) -> None:
    setup = await office(0, attachments=[])
    endpoint = await _endpoint(app, setup, receiver, "email.sent")
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        delivery = (await client.post(f"/api/webhooks/{endpoint}/test")).json()
    other = await make_company()
    stranger = await make_employee(other, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, stranger.email) as client:
        answers = [
            await client.patch(f"/api/webhooks/{endpoint}", json={"active": False}),
            await client.delete(f"/api/webhooks/{endpoint}"),
            await client.post(f"/api/webhooks/{endpoint}/test"),
            await client.get(f"/api/webhooks/{endpoint}/attempts"),
            await client.post(f"/api/webhooks/{endpoint}/deliveries/{delivery['id']}/resend"),
        ]
        assert (await client.get("/api/webhooks")).json() == []
    assert [a.status_code for a in answers] == [404] * 5
    assert [d.type for d in receiver.got] == ["webhook.test"]


async def test_an_api_token_with_events_manage_registers_an_endpoint(
    app: Litestar, receiver: Receiver, loopback_allowed: None
) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as office_client:
        token = await office_client.post(
            "/api/tokens", json={"name": "ERP", "scopes": ["events:manage"]}
        )
    assert token.status_code == 201, token.text
    async with ApiClient.with_token(app, token.json()["secret"]) as machine:
        made = await machine.post(
            "/api/webhooks", json={"url": receiver.url, "event_types": ["email.read"]}
        )
        listed = await machine.get("/api/webhooks")
    assert made.status_code == 201, made.text
    assert [e["url"] for e in listed.json()] == [receiver.url]


async def test_an_event_goes_only_to_the_active_endpoints_that_subscribed_to_it(
    app: Litestar, receiver: Receiver, loopback_allowed: None
) -> None:
    setup = await office(0, attachments=[])
    reading = await _endpoint(app, setup, receiver, "email.read")
    bouncing = await _endpoint(app, setup, receiver, "email.bounced", "email.read")
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        await client.patch(f"/api/webhooks/{bouncing}", json={"active": False})
    async with transaction():
        event_id = await emit(setup.company, "email.read", {"email_id": 1})
        nobody = await emit(setup.company, "email.failed", {"email_id": 1})
    assert nobody is None
    assert [d["event_id"] for d in await _deliveries(reading)] == [event_id]
    assert await _deliveries(bouncing) == []
