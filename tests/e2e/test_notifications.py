"""A failed email finds its author: the header counts it, the notifications list it with the
relay's reason, and "fix and resend" sends the same email to the corrected address."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.roles.policy import Role
from tests.e2e.flows import drain, send_email, signed_in
from tests.factories import (
    make_client,
    make_company,
    make_contact,
    make_employee,
    make_order,
    make_relay,
    make_template,
)
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

TYPO = "silvia.mooser@lindenhof.example"
RIGHT = "silvia.moser@lindenhof.example"
UNKNOWN_USER = "550 5.1.1 User unknown"


async def test_the_author_sees_the_failed_email_and_fixes_and_resends_it(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {TYPO: UNKNOWN_USER}
        company = await make_company("Muster Haustechnik AG")
        await make_relay(company, port)
        dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
        client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
        await make_contact(
            company, client_id=client, first_name="Silvia", last_name="Moser", email=RIGHT
        )
        order = await make_order(company, client_id=client, number="2026-4711")
        template = await make_template(company)
        failed = await send_email(app, dispatcher.email, order.id, template, TYPO)
        await drain()
        assert relay.received == []

        # The header counts it wherever one is.
        await signed_in(page, dispatcher.email, "Daniel Brunner")
        await expect(page.get_by_test_id("notification-count")).to_have_text("1")

        # The order flags it too, with the way to fix it.
        await page.goto(f"/#/orders/{order.id}")
        await expect(page.get_by_test_id("email-problem")).to_contain_text(
            "Arbeitsrapport 2026-4711"
        )

        await page.get_by_test_id("nav-notifications").tap()
        notice = page.get_by_test_id("notification")
        await expect(notice).to_have_count(1)
        await expect(notice).to_contain_text("Arbeitsrapport 2026-4711")
        await expect(notice).to_contain_text("Auftrag 2026-4711")
        await expect(notice).to_contain_text(TYPO)
        await expect(notice).to_contain_text(UNKNOWN_USER)
        await page.screenshot(path=screenshots / "notifications.png")

        # Fix: the address as it was, marked, to be corrected; a wrong one is not accepted.
        await notice.get_by_role("button", name="Korrigieren und erneut senden").tap()
        dialog = page.get_by_role("dialog", name="Korrigieren und erneut senden")
        address = dialog.get_by_label("Adresse von Empfänger 1")
        await expect(address).to_have_value(TYPO)
        await expect(dialog).to_contain_text(UNKNOWN_USER)
        send = dialog.get_by_role("button", name="Erneut senden")
        await address.fill("silvia.moser at lindenhof")
        await expect(send).to_be_disabled()
        await address.fill(RIGHT)
        await page.screenshot(path=screenshots / "resend.png")
        await send.tap()

        await expect(page.get_by_role("status")).to_contain_text("wurde erneut gesendet")
        await expect(notice).to_have_count(0)
        await expect(page.get_by_test_id("no-notifications")).to_be_visible()
        await expect(page.get_by_test_id("notification-fixed")).to_contain_text(
            "Arbeitsrapport 2026-4711"
        )
        await expect(page.get_by_test_id("notification-count")).to_have_count(0)

        # The same email goes out to the corrected address, and shows as sent.
        await drain()
        [delivered] = relay.received
        assert delivered.rcpt_tos == [RIGHT]
        message = email.message_from_bytes(delivered.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        assert message["Subject"] == "Arbeitsrapport 2026-4711"
        assert RIGHT in str(message["To"])

        await page.get_by_role("link", name="Erneut gesendet – ansehen").tap()
        await expect(page).not_to_have_url(re.compile(rf"#/mail/{failed['id']}$"))
        badge = page.get_by_test_id("entry-status").locator("[data-status]")
        await expect(badge).to_have_attribute("data-status", "sent")
        await expect(page.get_by_test_id("entry-recipient")).to_contain_text(RIGHT)

        # The order no longer asks for a fix; the original says it was resent.
        await page.goto(f"/#/orders/{order.id}")
        await expect(page.get_by_test_id("sent-emails").locator("[data-status]")).to_have_count(2)
        await expect(page.get_by_test_id("email-problem")).to_have_count(0)
        await page.goto(f"/#/mail/{failed['id']}")
        await expect(page.get_by_test_id("entry-resent")).to_be_visible()

        # In the sent-mail table the bounced row is no longer marked, and leads to its resend.
        await page.goto("/#/mail")
        original = page.get_by_test_id("mail-row").filter(has_text=TYPO)
        await expect(original).to_have_attribute("data-status", re.compile("failed|bounced"))
        await expect(original).not_to_have_class(re.compile(r"\battention\b"))
        await page.screenshot(path=screenshots / "mail-resent.png")
        await original.get_by_test_id("row-resent-as").tap()
        await expect(page).to_have_url(re.compile(r"#/mail/\d+$"))
        await expect(page.get_by_test_id("entry-recipient")).to_contain_text(RIGHT)


async def test_a_colleague_sees_no_notification_of_someone_elses_email(
    page: Page, app: Litestar
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {TYPO: UNKNOWN_USER}
        company = await make_company()
        await make_relay(company, port)
        author = await make_employee(company)
        colleague = await make_employee(
            company, roles={Role.DISPATCHER}, first_name="Nina", last_name="Frei"
        )
        order = await make_order(company)
        template = await make_template(company)
        await send_email(app, author.email, order.id, template, TYPO)
        await drain()

    await signed_in(page, colleague.email, "Nina Frei")
    await page.get_by_test_id("nav-notifications").tap()
    await expect(page.get_by_test_id("no-notifications")).to_be_visible()
    await expect(page.get_by_test_id("notification-count")).to_have_count(0)


async def test_the_coordinator_sees_a_bounced_work_report_of_a_colleague(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {TYPO: UNKNOWN_USER}
        company = await make_company()
        await make_relay(company, port)
        author = await make_employee(company, first_name="Daniel", last_name="Brunner")
        coordinator = await make_employee(
            company, roles={Role.COORDINATOR}, first_name="Corinne", last_name="Favre"
        )
        order = await make_order(company, number="2026-4712")
        template = await make_template(company)
        await send_email(app, author.email, order.id, template, TYPO)
        await drain()

    # The coordinator bills the order: the bounced report is theirs to see and to fix.
    await signed_in(page, coordinator.email, "Corinne Favre")
    await expect(page.get_by_test_id("notification-count")).to_have_text("1")
    await page.get_by_test_id("nav-notifications").tap()
    notice = page.get_by_test_id("notification")
    await expect(notice).to_have_count(1)
    await expect(notice).to_contain_text("Arbeitsrapport 2026-4712")
    await expect(notice).to_contain_text(TYPO)
    await expect(notice).to_contain_text(UNKNOWN_USER)
    await expect(notice.get_by_role("button", name="Korrigieren und erneut senden")).to_be_visible()
    await page.screenshot(path=screenshots / "notifications-coordinator.png")
