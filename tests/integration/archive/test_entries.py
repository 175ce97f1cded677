"""An archived email as sent: bytes, view, attachments, raw .eml, notes, history, and that no
route can change it."""

from __future__ import annotations

import email
import email.policy

from litestar import Litestar

from organisatrice.mail.tables import SentEmail
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_company, make_employee
from tests.integration.archive.helpers import drain, office, send, upload_offer
from tests.smtp_relay import smtp_relay


async def test_the_archive_shows_the_email_exactly_as_the_relay_received_it(app: Litestar) -> None:
    with smtp_relay() as (relay, port):
        setup = await office(port)
        offer = await upload_offer(app, setup)
        sent = await send(app, setup)
        await drain()
        [received] = relay.received
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        raw = await client.get(f"/api/archive/{sent['id']}/raw")
        assert raw.status_code == 200
        assert raw.content == received.data
        assert raw.headers["content-type"].startswith("message/rfc822")
        entry = (await client.get(f"/api/archive/{sent['id']}")).json()
        message = email.message_from_bytes(received.data, policy=email.policy.default)
        assert entry["headers"]["Subject"] == message["Subject"]
        assert entry["headers"]["Message-ID"] == message["Message-ID"]
        assert "anna.meier@client.example" in entry["headers"]["To"]
        assert "Im Anhang finden Sie den Arbeitsrapport" in entry["text"]
        assert "<table" in entry["html"]
        assert entry["status"] == "sent" and entry["needs_attention"] is False
        [attachment] = entry["attachments"]
        assert attachment["filename"] == "Offerte Müller.pdf"
        download = await client.get(attachment["download_url"])
        assert download.content == offer
        assert "Offerte%20M%C3%BCller.pdf" in download.headers["content-disposition"]
        assert [e["event"] for e in entry["events"]] == ["queued", "sent"]


async def test_no_route_can_change_an_archived_email(app: Litestar) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port)
        await upload_offer(app, setup)
        sent = await send(app, setup)
        await drain()
    before = await SentEmail.select().where(SentEmail.id == sent["id"]).first()
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        base = f"/api/archive/{sent['id']}"
        for path in (base, f"{base}/raw", f"{base}/attachments/0", f"{base}/notes"):
            for method in ("put", "patch", "delete", "post"):
                if path.endswith("/notes") and method == "post":
                    continue
                body = {} if method == "delete" else {"json": {"subject": "changed"}}
                answer = await getattr(client, method)(path, **body)
                assert answer.status_code in (404, 405), f"{method} {path}: {answer.status_code}"
        raw = await client.get(f"{base}/raw")
    after = await SentEmail.select().where(SentEmail.id == sent["id"]).first()
    assert before == after
    assert raw.status_code == 200


async def test_notes_are_kept_with_author_and_time_and_never_sent(app: Litestar) -> None:
    with smtp_relay() as (relay, port):
        setup = await office(port, attachments=[])
        sent = await send(app, setup)
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            note = await client.post(
                f"/api/archive/{sent['id']}/notes",
                json={"text": "Client called: wants the report also on paper."},
            )
            assert note.status_code == 201, note.text
            assert note.json()["author"].startswith("Eva")
            empty = await client.post(f"/api/archive/{sent['id']}/notes", json={"text": ""})
            assert empty.status_code == 400
            entry = (await client.get(f"/api/archive/{sent['id']}")).json()
            assert [n["text"] for n in entry["notes"]] == [
                "Client called: wants the report also on paper."
            ]
        await drain()
        [received] = relay.received
    assert b"paper" not in received.data
    stranger = await make_employee(await make_company(), roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, stranger.email) as client:
        assert (await client.get(f"/api/archive/{sent['id']}")).status_code == 404
        answer = await client.post(f"/api/archive/{sent['id']}/notes", json={"text": "x"})
        assert answer.status_code == 404


async def test_the_order_history_flags_a_failed_email_and_shows_the_work_report_sent(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {"typo@client.example": "550 5.1.1 User unknown"}
        setup = await office(port, attachments=[])
        good = await send(app, setup, "anna.meier@client.example")
        await send(app, setup, "typo@client.example")
        await drain()
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        history = (await client.get(f"/api/orders/{setup.order}/history")).json()
        assert history["needs_attention"] is True
        assert [e["needs_attention"] for e in history["emails"]] == [True, False]
        assert history["work_report_sent"]["email_id"] == good["id"]
        assert history["work_report_sent"]["recipients"] == ["anna.meier@client.example"]
        handover = await client.post(
            f"/api/orders/{setup.order}/handovers",
            json={"kind": "work_report", "handed_over_on": "2026-11-20", "note": "By post"},
        )
        assert handover.status_code == 201, handover.text
        history = (await client.get(f"/api/orders/{setup.order}/history")).json()
        assert history["work_report_handed_over"]["note"] == "By post"
        assert history["handovers"][0]["kind"] == "work_report"
        bad = await client.post(
            f"/api/orders/{setup.order}/handovers",
            json={"kind": "telegram", "handed_over_on": "2026-11-20"},
        )
        assert bad.status_code == 400


async def test_a_technician_not_on_the_order_cannot_open_its_emails(app: Litestar) -> None:
    with smtp_relay() as (_, port):
        setup = await office(port, attachments=[])
        sent = await send(app, setup)
    technician = await make_employee(setup.company, roles={Role.TECHNICIAN})
    async with ApiClient.signed_in(app, technician.email) as client:
        assert (await client.get(f"/api/archive/{sent['id']}")).status_code == 404
        assert (await client.get(f"/api/orders/{setup.order}/history")).status_code == 404
