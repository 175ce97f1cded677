"""Real data in, on a tablet: a dispatcher creates an order for a new client (the client, its
building and a contact made on the way) and sends its work report; a bounced address is
corrected at the contact while resending, so the next draft proposes the right one; back-office
creates an API token, sees its secret once, and revokes it."""

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
from tests.client import ApiClient
from tests.e2e.flows import drain, no_horizontal_scroll, signed_in
from tests.factories import (
    make_client,
    make_company,
    make_contact,
    make_employee,
    make_order,
    make_relay,
    make_template,
    set_company,
)
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}


async def shoot(page: Page, screenshots: Path, name: str) -> None:
    """The screen as it is, on the tablet and on a phone (where nothing may stick out)."""
    await page.screenshot(path=screenshots / f"{name}.png")
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await page.wait_for_timeout(150)
    await no_horizontal_scroll(page)
    await page.screenshot(path=screenshots / f"{name}-phone.png")
    await page.set_viewport_size(TABLET)  # type: ignore[arg-type]
    await page.wait_for_timeout(150)


async def test_dispatcher_creates_an_order_for_a_new_client_and_sends_its_work_report(
    page: Page, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        company = await make_company("Muster Haustechnik AG")
        await set_company(company, sender_address="office@muster.example")
        await make_relay(company, port)
        await make_employee(company, first_name="Daniel", last_name="Brunner")
        dispatcher = await make_employee(company, first_name="Nina", last_name="Frei")
        await make_template(company, name="Arbeitsrapport senden")
        await make_order(company, number="2026-0099", title="Alter Auftrag")

        await signed_in(page, dispatcher.email, "Nina Frei")
        await page.get_by_test_id("new-order").tap()
        await expect(page.get_by_role("heading", name="Neuer Auftrag")).to_be_visible()

        # The client: not found, so made here, named as searched.
        await page.get_by_label("Kunde suchen").fill("Bäckerei Huber")
        await expect(page.get_by_text("Keine Kunden gefunden.")).to_be_visible()
        await page.get_by_role("button", name="Neuer Kunde «Bäckerei Huber»").tap()
        form = page.get_by_test_id("client-form")
        await expect(form.get_by_label("Name")).to_have_value("Bäckerei Huber")
        await form.get_by_label("Strasse").fill("Dorfstrasse 7")
        await form.get_by_label("PLZ").fill("8400")
        await form.get_by_label("Ort").fill("Winterthur")
        await form.get_by_role("button", name="Kunde anlegen").tap()
        await expect(page.get_by_test_id("chosen-client")).to_contain_text("Bäckerei Huber")

        # No building yet: the form is open; the client's address is one tap away.
        building = page.get_by_test_id("building-form")
        await building.get_by_role("button", name="Adresse des Kunden übernehmen").tap()
        await expect(building.get_by_label("Strasse")).to_have_value("Dorfstrasse 7")
        await building.get_by_label("Bezeichnung").fill("Backstube")
        await shoot(page, screenshots, "order-new-building")
        await building.get_by_role("button", name="Gebäude anlegen").tap()
        chosen = page.get_by_role("checkbox", name=re.compile("Backstube, Dorfstrasse 7"))
        await expect(chosen).to_be_checked()

        # The person who gets the emails, at the building.
        await page.get_by_role("button", name="Kontakt hinzufügen").tap()
        await page.get_by_label("Der Kontakt gehört zu").select_option(index=1)
        contact = page.get_by_test_id("contact-form")
        await contact.get_by_label("Anrede").select_option("ms")
        await contact.get_by_label("Vorname").fill("Erika")
        await contact.get_by_label("Nachname").fill("Huber")
        await contact.get_by_label("E-Mail-Adresse").fill("erika.huber@baeckerei.example")
        await contact.get_by_role("button", name="Kontakt anlegen").tap()
        listed = page.get_by_test_id("new-order-contact")
        await expect(listed).to_contain_text("Frau Erika Huber")
        await expect(listed).to_contain_text("erika.huber@baeckerei.example")
        await expect(listed).to_contain_text("Backstube")

        # The order: the number after the newest is proposed.
        await expect(page.get_by_label("Auftragsnummer")).to_have_value("2026-0100")
        await page.get_by_label("Titel").fill("Lüftung Backstube reparieren")
        await page.get_by_label("Beginn").fill("2026-12-07")
        await page.get_by_label("Ende").fill("2026-12-01")
        await expect(page.get_by_text("Das Ende liegt vor dem Beginn.")).to_be_visible()
        create = page.get_by_role("button", name="Auftrag anlegen")
        await expect(create).to_be_disabled()
        await page.get_by_label("Ende").fill("2026-12-08")
        await page.get_by_label("Beschreibung").fill("Abluft der Öfen zieht nicht mehr.")
        # Entered after the work: a planned order has no work report yet.
        await page.get_by_label("Status").select_option("completed")
        await shoot(page, screenshots, "order-new")
        await create.tap()

        # Lands on the new order, with its client, building and contact.
        await expect(
            page.get_by_role("heading", name="Lüftung Backstube reparieren")
        ).to_be_visible()
        await expect(page.get_by_role("status")).to_contain_text("Auftrag 2026-0100 angelegt.")
        await expect(page.get_by_text("erika.huber@baeckerei.example").first).to_be_visible()
        await expect(page.get_by_text("Dorfstrasse 7, 8400 Winterthur").first).to_be_visible()

        # Sending its work report is as for any order.
        await page.get_by_role("link", name=re.compile("Arbeitsrapport senden")).tap()
        await expect(page.get_by_label("Ihr Text")).to_be_focused()
        await expect(page.get_by_label("Anrede")).to_have_value(re.compile("Huber"))
        await page.keyboard.type("Die Abluft zieht wieder.")
        await page.get_by_role("button", name="Senden", exact=True).tap()
        confirm = page.get_by_role("dialog", name="E-Mail jetzt senden?")
        await confirm.get_by_role("button", name="Jetzt senden").tap()
        await expect(page.get_by_role("status")).to_contain_text("Arbeitsrapport 2026-0100")
        await drain()
        badge = page.get_by_test_id("sent-emails").locator("[data-status]")
        await expect(badge).to_have_attribute("data-status", "sent")
        [message] = relay.received
        assert message.rcpt_tos == ["erika.huber@baeckerei.example"]
        parsed = email.message_from_bytes(message.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        assert parsed["Subject"] == "Arbeitsrapport 2026-0100"

        # The order can be changed afterwards: its status and dates.
        await page.get_by_test_id("edit-order").tap()
        await expect(
            page.get_by_role("heading", name="Auftrag 2026-0100 bearbeiten")
        ).to_be_visible()
        await expect(page.get_by_label("Titel")).to_have_value("Lüftung Backstube reparieren")
        await expect(page.get_by_test_id("responsible")).to_contain_text("Backoffice")
        await page.get_by_label("Status").select_option("invoiced")
        await shoot(page, screenshots, "order-edit")
        await page.get_by_role("button", name="Speichern").tap()
        await expect(page.get_by_role("status")).to_contain_text("Auftrag gespeichert.")
        await expect(page.locator(".order-head [data-status]")).to_have_attribute(
            "data-status", "invoiced"
        )

        # The client's page: its building with the contact there, clearly labelled.
        await page.get_by_role("link", name="Bäckerei Huber").tap()
        await expect(page.get_by_role("heading", name="Bäckerei Huber")).to_be_visible()
        site = page.get_by_test_id("building")
        await expect(site).to_contain_text("Kontakte an diesem Gebäude")
        await expect(site.get_by_test_id("contact-row")).to_contain_text("Frau Erika Huber")
        await expect(page.get_by_test_id("client-contacts")).to_contain_text("Keine Kontakte.")
        await shoot(page, screenshots, "client")


async def test_a_client_is_edited_and_deactivated_with_a_confirmation(
    page: Page, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    dispatcher = await make_employee(company, first_name="Nina", last_name="Frei")
    technician = await make_employee(
        company, roles={Role.TECHNICIAN}, first_name="Reto", last_name="Baumann"
    )
    lindenhof = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
    await make_contact(company, client_id=lindenhof, first_name="Silvia", last_name="Moser")
    await make_client(company, "Immobilien Müller AG")
    await make_order(company, client_id=lindenhof, technician_id=technician.id)

    await signed_in(page, dispatcher.email, "Nina Frei")
    await page.get_by_test_id("nav-clients").tap()
    rows = page.get_by_test_id("client-row")
    await expect(rows).to_have_count(2)
    await shoot(page, screenshots, "clients")
    await page.get_by_label("Kunden suchen").fill("linden")
    await expect(rows).to_have_count(1)
    await rows.tap()

    # Edit: a bad address is refused at its field.
    await page.get_by_role("button", name="Bearbeiten", exact=True).tap()
    dialog = page.get_by_role("dialog", name="Kunde bearbeiten")
    await dialog.get_by_label("E-Mail-Adresse").fill("verwaltung at lindenhof")
    await dialog.get_by_role("button", name="Speichern").tap()
    await expect(dialog.locator(".field-error")).to_be_visible()
    await expect(dialog.get_by_label("E-Mail-Adresse")).to_have_attribute("aria-invalid", "true")
    await dialog.get_by_label("E-Mail-Adresse").fill("verwaltung@lindenhof.example")
    await dialog.get_by_label("Kundennummer").fill("K-4711")
    await dialog.get_by_role("button", name="Speichern").tap()
    await expect(dialog).not_to_be_visible()
    await expect(page.get_by_test_id("client-head")).to_contain_text("K-4711")

    # A contact's function, changed in place.
    contacts = page.get_by_test_id("client-contacts")
    await contacts.get_by_role("button", name="Frau Silvia Moser bearbeiten").tap()
    dialog = page.get_by_role("dialog", name="Kontakt bearbeiten")
    await dialog.get_by_label("Funktion").fill("Verwaltung")
    await dialog.get_by_role("button", name="Speichern").tap()
    await expect(contacts.get_by_test_id("contact-row")).to_contain_text("Verwaltung")

    # Deactivate asks first, in the app's dialog; cancelling changes nothing.
    await page.get_by_role("button", name="Deaktivieren", exact=True).first.tap()
    confirm = page.get_by_role("dialog", name="«Wohnbaugenossenschaft Lindenhof» deaktivieren?")
    await expect(confirm).to_contain_text("nicht mehr angeboten")
    await page.screenshot(path=screenshots / "client-deactivate.png")
    await confirm.get_by_role("button", name="Abbrechen").tap()
    await expect(page.get_by_test_id("client-inactive")).to_have_count(0)
    await page.get_by_test_id("client-head").get_by_role("button", name="Deaktivieren").tap()
    await confirm.get_by_role("button", name="Deaktivieren").tap()
    await expect(page.get_by_test_id("client-inactive")).to_be_visible()

    # Greyed and hidden from the list, unless asked for.
    await page.locator("a.back").tap()
    await page.get_by_label("Kunden suchen").fill("")
    await expect(rows).to_have_count(1)
    await page.get_by_label("Inaktive Kunden zeigen").check()
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="Lindenhof")).to_have_class(re.compile(r"\binactive\b"))

    # A technician reads the clients of their orders, and changes nothing.
    await page.get_by_role("button", name="Abmelden").tap()
    await signed_in(page, technician.email, "Reto Baumann")
    await page.goto("/#/clients?inactive=1")
    await expect(rows).to_have_count(1)
    await expect(page.get_by_role("button", name="Neuer Kunde")).to_have_count(0)
    await rows.tap()
    await expect(
        page.get_by_role("heading", name="Wohnbaugenossenschaft Lindenhof")
    ).to_be_visible()
    await expect(page.get_by_test_id("contact-row")).to_contain_text("Silvia Moser")
    await expect(page.get_by_role("button", name="Bearbeiten", exact=True)).to_have_count(0)
    await expect(page.get_by_role("button", name=re.compile("Kontakt"))).to_have_count(0)


async def test_a_bounced_address_is_corrected_at_the_contact_while_resending(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    typo = "silvia.mooser@lindenhof.example"
    right = "silvia.moser@lindenhof.example"
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {typo: "550 5.1.1 User unknown"}
        company = await make_company("Muster Haustechnik AG")
        await make_relay(company, port)
        dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
        client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
        contact = await make_contact(
            company, client_id=client, first_name="Silvia", last_name="Moser", email=typo
        )
        order = await make_order(company, client_id=client, number="2026-4711")
        template = await make_template(company)
        # Sent to the contact (not to a typed address): the archive knows where it came from.
        async with ApiClient.signed_in(app, dispatcher.email) as api:
            draft = await api.post(
                f"/api/orders/{order.id}/drafts",
                json={"template_id": template, "contact_id": contact},
            )
            assert draft.status_code == 201, draft.text
            sent = await api.post(f"/api/orders/{order.id}/drafts/{draft.json()['id']}/send")
            assert sent.status_code == 201, sent.text
        await drain()
        assert relay.received == []

        await signed_in(page, dispatcher.email, "Daniel Brunner")
        await page.get_by_test_id("nav-notifications").tap()
        notice = page.get_by_test_id("notification")
        await notice.get_by_role("button", name="Korrigieren und erneut senden").tap()
        dialog = page.get_by_role("dialog", name="Korrigieren und erneut senden")
        address = dialog.get_by_label("Adresse von Empfänger 1")
        await expect(address).to_have_value(typo)
        # Nothing to correct at the source while the address is as it was.
        fix = dialog.get_by_role("checkbox", name="Auch die Adresse von Silvia Moser korrigieren")
        await expect(fix).to_have_count(0)
        await address.fill(right)
        await expect(fix).to_be_checked()
        await expect(dialog).to_contain_text(
            "Neue E-Mails schlagen dann die korrigierte Adresse vor."
        )
        await shoot(page, screenshots, "resend-fix-contact")
        await dialog.get_by_role("button", name="Erneut senden").tap()
        await expect(page.get_by_role("status")).to_contain_text("wurde erneut gesendet")

        await drain()
        [delivered] = relay.received
        assert delivered.rcpt_tos == [right]
        async with ApiClient.signed_in(app, dispatcher.email) as api:
            stored = (await api.get(f"/api/contacts/{contact}")).json()
        assert stored["email"] == right

        # The next email from the order goes to the corrected address.
        await page.goto(f"/#/orders/{order.id}")
        await page.get_by_role("link", name=re.compile("Arbeitsrapport senden")).tap()
        await expect(page.get_by_test_id("recipients-to")).to_contain_text(right)
        await expect(page.get_by_test_id("recipients-to")).not_to_contain_text(typo)


async def test_back_office_creates_an_api_token_sees_it_once_and_revokes_it(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    boss = await make_employee(
        company, roles={Role.BACKOFFICE}, first_name="Lea", last_name="Keller"
    )
    await make_order(company, number="2026-4711")

    await signed_in(page, boss.email, "Lea Keller")
    await page.get_by_test_id("nav-admin").tap()
    await page.get_by_role("link", name="API-Tokens").tap()
    await expect(page.get_by_test_id("no-tokens")).to_be_visible()

    await page.get_by_role("button", name="Neuer Token").tap()
    dialog = page.get_by_role("dialog", name="Neuer Token")
    create = dialog.get_by_role("button", name="Token erstellen")
    await dialog.get_by_label("Name").fill("ERP Abacus")
    await expect(create).to_be_disabled()
    await dialog.get_by_role("checkbox", name=re.compile("orders:read")).check()
    await dialog.get_by_role("checkbox", name=re.compile("contacts:write")).check()
    await page.screenshot(path=screenshots / "token-new.png")
    await create.tap()

    # The secret, once, with the warning and a copy button.
    shown = page.get_by_role("dialog", name="Ihr neuer Token")
    await expect(shown).to_contain_text("Sie werden ihn nicht wieder sehen")
    secret = await shown.get_by_test_id("secret-value").input_value()
    assert len(secret) > 20
    await expect(shown.get_by_role("button", name="Kopieren")).to_be_visible()
    await shoot(page, screenshots, "token-secret")
    await shown.get_by_role("button", name="Fertig").tap()
    await expect(shown).not_to_be_visible()
    assert secret not in await page.content()

    # It works, and the list says when it was last used.
    async with ApiClient.with_token(app, secret) as machine:
        assert (await machine.get("/api/orders")).status_code == 200
    row = page.get_by_test_id("token-row")
    await expect(row).to_contain_text("ERP Abacus")
    await expect(row).to_contain_text("orders:read")
    await expect(row).to_have_attribute("data-state", "active")
    await page.reload()
    await expect(row.get_by_test_id("token-last-used")).not_to_have_text("noch nie")
    assert secret not in await page.content()
    await shoot(page, screenshots, "tokens")

    # Revoking asks first, in the app's dialog (not the browser's).
    page.on("dialog", lambda d: pytest.fail(f"a browser dialog opened: {d.message}"))
    await row.get_by_role("button", name="Token ERP Abacus widerrufen").tap()
    confirm = page.get_by_role("dialog", name="Token «ERP Abacus» widerrufen?")
    await expect(confirm).to_contain_text("sofort abgewiesen")
    await confirm.get_by_role("button", name="Widerrufen").tap()
    await expect(row).to_have_attribute("data-state", "revoked")
    await expect(page.get_by_role("status")).to_contain_text("widerrufen")
    async with ApiClient.with_token(app, secret) as machine:
        assert (await machine.get("/api/orders")).status_code == 401
