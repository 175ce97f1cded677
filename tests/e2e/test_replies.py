"""A client's answer on the tablet: the coordinator finds it in the notifications and on the
order, reads what the client wrote with the quoted history folded away, sees the attachment,
and marks it taken care of. An answer with a script and a remote image shows neither running
nor loading."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.mail.replies import record_reply
from organisatrice.mail.tables import SentEmail
from organisatrice.roles.policy import Role
from tests.e2e.flows import send_email, signed_in
from tests.factories import (
    make_client,
    make_company,
    make_contact,
    make_employee,
    make_order,
    make_pdf,
    make_relay,
    make_template,
)

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
