"""The screens for rules that were only in the API: my signature block and my notification
choices (Account), the quota where senders send, who is responsible (from the order), and
archive retention for back-office."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.archive.notice_mail import email_notices
from organisatrice.mail.tables import SentEmail
from organisatrice.roles.policy import Role
from tests.e2e.flows import drain, send_email, signed_in
from tests.e2e.test_accounts import shoot
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


async def test_my_signature_signs_the_next_email_and_the_send_dialog_shows_the_quota(
    page: Page, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    await make_relay(company, 2525, daily_limit=40, monthly_limit=1000)
    dispatcher = await make_employee(company, first_name="Nina", last_name="Frei")
    client = await make_client(company, "Bäckerei Huber")
    await make_contact(company, client_id=client, first_name="Erika", last_name="Huber")
    order = await make_order(company, client_id=client, number="2026-0100")
    await make_template(company)

    await signed_in(page, dispatcher.email, "Nina Frei")
    await page.goto("/#/account")
    mine = page.get_by_test_id("my-signature")
    field = mine.get_by_label("Signatur")
    await field.fill("{{ employee.full_name }}\nDisposition\n{{ employee.handy }}")
    await mine.get_by_role("button", name="Speichern").tap()
    # A placeholder that does not exist is named with its line, at the field.
    await expect(mine.locator(".field-error")).to_contain_text("employee.handy")
    await expect(field).to_be_focused()
    await field.fill("{{ employee.full_name }}\nDisposition, Tel. 044 555 12 12")
    await mine.get_by_role("button", name="Speichern").tap()
    await expect(mine.get_by_role("status")).to_contain_text("Signatur gespeichert")
    await expect(mine.get_by_test_id("signature-preview")).to_contain_text(
        "Nina Frei\nDisposition, Tel. 044 555 12 12"
    )
    await shoot(page, screenshots, "account-signature")

    # The next work report is signed with it.
    await page.goto(f"/#/orders/{order.id}")
    await page.get_by_role("link", name=re.compile("Arbeitsrapport senden")).tap()
    await expect(page.get_by_label("Signatur", exact=True)).to_have_value(
        "Nina Frei\nDisposition, Tel. 044 555 12 12"
    )
    # Where she sends, she sees what the company may still send.
    await page.get_by_role("button", name="Senden", exact=True).tap()
    dialog = page.get_by_role("dialog", name="E-Mail jetzt senden?")
    await expect(dialog.get_by_test_id("send-quota")).to_have_text(
        "Heute noch 40 von 40, im Monat 1'000 von 1'000."
    )
    await shoot(page, screenshots, "send-quota")


async def test_a_coordinator_switches_off_one_kind_and_gets_another_by_email(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {TYPO: "550 5.1.1 User unknown"}
        company = await make_company("Muster Haustechnik AG")
        await make_relay(company, port)
        dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
        coordinator = await make_employee(
            company, roles={Role.COORDINATOR}, first_name="Rita", last_name="Sutter"
        )
        order = await make_order(company, number="2026-4711")
        template = await make_template(company)
        await send_email(app, dispatcher.email, order.id, template, TYPO)
        await drain()

        await signed_in(page, coordinator.email, "Rita Sutter")
        await expect(page.get_by_test_id("notification-count")).to_have_text("1")
        # The order list says which order's work report did not arrive, and which has none.
        await make_order(company, number="2026-4712", status="completed")
        await page.reload()
        states = page.get_by_test_id("work-report-state")
        await expect(states).to_have_text(
            ["Arbeitsrapport noch nicht gesendet", "Arbeitsrapport nicht zugestellt"]
        )
        await expect(states.nth(1)).to_have_attribute("data-status", "bounced")
        await shoot(page, screenshots, "orders-work-reports")
        await page.goto("/#/account")
        choices = page.get_by_test_id("notice-choices")
        reports = choices.locator("[data-kind=work_report]")
        await expect(reports).to_contain_text("Arbeitsrapporte anderer nicht zugestellt")
        await reports.get_by_role("switch", name="Anzeigen").tap()
        await expect(reports.get_by_role("switch", name="Anzeigen")).to_have_attribute(
            "aria-checked", "false"
        )
        # Not shown: the header has nothing to count any more.
        await expect(page.get_by_test_id("notification-count")).to_have_count(0)

        # Shown again, and by email: the next bounced work report comes to her address.
        await reports.get_by_role("switch", name="Anzeigen").tap()
        await reports.get_by_role("switch", name="Per E-Mail").tap()
        await expect(reports.get_by_role("switch", name="Per E-Mail")).to_have_attribute(
            "aria-checked", "true"
        )
        await shoot(page, screenshots, "account-notices")
        await send_email(app, dispatcher.email, order.id, template, TYPO)
        await drain()
        assert await email_notices() == 1
        [note] = [m for m in relay.received if m.rcpt_tos == [coordinator.email]]
    parsed = email.message_from_bytes(note.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert parsed["Subject"] == "Arbeitsrapport nicht zugestellt: Auftrag 2026-4711"


async def test_back_office_assigns_responsible_employees_from_the_order(
    page: Page, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    boss = await make_employee(
        company, roles={Role.BACKOFFICE}, first_name="Petra", last_name="Graf"
    )
    await make_employee(company, roles={Role.TECHNICIAN}, first_name="Reto", last_name="Baumann")
    order = await make_order(company, number="2026-0200", title="Boiler entkalken")

    await signed_in(page, boss.email, "Petra Graf")
    await page.goto(f"/#/orders/{order.id}")
    await page.get_by_test_id("edit-order").tap()
    picker = page.get_by_test_id("responsible")
    await picker.get_by_role("checkbox", name=re.compile("Reto Baumann")).check()
    await shoot(page, screenshots, "order-responsible")
    await page.get_by_role("button", name="Speichern").tap()
    await expect(page.get_by_role("status")).to_contain_text("Auftrag gespeichert.")
    await expect(page.get_by_role("heading", name="Verantwortlich")).to_be_visible()
    await expect(page.get_by_text("Reto Baumann")).to_be_visible()


async def test_back_office_deletes_old_archived_emails_after_confirming_their_number(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (_, port):
        company = await make_company("Muster Haustechnik AG")
        await make_relay(company, port)
        boss = await make_employee(
            company, roles={Role.BACKOFFICE, Role.DISPATCHER}, first_name="Petra", last_name="Graf"
        )
        order = await make_order(company)
        template = await make_template(company, attachments=[])
        old = [
            await send_email(app, boss.email, order.id, template, "alt@kunde.example")
            for _ in range(2)
        ]
        recent = await send_email(app, boss.email, order.id, template, "neu@kunde.example")
        await drain()
    for n, sent in enumerate(old):
        await SentEmail.update(
            {SentEmail.queued_at: datetime(2014, 3, 3 + n, 9, tzinfo=UTC)}
        ).where(SentEmail.id == sent["id"])

    await signed_in(page, boss.email, "Petra Graf")
    await page.goto("/#/admin/retention")
    await expect(page.get_by_role("heading", name="Aufbewahrung")).to_be_visible()
    await page.get_by_label("Versandt vor dem").fill("2015-01-01")
    await page.get_by_role("button", name="Zählen").tap()
    preview = page.get_by_test_id("retention-preview")
    await expect(preview).to_contain_text("2 E-Mails würden gelöscht")
    await shoot(page, screenshots, "retention")
    await preview.get_by_role("button", name="Endgültig löschen").tap()
    confirm = page.get_by_role("dialog", name="2 E-Mails löschen?")
    await expect(confirm).to_contain_text("01.01.2015")
    await confirm.get_by_role("button", name="Endgültig löschen").tap()
    await expect(page.get_by_role("status")).to_contain_text("2 E-Mails gelöscht.")
    left = await SentEmail.select(SentEmail.id).where(SentEmail.company == company)
    assert [r["id"] for r in left] == [recent["id"]]


async def test_contacts_say_whose_they_are_and_a_typed_address_carries_a_name(
    page: Page, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        company = await make_company("Muster Haustechnik AG")
        await make_relay(company, port)
        dispatcher = await make_employee(company, first_name="Nina", last_name="Frei")
        client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
        order = await make_order(company, client_id=client, street="Gartenstrasse 92")
        await make_contact(company, client_id=client, first_name="Silvia", last_name="Moser")
        await make_contact(
            company,
            building_id=order.building_ids[0],
            first_name="Marco",
            last_name="Keller",
            email="hauswart@lindenhof.example",
        )
        template = await make_template(company, attachments=[])

        await signed_in(page, dispatcher.email, "Nina Frei")
        await page.goto(f"/#/orders/{order.id}")
        await expect(page.get_by_test_id("contact-source")).to_have_text(
            ["Kunde", "Gebäude Gartenstrasse 92, 8001 Zürich"]
        )
        await page.goto(f"/#/orders/{order.id}/compose/{template}")
        sources = page.get_by_test_id("contact-source")
        await expect(sources).to_have_count(2)
        await expect(sources.nth(1)).to_have_text("Gebäude Gartenstrasse 92, 8001 Zürich")
        await shoot(page, screenshots, "compose-contact-sources")

        # Someone who is no contact, typed with the name the email should greet.
        await page.get_by_label("Andere E-Mail-Adresse").fill(
            "Urs Brunner <urs.brunner@example.ch>"
        )
        await page.get_by_role("button", name="Weiter").tap()
        await expect(page.get_by_test_id("recipients-to")).to_contain_text("Urs Brunner")
        await page.get_by_role("button", name="Senden", exact=True).tap()
        dialog = page.get_by_role("dialog", name="E-Mail jetzt senden?")
        await dialog.get_by_role("button", name="Jetzt senden").tap()
        await expect(page.get_by_role("status")).to_contain_text("Arbeitsrapport")
        await drain()
        [message] = relay.received
    parsed = email.message_from_bytes(message.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    assert str(parsed["To"]) == "Urs Brunner <urs.brunner@example.ch>"
