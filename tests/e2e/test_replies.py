"""A client's answer on the tablet: the coordinator finds it in the notifications and on the
order, reads what the client wrote with the quoted history folded away, sees the attachment,
and marks it taken care of, or answers it in two taps, threaded. An answer with a script and a
remote image shows neither running nor loading."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.compose.schemas import TemplateKind
from organisatrice.demo import demo_templates
from organisatrice.mail.replies import record_reply
from organisatrice.mail.tables import SentEmail
from organisatrice.roles.policy import Role
from tests.e2e.flows import drain, send_email, signed_in
from tests.factories import (
    make_client,
    make_company,
    make_contact,
    make_employee,
    make_order,
    make_pdf,
    make_relay,
    make_template,
    save_template,
)
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

CLIENT = "silvia.moser@lindenhof.example"


def _answer(subject: str) -> bytes:
    message = EmailMessage()
    message["From"] = f"Silvia Moser <{CLIENT}>"
    message["Subject"] = f"Re: {subject}"
    message.set_content(
        "Besten Dank, bitte senden Sie auch die Fotos.\n\n"
        "Am 05.12.2026 um 10:12 schrieb Daniel Brunner <daniel@muster.example>:\n"
        "> Im Anhang finden Sie den Arbeitsrapport.\n"
    )
    message.add_attachment(
        make_pdf(), maintype="application", subtype="pdf", filename="Unterschrift.pdf"
    )
    return message.as_bytes()


def _hostile() -> bytes:
    message = EmailMessage()
    message["From"] = f"Silvia Moser <{CLIENT}>"
    message["Subject"] = "Re: Offerte"
    message.set_content(
        "<p>Einverstanden.</p><script>window.replyRan = true</script>"
        '<img src="http://127.0.0.1:9/tracker.png" onerror="window.replyRan = true">',
        subtype="html",
    )
    return message.as_bytes()


async def test_the_coordinator_reads_the_clients_answer_and_marks_it_taken_care_of(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    await make_relay(company, 9)
    dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
    coordinator = await make_employee(
        company, roles={Role.COORDINATOR}, first_name="Rita", last_name="Keller"
    )
    client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
    await make_contact(
        company, client_id=client, first_name="Silvia", last_name="Moser", email=CLIENT
    )
    order = await make_order(company, client_id=client, number="2026-4711")
    template = await make_template(company)
    sent = await send_email(app, dispatcher.email, order.id, template, CLIENT)
    row = (
        await SentEmail.select(SentEmail.token, SentEmail.subject)
        .where(SentEmail.id == sent["id"])
        .first()
    )
    assert row is not None
    await record_reply(row["token"], CLIENT, _answer(row["subject"]))
    await record_reply(row["token"], CLIENT, _hostile())
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))

    await signed_in(page, coordinator.email, "Rita Keller")
    await page.goto("/#/notifications")
    notices = page.get_by_test_id("reply-notices")
    await expect(notices.get_by_test_id("reply")).to_have_count(2)
    await notices.get_by_role("link", name=f"Re: {row['subject']}").first.click()

    replies = page.get_by_test_id("conversation")
    first = replies.get_by_test_id("reply").first
    await expect(first).to_contain_text("Besten Dank, bitte senden Sie auch die Fotos.")
    await expect(first).to_contain_text("Unterschrift.pdf")
    quoted = first.get_by_text("Im Anhang finden Sie den Arbeitsrapport.")
    await expect(quoted).to_be_hidden()
    await first.get_by_text("Zitierter Verlauf").click()
    await expect(quoted).to_be_visible()
    await page.screenshot(path=str(screenshots / "order-replies-768.png"), full_page=True)

    # The hostile answer is text: nothing of it ran or loaded.
    await expect(replies.get_by_test_id("reply").nth(1)).to_contain_text("Einverstanden.")
    assert await page.evaluate("window.replyRan === undefined")
    assert not [url for url in requests if "tracker" in url]

    await first.get_by_test_id("reply-handled").click()
    await expect(first).to_contain_text("Erledigt")
    await page.goto("/#/notifications")
    await expect(page.get_by_test_id("reply-notices").get_by_test_id("reply")).to_have_count(1)


async def test_the_coordinator_answers_the_client_in_two_taps_and_the_answer_is_threaded(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
    coordinator = await make_employee(
        company, roles={Role.COORDINATOR}, first_name="Rita", last_name="Keller"
    )
    client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
    await make_contact(
        company, client_id=client, first_name="Silvia", last_name="Moser", email=CLIENT
    )
    order = await make_order(company, client_id=client, number="2026-4711")
    template = await make_template(company)
    [answering] = [
        t for t in demo_templates() if t.kind is TemplateKind.REPLY and t.language == "de"
    ]
    await save_template(company, answering)
    with smtp_relay() as (relay, port):
        await make_relay(company, port)
        sent = await send_email(app, dispatcher.email, order.id, template, CLIENT)
        await drain()
        row = (
            await SentEmail.select(SentEmail.token, SentEmail.subject, SentEmail.message_id)
            .where(SentEmail.id == sent["id"])
            .first()
        )
        assert row is not None
        answer = EmailMessage()
        answer["From"] = f"Silvia Moser <{CLIENT}>"
        answer["Subject"] = f"AW: {row['subject']}"
        answer["Message-ID"] = "<silvia.1@lindenhof.example>"
        answer["In-Reply-To"] = row["message_id"]
        answer["References"] = row["message_id"]
        answer.set_content(
            "Können Sie am Montag kommen?\n\n"
            "Am 05.12.2026 um 10:12 schrieb Daniel Brunner <daniel@muster.example>:\n"
            "> Im Anhang finden Sie den Arbeitsrapport.\n"
        )
        await record_reply(row["token"], CLIENT, answer.as_bytes())

        await signed_in(page, coordinator.email, "Rita Keller")
        await page.goto(f"/#/orders/{order.id}")
        conversation = page.get_by_test_id("conversation")
        reply = conversation.get_by_test_id("reply")
        await expect(reply).to_contain_text("Können Sie am Montag kommen?")
        # Each kind marked: what we sent, what she answered.
        await expect(conversation.get_by_test_id("conversation-email")).to_contain_text(
            "E-Mail gesendet"
        )
        await expect(conversation.get_by_test_id("conversation-reply")).to_contain_text(
            "Antwort des Kunden"
        )

        await page.screenshot(path=str(screenshots / "conversation-768.png"), full_page=True)

        # Two taps and her text: "Answer", type, "Send".
        await reply.get_by_role("button", name="Antworten").tap()
        free_text = page.get_by_label("Ihr Text")
        await expect(free_text).to_be_focused()
        await expect(page.get_by_label("Betreff")).to_have_value(f"Re: {row['subject']}")
        await page.keyboard.type("Ja, am Montag um 8 Uhr.")
        await page.screenshot(path=str(screenshots / "answer-768.png"), full_page=True)
        await page.get_by_role("button", name="Senden", exact=True).tap()
        # Nothing to warn about: it goes without asking again, back to the order.
        await expect(page).to_have_url(re.compile(rf"#/orders/{order.id}$"))
        await drain()
        assert len(relay.received) == 2
        delivered = relay.received[1]

    assert delivered.rcpt_tos == [CLIENT]
    message = email.message_from_bytes(delivered.data, policy=email.policy.default)
    assert message["In-Reply-To"] == "<silvia.1@lindenhof.example>"
    assert str(message["References"]).split() == [
        row["message_id"],
        "<silvia.1@lindenhof.example>",
    ]
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Ja, am Montag um 8 Uhr." in str(body.get_content())
    assert "> Können Sie am Montag kommen?" in str(body.get_content())
    # Answered is taken care of: the reply shows so on the order.
    await expect(page.get_by_test_id("conversation").get_by_test_id("reply")).to_contain_text(
        "Erledigt"
    )
