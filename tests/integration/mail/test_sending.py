"""Sending through a real SMTP relay (aiosmtpd on loopback): bytes, envelope, DSN, retries,
per-recipient refusals, limits."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes
from email.policy import default
from typing import Any

import pytest
from litestar import Litestar

from organisatrice.core.blobs import blob_store
from organisatrice.mail.outbox import email_detail
from organisatrice.mail.tables import EmailRecipient, SentEmail
from organisatrice.mail.worker import run_batch
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import (
    MadeEmployee,
    make_company,
    make_contact,
    make_employee,
    make_order,
    make_relay,
    make_template,
)
from tests.integration.archive.helpers import reseal
from tests.smtp_relay import free_port, smtp_relay


class Setup:
    def __init__(self, company: int, dispatcher: MadeEmployee, order: int, template: int) -> None:
        self.company = company
        self.dispatcher = dispatcher
        self.order = order
        self.template = template


async def _setup(port: int, **relay: Any) -> Setup:
    company = await make_company()
    await make_relay(company, port, **relay)
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    order = await make_order(company)
    template = await make_template(company, attachments=[])
    return Setup(company, dispatcher, order.id, template)


async def _send(
    app: Litestar, setup: Setup, to: list[str], *, cc: list[str] | None = None
) -> dict[str, Any]:
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        draft = await client.post(
            f"/api/orders/{setup.order}/drafts",
            json={"template_id": setup.template, "address": to[0]},
        )
        assert draft.status_code == 201, draft.text
        body = draft.json()
        recipients = {
            "to": [{"email": a} for a in to],
            "cc": [{"email": a} for a in cc or []],
        }
        changed = await client.patch(
            f"/api/orders/{setup.order}/drafts/{body['id']}",
            json={"version": body["version"], "recipients": recipients},
        )
        assert changed.status_code == 200, changed.text
        sent = await client.post(f"/api/orders/{setup.order}/drafts/{body['id']}/send")
        assert sent.status_code == 201, sent.text
        answer: dict[str, Any] = sent.json()
        return answer


async def _archived_bytes(email_id: int) -> bytes:
    row = await SentEmail.select(SentEmail.blob_sha256).where(SentEmail.id == email_id).first()
    assert row is not None
    return await blob_store().read(row["blob_sha256"])


async def _make_due(email_id: int) -> None:
    """Skip the backoff wait, as if its time had come."""
    await SentEmail.update({SentEmail.next_attempt_at: datetime.now(UTC)}).where(
        SentEmail.id == email_id
    )


async def _drain() -> None:
    while await run_batch("test-worker"):
        pass


async def test_send_queues_at_once_and_the_relay_gets_the_archived_bytes(app: Litestar) -> None:
    with smtp_relay(dsn=True) as (relay, port):
        setup = await _setup(port)
        sent = await _send(app, setup, ["anna.meier@client.example"])
        assert sent["status"] == "queued"
        assert relay.received == []
        await _drain()
        [received] = relay.received
    assert received.data == await _archived_bytes(sent["id"])
    row = await SentEmail.select().where(SentEmail.id == sent["id"]).first()
    assert row is not None
    [recipient] = await EmailRecipient.select().where(EmailRecipient.sent_email == sent["id"])
    # The recipient's own return address: a report can speak only of this recipient.
    assert received.mail_from == f"bounce+{recipient['token']}@bounces.test.example"
    assert len(recipient["token"]) == 32 and recipient["token"] != row["token"]
    assert received.rcpt_tos == ["anna.meier@client.example"]
    detail = await email_detail(sent["id"])
    assert detail.status == "sent"
    assert [e.event for e in detail.events] == ["queued", "sent"]
    assert "queued as T00001" in detail.events[-1].detail


async def test_dsn_is_requested_only_from_a_relay_that_announces_it(app: Litestar) -> None:
    with smtp_relay(dsn=True) as (relay, port):
        setup = await _setup(port)
        sent = await _send(app, setup, ["a@client.example"])
        await _drain()
        [with_dsn] = relay.received
    token = (
        await EmailRecipient.select(EmailRecipient.token)
        .where(EmailRecipient.sent_email == sent["id"])
        .first()
    )
    assert token is not None
    assert "RET=HDRS" in with_dsn.mail_options
    assert f"ENVID={token['token'].upper()}" in with_dsn.mail_options
    assert "NOTIFY=SUCCESS,FAILURE,DELAY" in with_dsn.rcpt_options
    with smtp_relay(dsn=False) as (relay, port):
        setup = await _setup(port)
        await _send(app, setup, ["a@client.example"])
        await _drain()
        [without] = relay.received
    assert not any(o.startswith(("RET=", "ENVID=")) for o in without.mail_options)
    assert without.rcpt_options == []


async def test_each_recipient_gets_the_same_bytes_under_its_own_return_address(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        setup = await _setup(port)
        sent = await _send(
            app, setup, ["a@client.example", "b@client.example"], cc=["c@client.example"]
        )
        await _drain()
        received = relay.received
    tokens = {
        r["email"]: r["token"]
        for r in await EmailRecipient.select().where(EmailRecipient.sent_email == sent["id"])
    }
    assert sorted(r.rcpt_tos[0] for r in received) == sorted(tokens)
    assert all(len(r.rcpt_tos) == 1 for r in received)
    assert {r.mail_from for r in received} == {
        f"bounce+{tokens[r.rcpt_tos[0]]}@bounces.test.example" for r in received
    }
    assert len({r.data for r in received}) == 1
    assert received[0].data == await _archived_bytes(sent["id"])


async def test_relay_down_then_up_every_email_goes_once(app: Litestar) -> None:
    port = free_port()
    setup = await _setup(port)
    ids = [(await _send(app, setup, [f"r{i}@client.example"]))["id"] for i in range(3)]
    await _drain()
    for email_id in ids:
        detail = await email_detail(email_id)
        assert detail.status == "deferred"
        assert "could not be reached" in detail.events[-1].detail
        await _make_due(email_id)
    with smtp_relay(port=port) as (relay, _):
        await _drain()
        await _drain()
        assert sorted(r.rcpt_tos[0] for r in relay.received) == [
            "r0@client.example",
            "r1@client.example",
            "r2@client.example",
        ]
    assert {(await email_detail(i)).status for i in ids} == {"sent"}


async def test_451_defers_then_250_sends(app: Litestar) -> None:
    with smtp_relay() as (relay, port):
        relay.data_replies = ["451 4.3.0 Temporary local problem"]
        setup = await _setup(port)
        sent = await _send(app, setup, ["a@client.example"])
        await _drain()
        detail = await email_detail(sent["id"])
        assert detail.status == "deferred"
        assert detail.recipients[0].detail == (
            "Not accepted yet, trying again later: 451 4.3.0 Temporary local problem"
        )
        row = (
            await SentEmail.select(SentEmail.next_attempt_at)
            .where(SentEmail.id == sent["id"])
            .first()
        )
        assert row is not None and row["next_attempt_at"] > datetime.now(UTC)
        assert await run_batch("test-worker") == 0  # not due yet: the backoff holds
        await _make_due(sent["id"])
        await _drain()
        assert len(relay.received) == 1
    assert (await email_detail(sent["id"])).status == "sent"


async def test_550_for_one_recipient_marks_only_that_one_not_delivered(app: Litestar) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {
            "gone@client.example": "550 5.1.1 <gone@client.example>: User unknown"
        }
        setup = await _setup(port)
        sent = await _send(app, setup, ["anna@client.example", "gone@client.example"])
        await _drain()
        [received] = relay.received
    assert received.rcpt_tos == ["anna@client.example"]
    detail = await email_detail(sent["id"])
    states = {r.email: (r.status, r.detail) for r in detail.recipients}
    # Refused by the relay reads as a later bounce would: not delivered, and why.
    assert states["gone@client.example"] == (
        "bounced",
        "Refused by the relay: 550 5.1.1 <gone@client.example>: User unknown",
    )
    assert states["anna@client.example"][0] == "sent"
    assert detail.status == "bounced"  # flagged for the staff, though anna got it


async def test_5xx_for_the_message_is_not_delivered_to_anyone_with_the_relay_text(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        relay.data_replies = ["554 5.7.1 Message rejected as spam"] * 2
        setup = await _setup(port)
        sent = await _send(app, setup, ["a@client.example", "b@client.example"])
        await _drain()
    detail = await email_detail(sent["id"])
    assert {r.status for r in detail.recipients} == {"bounced"}
    assert {r.detail for r in detail.recipients} == {
        "Refused by the relay: 554 5.7.1 Message rejected as spam"
    }
    assert await run_batch("test-worker") == 0


async def test_the_301st_email_of_the_day_is_refused_before_queueing(app: Litestar) -> None:
    with smtp_relay() as (_, port):
        setup = await _setup(port, daily_limit=2, monthly_limit=10)
        await _send(app, setup, ["a@client.example"])
        await _send(app, setup, ["b@client.example"])
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            draft = await client.post(
                f"/api/orders/{setup.order}/drafts",
                json={"template_id": setup.template, "address": "c@client.example"},
            )
            answer = await client.post(
                f"/api/orders/{setup.order}/drafts/{draft.json()['id']}/send"
            )
            assert answer.status_code == 429
            assert "daily limit" in answer.json()["detail"]
            assert int(answer.headers["retry-after"]) > 0
            # The draft is kept, so nothing written is lost.
            assert (
                await client.get(f"/api/orders/{setup.order}/drafts/{draft.json()['id']}")
            ).status_code == 200
            quota = (await client.get("/api/mail/quota")).json()
            assert quota["today"] == 2 and quota["daily_limit"] == 2
    assert await SentEmail.count().where(SentEmail.company == setup.company) == 2


async def test_the_months_last_email_is_refused_and_last_months_emails_do_not_count(
    app: Litestar,
) -> None:
    with smtp_relay() as (_, port):
        setup = await _setup(port, daily_limit=10, monthly_limit=2)
        first = await _send(app, setup, ["a@client.example"])
        await _send(app, setup, ["b@client.example"])
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            draft = await client.post(
                f"/api/orders/{setup.order}/drafts",
                json={"template_id": setup.template, "address": "c@client.example"},
            )
            url = f"/api/orders/{setup.order}/drafts/{draft.json()['id']}/send"
            answer = await client.post(url)
            assert answer.status_code == 429
            assert "monthly limit" in answer.json()["detail"]
            quota = (await client.get("/api/mail/quota")).json()
            assert (quota["today"], quota["this_month"]) == (2, 2)
            # An email of last month counts neither today nor this month: the draft can go.
            await SentEmail.update({SentEmail.queued_at: datetime(2020, 1, 31, tzinfo=UTC)}).where(
                SentEmail.id == first["id"]
            )
            await reseal(setup.company)
            quota = (await client.get("/api/mail/quota")).json()
            assert (quota["today"], quota["this_month"]) == (1, 1)
            assert (await client.post(url)).status_code == 201
    assert await SentEmail.count().where(SentEmail.company == setup.company) == 3


async def test_sending_deletes_the_draft_and_the_order_lists_the_email(app: Litestar) -> None:
    with smtp_relay() as (_, port):
        setup = await _setup(port)
        sent = await _send(app, setup, ["a@client.example"])
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            assert (await client.get(f"/api/orders/{setup.order}/drafts")).json() == []
            emails = (await client.get(f"/api/orders/{setup.order}/emails")).json()
            assert [e["id"] for e in emails] == [sent["id"]]
            detail = (await client.get(f"/api/emails/{sent['id']}")).json()
            assert detail["events"][0]["event"] == "queued"


async def test_another_companys_email_is_not_found(app: Litestar) -> None:
    with smtp_relay() as (_, port):
        setup = await _setup(port)
        sent = await _send(app, setup, ["a@client.example"])
    stranger = await make_employee(await make_company(), roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, stranger.email) as client:
        assert (await client.get(f"/api/emails/{sent['id']}")).status_code == 404
        assert (await client.get(f"/api/orders/{setup.order}/emails")).status_code == 404


@pytest.mark.parametrize("field", ["to", "cc"])
async def test_each_recipient_row_is_kept_per_address(app: Litestar, field: str) -> None:
    with smtp_relay() as (_, port):
        setup = await _setup(port)
        if field == "to":
            sent = await _send(app, setup, ["a@client.example", "b@client.example"])
        else:
            sent = await _send(app, setup, ["a@client.example"], cc=["b@client.example"])
    rows = await EmailRecipient.select(EmailRecipient.email, EmailRecipient.field).where(
        EmailRecipient.sent_email == sent["id"]
    )
    assert {r["email"] for r in rows} == {"a@client.example", "b@client.example"}
    _ = make_contact


async def test_preview_warns_when_the_same_document_just_went_to_the_same_person(
    app: Litestar,
) -> None:
    with smtp_relay() as (_, port):
        setup = await _setup(port)
        setup.template = await make_template(setup.company, attachments=["work_report"])
        await _send(app, setup, ["anna.meier@client.example"])
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            again = await client.post(
                f"/api/orders/{setup.order}/drafts",
                json={"template_id": setup.template, "address": "anna.meier@client.example"},
            )
            preview = await client.post(
                f"/api/orders/{setup.order}/drafts/{again.json()['id']}/preview"
            )
            assert preview.json()["warnings"] == [
                "The same document was sent to anna.meier@client.example just now."
            ]
            other = await client.post(
                f"/api/orders/{setup.order}/drafts",
                json={"template_id": setup.template, "address": "someone.else@client.example"},
            )
            preview = await client.post(
                f"/api/orders/{setup.order}/drafts/{other.json()['id']}/preview"
            )
            assert preview.json()["warnings"] == []


async def test_send_me_a_test_goes_to_me_only_and_keeps_the_draft(app: Litestar) -> None:
    with smtp_relay() as (relay, port):
        setup = await _setup(port)
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            draft = await client.post(
                f"/api/orders/{setup.order}/drafts",
                json={"template_id": setup.template, "address": "client@client.example"},
            )
            proof = await client.post(
                f"/api/orders/{setup.order}/drafts/{draft.json()['id']}/proof"
            )
            assert proof.status_code == 201, proof.text
            assert [r["email"] for r in proof.json()["recipients"]] == [setup.dispatcher.email]
            assert proof.json()["kind"] == "proof"
            await _drain()
            kept = await client.get(f"/api/orders/{setup.order}/drafts/{draft.json()['id']}")
            assert kept.status_code == 200
        [received] = relay.received
    assert received.rcpt_tos == [setup.dispatcher.email]
    assert b"client@client.example" not in received.data
    # Told apart from the real email in the inbox and in the archive, in the employee's words.
    subject = message_from_bytes(received.data, policy=default)["Subject"]
    assert subject == f"[Probe] {draft.json()['blocks']['subject']}"
    assert proof.json()["subject"] == subject
