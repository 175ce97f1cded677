"""Answering a client's reply from the order: the draft goes to whoever wrote, quotes what they
wrote with one "Re:" before their subject, and the answer reaches the relay in their thread;
the reply is then taken care of. The order's conversation puts emails, replies, hand-overs
and notes in one time line, and the archive finds emails whose reply waits for an answer."""

from __future__ import annotations

import email
import email.policy
from email.message import EmailMessage
from typing import Any

from litestar import Litestar

from organisatrice.compose.schemas import TemplateKind
from organisatrice.demo import demo_templates
from organisatrice.mail.tables import MailRelay
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_employee, save_template
from tests.integration.archive.helpers import Office, drain, office, send
from tests.integration.mail.test_replies import ANNA, _answer, _deliver, _reachable, _sent
from tests.smtp_relay import smtp_relay

EARLIER = "<first.question@client.example>"


async def _reply_template(company: int, language: str = "de") -> int:
    [template] = [
        t for t in demo_templates() if t.kind is TemplateKind.REPLY and t.language == language
    ]
    return await save_template(company, template)


async def _client_replies(
    app: Litestar, receiver: int, text: str = "Einverstanden. Können Sie auch die Fotos senden?"
) -> tuple[Office, int, EmailMessage, dict[str, Any]]:
    """An email sent to Anna, and her answer to it, which quotes our email below her text."""
    setup, email_id, message = await _sent(app)
    await _reply_template(setup.company)
    data = _answer(
        message,
        f"{text}\n\nAm 05.12.2026 um 10:12 schrieb Eva Muster <{setup.dispatcher.email}>:\n"
        "> Im Anhang finden Sie den Arbeitsrapport.\n",
    )
    answer = email.message_from_bytes(data, policy=email.policy.default)
    # Her thread began before our email; her program stacks its own answer marks.
    answer.replace_header("References", f"{EARLIER} {message['Message-ID']}")
    answer.replace_header("Subject", f"AW: Re: {message['Subject']}")
    await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, answer.as_bytes())
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        [reply] = (await client.get(f"/api/orders/{setup.order}/replies")).json()
    return setup, email_id, message, reply


async def test_an_answer_quotes_the_client_and_reaches_the_relay_in_their_thread(
    app: Litestar, receiver: int
) -> None:
    setup, email_id, message, reply = await _client_replies(app, receiver)
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        made = await client.post(f"/api/orders/{setup.order}/replies/{reply['id']}/answer", json={})
        assert made.status_code == 201, made.text
        draft = made.json()
        assert draft["kind"] == "reply" and draft["reply_id"] == reply["id"]
        assert [r["email"] for r in draft["recipients"]["to"]] == [ANNA]
        # One "Re:" before the subject of the email she answered, whatever hers stacked up.
        assert draft["blocks"]["subject"] == f"Re: {message['Subject']}"
        motivation = draft["blocks"]["motivation"]
        assert "> Einverstanden. Können Sie auch die Fotos senden?" in motivation
        assert "Im Anhang finden Sie den Arbeitsrapport" not in motivation
        blocks = {**draft["blocks"], "free_text": "Die Fotos folgen morgen."}
        changed = await client.patch(
            f"/api/orders/{setup.order}/drafts/{draft['id']}",
            json={"version": draft["version"], "blocks": blocks},
        )
        assert changed.status_code == 200, changed.text
        with smtp_relay() as (relay, port):
            await MailRelay.update({MailRelay.port: port}).where(MailRelay.company == setup.company)
            sent = await client.post(f"/api/orders/{setup.order}/drafts/{draft['id']}/send")
            assert sent.status_code == 201, sent.text
            await drain()
            # Sent again to a corrected address, it stays in her thread.
            again = await client.post(
                f"/api/emails/{sent.json()['id']}/resend",
                json={"to": [{"email": "anna.meier@client.example"}]},
            )
            assert again.status_code == 201, again.text
            await drain()
            received, resent = relay.received
        handled = (await client.get(f"/api/orders/{setup.order}/replies")).json()
        waiting = (await client.get("/api/notifications/replies")).json()
    assert received.rcpt_tos == [ANNA]
    answer = email.message_from_bytes(received.data, policy=email.policy.default)
    assert answer["In-Reply-To"] == "<answer.1@client.example>"
    assert str(answer["References"]).split() == [
        EARLIER,
        str(message["Message-ID"]),
        "<answer.1@client.example>",
    ]
    resent_answer = email.message_from_bytes(resent.data, policy=email.policy.default)
    assert resent_answer["In-Reply-To"] == answer["In-Reply-To"]
    assert resent_answer["References"] == answer["References"]
    body = answer.get_body(preferencelist=("plain",))
    assert body is not None and "Die Fotos folgen morgen." in str(body.get_content())
    # Answered is taken care of: off everyone's notifications.
    assert handled[0]["handled_at"] is not None
    assert waiting == []
    assert sent.json()["id"] != email_id


async def test_the_conversation_is_one_time_line_and_notes_stay_in_the_company(
    app: Litestar, receiver: int
) -> None:
    setup, email_id, _, reply = await _client_replies(app, receiver)
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        note = await client.post(f"/api/archive/{email_id}/notes", json={"text": "Rückruf um 3"})
        assert note.status_code == 201, note.text
        handover = await client.post(
            f"/api/orders/{setup.order}/handovers",
            json={"kind": "work_report", "handed_over_on": "2026-12-01", "note": "Per Post"},
        )
        assert handover.status_code == 201, handover.text
        answer = await client.get(f"/api/orders/{setup.order}/conversation")
    assert answer.status_code == 200, answer.text
    entries = answer.json()
    # The paper went on the first, before anything was sent; then what was said, in order.
    assert [e["kind"] for e in entries] == ["handover", "email", "reply", "note"]
    assert [e["at"] for e in entries] == sorted(e["at"] for e in entries)
    assert entries[1]["email"]["id"] == email_id
    assert entries[2]["reply"]["id"] == reply["id"]
    assert (entries[3]["note"]["text"], entries[3]["about_email_id"]) == ("Rückruf um 3", email_id)

    colleague = await make_employee(setup.company, roles={Role.COORDINATOR})
    async with ApiClient.signed_in(app, colleague.email) as client:
        seen = (await client.get(f"/api/orders/{setup.order}/conversation")).json()
    assert [e["kind"] for e in seen] == ["handover", "email", "reply", "note"]
    other = await _other_office()
    async with ApiClient.signed_in(app, other.dispatcher.email) as client:
        refused = await client.get(f"/api/orders/{setup.order}/conversation")
    assert refused.status_code == 404


async def _other_office() -> Office:
    with smtp_relay() as (_, port):
        return await office(port)


async def test_the_archive_finds_emails_whose_reply_waits_for_an_answer(
    app: Litestar, receiver: int
) -> None:
    with smtp_relay() as (relay, port):
        setup = await office(port, attachments=[])
        await _reachable(setup.company)
        answered = await send(app, setup, ANNA)
        out_of_office = await send(app, setup, ANNA)
        await send(app, setup, ANNA)
        await drain()
        first, second, _ = (
            email.message_from_bytes(r.data, policy=email.policy.default) for r in relay.received
        )
    await _deliver(receiver, first["Reply-To"].addresses[0].addr_spec, _answer(first, "Ok?"))
    await _deliver(
        receiver,
        second["Reply-To"].addresses[0].addr_spec,
        _answer(second, "Ich bin abwesend.", Auto_Submitted="auto-replied"),
    )

    async def unanswered() -> list[int]:
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            page = await client.get("/api/archive", params={"unanswered_reply": "true"})
        assert page.status_code == 200, page.text
        return [row["id"] for row in page.json()["items"]]

    # An out-of-office note waits for nobody.
    assert await unanswered() == [answered["id"]]
    assert out_of_office["id"] != answered["id"]
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        [reply] = [
            r
            for r in (await client.get(f"/api/orders/{setup.order}/replies")).json()
            if not r["automatic"]
        ]
        done = await client.post(f"/api/orders/{setup.order}/replies/{reply['id']}/handled")
        assert done.status_code == 200, done.text
    assert await unanswered() == []


async def test_another_companys_reply_cannot_be_answered(app: Litestar, receiver: int) -> None:
    setup, _, _, reply = await _client_replies(app, receiver)
    other = await _other_office()
    async with ApiClient.signed_in(app, other.dispatcher.email) as client:
        on_their_order = await client.post(
            f"/api/orders/{setup.order}/replies/{reply['id']}/answer", json={}
        )
        on_own_order = await client.post(
            f"/api/orders/{other.order}/replies/{reply['id']}/answer", json={}
        )
    assert on_their_order.status_code == 404
    assert (on_own_order.status_code, on_own_order.json()["code"]) == (404, "reply_not_found")


async def test_an_out_of_office_note_is_not_answered(app: Litestar, receiver: int) -> None:
    setup, _, message = await _sent(app)
    await _reply_template(setup.company)
    automatic = _answer(message, "Ich bin abwesend.", Auto_Submitted="auto-replied")
    await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, automatic)
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        [reply] = (await client.get(f"/api/orders/{setup.order}/replies")).json()
        refused = await client.post(
            f"/api/orders/{setup.order}/replies/{reply['id']}/answer", json={}
        )
        blank = await client.post(
            f"/api/orders/{setup.order}/drafts",
            json={"template_id": await _reply_template(setup.company, "en"), "address": ANNA},
        )
    assert (refused.status_code, refused.json()["code"]) == (409, "reply_automatic")
    # A reply template is made from a reply, never picked blank.
    assert (blank.status_code, blank.json()["code"]) == (422, "template_kind_mismatch")
