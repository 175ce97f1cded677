"""The sent mail on a tablet: a coordinator finds what was sent, filters by status, reads an
email as it went out with its history, notes down what was done about it, and exports the work
reports for billing; statuses change on screen by themselves."""

from __future__ import annotations

import asyncio
import io
import re
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect
from python_calamine import CalamineWorkbook

from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Employee
from tests.e2e.flows import drain, send_email, signed_in
from tests.factories import (
    MadeEmployee,
    make_client,
    make_company,
    make_employee,
    make_order,
    make_relay,
    make_template,
)
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

UNKNOWN_USER = "550 5.1.1 User unknown"
NOTE = "Kundin angerufen: die Adresse hatte einen Tippfehler."


class Office:
    def __init__(
        self,
        company: int,
        coordinator: MadeEmployee,
        dispatcher: MadeEmployee,
        orders: list[int],
        template: int,
    ) -> None:
        self.company = company
        self.coordinator = coordinator
        self.dispatcher = dispatcher
        self.orders = orders
        self.template = template


async def office(port: int) -> Office:
    company = await make_company("Keller Gebäudetechnik AG")
    await make_relay(company, port)
    coordinator = await make_employee(
        company, roles={Role.COORDINATOR}, first_name="Carla", last_name="Steiner"
    )
    dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
    technician = await make_employee(company, roles={Role.TECHNICIAN}, first_name="Reto")
    lindenhof = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
    seeblick = await make_client(company, "Verwaltung Seeblick AG")
    first = await make_order(
        company,
        client_id=lindenhof,
        number="2026-4711",
        title="Heizungsservice",
        technician_id=technician.id,
    )
    second = await make_order(
        company,
        client_id=seeblick,
        number="2026-4712",
        title="Boiler entkalken",
        technician_id=technician.id,
    )
    template = await make_template(company)
    return Office(company, coordinator, dispatcher, [first.id, second.id], template)


async def test_coordinator_filters_the_sent_mail_by_status_and_adds_a_note(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {"typo@seeblick.example": UNKNOWN_USER}
        setup = await office(port)
        sender = setup.dispatcher.email
        await send_email(
            app, sender, setup.orders[0], setup.template, "anna.meier@lindenhof.example"
        )
        failed = await send_email(
            app, sender, setup.orders[1], setup.template, "typo@seeblick.example"
        )
        await send_email(
            app, sender, setup.orders[0], setup.template, "hans.frei@lindenhof.example"
        )
        await drain()

    await signed_in(page, setup.coordinator.email, "Carla Steiner")
    await page.get_by_test_id("nav-mail").tap()
    await expect(page.get_by_role("heading", name="Gesendete E-Mails")).to_be_visible()
    rows = page.get_by_test_id("mail-row")
    await expect(rows).to_have_count(3)
    await expect(page.get_by_test_id("mail-count")).to_have_text("3 E-Mails")
    # The one the relay refused stands out in the list, newest first: not delivered.
    await expect(rows.nth(1)).to_have_attribute("data-status", "bounced")
    await expect(rows.nth(1)).to_have_class(re.compile(r"\battention\b"))
    await page.screenshot(path=screenshots / "mail.png")

    # Filter by status: one tap on the chip; the filter is in the address (reload, back).
    await page.get_by_role("button", name="Nicht zugestellt", exact=True).tap()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("typo@seeblick.example")
    await expect(rows.first).to_contain_text("2026-4712")
    assert "status=bounced" in page.url
    await page.reload()
    await expect(rows).to_have_count(1)

    # More filters: the recipient narrows down, the order number too; removing one widens.
    await page.get_by_role("button", name="Alle", exact=True).tap()
    await expect(rows).to_have_count(3)
    await page.get_by_role("button", name="Filter", exact=True).tap()
    await page.get_by_label("Empfänger", exact=True).fill("lindenhof")
    await expect(rows).to_have_count(2)
    await page.get_by_label("Auftrag", exact=True).fill("2026-4712")
    await expect(page.get_by_test_id("mail-count")).to_have_text("Keine E-Mails gefunden.")
    await page.get_by_role(
        "button", name=re.compile("Filter «Empfänger: lindenhof» entfernen")
    ).tap()
    await expect(rows).to_have_count(1)
    await page.screenshot(path=screenshots / "mail-filtered.png")

    # Sorted by order number, then back to the newest first.
    await page.get_by_role("button", name="Alle Filter entfernen").tap()
    await expect(rows).to_have_count(3)
    await page.get_by_role("button", name=re.compile("^Auftrag")).tap()
    await expect(rows.last).to_contain_text("2026-4712")
    await page.get_by_role("button", name=re.compile("^Datum")).tap()

    # Open the failed email with the keyboard.
    link = page.get_by_role("link", name=re.compile("Arbeitsrapport 2026-4712"))
    await link.focus()
    await page.keyboard.press("Enter")
    await expect(page).to_have_url(re.compile(rf"#/mail/{failed['id']}$"))
    await expect(page.get_by_test_id("entry-status").locator("[data-status]")).to_have_attribute(
        "data-status", "bounced"
    )
    await expect(page.get_by_test_id("entry-problem")).to_be_visible()
    recipient = page.get_by_test_id("entry-recipient")
    await expect(recipient).to_contain_text("typo@seeblick.example")
    await expect(recipient).to_contain_text(UNKNOWN_USER)
    await expect(page.get_by_test_id("entry-headers")).to_contain_text("Message-ID")
    await expect(page.get_by_test_id("entry-events")).to_contain_text("nicht zugestellt")
    await expect(page.get_by_test_id("eml-download")).to_have_attribute(
        "href", f"/api/archive/{failed['id']}/raw"
    )
    await expect(page.frame_locator("iframe.mail").locator("body")).to_contain_text("2026-4712")

    # The internal note: typed, saved, listed with its author, still there after a reload.
    notes = page.get_by_test_id("notes")
    await expect(notes).to_contain_text("Noch keine Notizen.")
    await page.get_by_label("Notiz hinzufügen").fill(NOTE)
    await page.get_by_role("button", name="Notiz speichern").tap()
    note = page.get_by_test_id("note")
    await expect(note).to_have_count(1)
    await expect(note).to_contain_text(NOTE)
    await expect(note).to_contain_text("Carla Steiner")
    await expect(page.get_by_label("Notiz hinzufügen")).to_have_value("")
    await page.reload()
    await expect(page.get_by_test_id("note")).to_contain_text(NOTE)
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=screenshots / "mail-entry.png")
    await page.locator("iframe.mail").scroll_into_view_if_needed()
    await page.wait_for_timeout(500)
    await page.screenshot(path=screenshots / "mail-entry-message.png")
    await page.get_by_test_id("notes").scroll_into_view_if_needed()
    await page.screenshot(path=screenshots / "mail-entry-notes.png")

    # Back to the list as it was left.
    await page.get_by_role("link", name="\u2039 Gesendete E-Mails").tap()
    await expect(rows).to_have_count(3)


async def test_statuses_change_on_screen_without_a_reload(page: Page, app: Litestar) -> None:
    with smtp_relay() as (relay, port):
        setup = await office(port)
        queued = await send_email(
            app, setup.dispatcher.email, setup.orders[0], setup.template, "anna@lindenhof.example"
        )
        await signed_in(page, setup.coordinator.email, "Carla Steiner")
        await page.goto("/#/mail")
        row = page.get_by_test_id("mail-row")
        await expect(row).to_have_attribute("data-status", "queued")

        await drain()
        await expect(row).to_have_attribute("data-status", "sent")
        await expect(row).to_contain_text("gesendet")

        # The entry, opened while its copy is still on its way, follows as well.
        again = await send_email(
            app, setup.dispatcher.email, setup.orders[0], setup.template, "anna@lindenhof.example"
        )
        await page.goto(f"/#/mail/{again['id']}")
        badge = page.get_by_test_id("entry-status").locator("[data-status]")
        await expect(badge).to_have_attribute("data-status", "queued")
        await drain()
        await expect(badge).to_have_attribute("data-status", "sent")
        assert len(relay.received) == 2
    assert queued["id"] != again["id"]


async def test_coordinator_exports_the_work_reports_sent_for_billing(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (_relay, port):
        setup = await office(port)
        await send_email(
            app,
            setup.dispatcher.email,
            setup.orders[1],
            setup.template,
            "buchhaltung@seeblick.example",
        )
        await drain()

    await signed_in(page, setup.coordinator.email, "Carla Steiner")
    await page.goto("/#/mail")
    await page.get_by_role("button", name="Export für die Verrechnung").tap()
    dialog = page.get_by_role("dialog", name="Gesendete Arbeitsrapporte exportieren")
    # This month so far, in the coordinator's time zone.
    today = datetime.now(ZoneInfo("Europe/Zurich")).date()
    first, last = today.replace(day=1).isoformat(), today.isoformat()
    await expect(dialog.get_by_label("Von")).to_have_value(first)
    await expect(dialog.get_by_label("Bis")).to_have_value(last)
    await expect(dialog.get_by_label("Excel (XLSX)")).to_be_checked()
    await page.screenshot(path=screenshots / "billing-export.png")
    async with page.expect_download() as download_info:
        await dialog.get_by_role("button", name="Herunterladen").tap()
    download = await download_info.value
    assert download.suggested_filename == f"Arbeitsrapporte {first} bis {last}.xlsx"
    data = await asyncio.to_thread(Path(await download.path()).read_bytes)
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("Arbeitsrapporte")
    header, *rows = sheet.to_python()
    assert header[:3] == ["Auftrag", "Kunde", "Empfänger"]
    assert [r[:3] for r in rows] == [
        ["2026-4712", "Verwaltung Seeblick AG", "buchhaltung@seeblick.example"]
    ]
    await expect(dialog.get_by_role("status")).to_have_text(
        f"«{download.suggested_filename}» wurde heruntergeladen."
    )
    # The same as CSV, for Swiss Excel.
    await dialog.get_by_label("CSV").check()
    async with page.expect_download() as download_info:
        await dialog.get_by_role("button", name="Herunterladen").tap()
    download = await download_info.value
    assert download.suggested_filename == f"Arbeitsrapporte {first} bis {last}.csv"
    content = await asyncio.to_thread(Path(await download.path()).read_text, "utf-8-sig")
    assert content.startswith("Auftrag;Kunde;Empfänger;")
    assert "2026-4712;Verwaltung Seeblick AG;buchhaltung@seeblick.example;" in content
    # A period without work reports says so, and nothing is downloaded.
    await dialog.get_by_label("Von").fill("2025-01-01")
    await dialog.get_by_label("Bis").fill("2025-01-31")
    await expect(dialog.get_by_role("status")).to_have_count(0)
    await dialog.get_by_role("button", name="Herunterladen").tap()
    await expect(dialog.get_by_role("status")).to_have_text(
        "Keine Arbeitsrapporte in diesem Zeitraum."
    )
    await page.screenshot(path=screenshots / "billing-export-empty.png")
    # One way out.
    close = dialog.get_by_role("button", name="Schliessen")
    await expect(close).to_have_count(1)
    await close.tap()
    await expect(dialog).to_be_hidden()


async def test_a_dispatcher_sees_no_billing_export(page: Page) -> None:
    company = await make_company()
    dispatcher = await make_employee(company, first_name="Nina", last_name="Frei")
    await signed_in(page, dispatcher.email, "Nina Frei")
    await page.goto("/#/mail")
    await expect(page.get_by_test_id("mail-count")).to_have_text("Keine E-Mails gefunden.")
    await expect(page.get_by_role("button", name="Export für die Verrechnung")).to_have_count(0)


async def test_the_sent_mail_speaks_the_employees_language(page: Page) -> None:
    company = await make_company()
    coordinator = await make_employee(
        company, roles={Role.COORDINATOR}, first_name="Julie", last_name="Rochat"
    )
    await Employee.update({Employee.locale: "fr"}).where(Employee.id == coordinator.id)
    await signed_in(page, coordinator.email, "Julie Rochat")
    await page.get_by_test_id("nav-mail").tap()
    await expect(page.get_by_role("heading", name="E-mails envoyés")).to_be_visible()
    await expect(page.get_by_role("button", name="Échec", exact=True)).to_be_visible()
    await expect(page.get_by_role("button", name="Export pour la facturation")).to_be_visible()
    await expect(page.get_by_test_id("mail-count")).to_have_text("Aucun e-mail trouvé.")
