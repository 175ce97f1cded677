"""The back-office at a desk (or a tablet): templates with a live preview of unsaved changes and
the server's check of placeholders, employees and their switches, the company's sending, the
change log."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.e2e.flows import signed_in
from tests.factories import (
    MadeEmployee,
    make_client,
    make_company,
    make_employee,
    make_order,
    make_relay,
    make_template,
    set_company,
)
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

SUBJECT = "Rapport {{ order.number }} für {{ client.name }}"
TYPO = "Im Anhang der Rapport zum Auftrag {{ order.numbr }}."


class Office:
    def __init__(self, company: int, boss: MadeEmployee, order: int, template: int) -> None:
        self.company = company
        self.boss = boss
        self.order = order
        self.template = template


async def office() -> Office:
    company = await make_company("Muster Haustechnik AG")
    await set_company(company, sender_address="office@muster.example")
    boss = await make_employee(
        company, roles={Role.BACKOFFICE}, first_name="Lea", last_name="Keller"
    )
    client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
    # She is responsible for one order: there she may build the template's email for real.
    order = await make_order(
        company, client_id=client, number="2026-0815", title="Lüftung", responsible=[boss.id]
    )
    template = await make_template(company, name="Arbeitsrapport senden")
    return Office(company, boss, order.id, template)


async def test_back_office_edits_a_template_and_sees_the_preview_change(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    setup = await office()
    await signed_in(page, setup.boss.email, "Lea Keller")
    await page.get_by_test_id("nav-admin").tap()
    await expect(page.get_by_role("heading", name="Vorlagen")).to_be_visible()
    row = page.get_by_test_id("template-row")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("Arbeitsrapport senden")
    await expect(row).to_contain_text("noch nie verwendet")
    await page.screenshot(path=screenshots / "templates.png")

    await row.get_by_role("link", name="Bearbeiten").tap()
    subject = page.get_by_label("Betreff")
    await expect(subject).to_have_value("Arbeitsrapport {{ order.number }}")
    sample = page.get_by_test_id("sample-subject")
    await expect(sample).to_have_text("Arbeitsrapport 2026-4711")

    # The sample follows the typing, with the placeholders' example values.
    await subject.fill(SUBJECT)
    await expect(sample).to_have_text("Rapport 2026-4711 für Immobilien Müller AG")
    await expect(page.get_by_test_id("template-state")).to_have_text("Nicht gespeichert")

    # A placeholder from the picker goes where the cursor is.
    signature = page.get_by_label("Signatur", exact=True)
    await signature.focus()
    await page.keyboard.press("Control+End")
    await page.keyboard.press("Enter")
    await page.get_by_role("button", name="employee.phone einfügen").tap()
    await expect(signature).to_have_value(re.compile(r"\{\{ employee\.phone \}\}$"))

    await page.get_by_role("button", name="Speichern", exact=True).tap()
    await expect(page.get_by_role("status").filter(has_text="Vorlage gespeichert.")).to_be_visible()
    await expect(page.get_by_test_id("template-state")).to_have_text("Gespeichert")
    async with ApiClient.signed_in(app, setup.boss.email) as api:
        saved = (await api.get(f"/api/templates/{setup.template}")).json()
    assert saved["subject"] == SUBJECT
    assert saved["signature"].endswith("{{ employee.phone }}")

    # The email as built for a real order, by the server, from the saved template.
    check = page.get_by_test_id("order-check")
    await check.get_by_role("button", name=re.compile("2026-0815")).tap()
    await check.get_by_role("button", name="Mit diesem Auftrag ansehen").tap()
    preview = page.get_by_test_id("order-preview")
    await expect(preview).to_contain_text("Rapport 2026-0815 für Wohnbaugenossenschaft Lindenhof")
    await expect(preview.frame_locator("iframe").locator("body")).to_contain_text("Lea Keller")
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=screenshots / "template-editor.png")
    await preview.scroll_into_view_if_needed()
    # The sandboxed frame paints apart from the page: give it a moment before the picture.
    await page.wait_for_timeout(500)
    await page.screenshot(path=screenshots / "template-preview.png")

    # The throwaway draft is gone.
    async with ApiClient.signed_in(app, setup.boss.email) as api:
        drafts = (await api.get(f"/api/orders/{setup.order}/drafts")).json()
    assert drafts == []

    # Changed again, the real order waits for a save: building its draft would publish the
    # change to every dispatcher.
    await subject.fill("Ihr Rapport {{ order.number }}")
    await expect(check.get_by_test_id("check-unsaved")).to_be_visible()
    await expect(check.get_by_role("button", name="Mit diesem Auftrag ansehen")).to_be_disabled()
    await expect(page.get_by_test_id("template-state")).to_have_text("Nicht gespeichert")


async def test_the_preview_shows_an_unsaved_change_rendered_and_saves_nothing(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    setup = await office()
    async with ApiClient.signed_in(app, setup.boss.email) as api:
        before = (await api.get(f"/api/templates/{setup.template}")).json()
    await signed_in(page, setup.boss.email, "Lea Keller")
    await page.goto(f"/#/admin/templates/{setup.template}")
    motivation = page.get_by_label("Einleitung")
    await motivation.fill(
        "{% if order.materials %}Mit Material{% else %}Ohne Material{% endif %} "
        "zum Auftrag {{ order.number }}."
    )
    # The sample follows the typing, filled in by the server: the logic done, not shown.
    sample = page.get_by_test_id("template-sample")
    await expect(sample).to_contain_text("Mit Material zum Auftrag 2026-4711.")
    await expect(sample).not_to_contain_text("{%")

    await sample.get_by_role("button", name="Vorschau erstellen").tap()
    email = page.get_by_test_id("template-preview").content_frame.locator("body")
    await expect(email).to_contain_text("Mit Material zum Auftrag 2026-4711.")
    await expect(email).to_contain_text("Arbeitsrapport 2026-4711")
    await expect(page.get_by_test_id("template-state")).to_have_text("Nicht gespeichert")
    await page.get_by_test_id("template-preview").scroll_into_view_if_needed()
    await page.wait_for_timeout(500)
    await page.screenshot(path=screenshots / "template-sample-preview.png")

    # Nothing was saved: after a reload the editor shows the saved text, the server has it.
    page.on("dialog", lambda dialog: dialog.accept())
    await page.reload()
    await expect(page.get_by_label("Einleitung")).to_have_value(before["motivation"])
    await expect(page.get_by_test_id("template-state")).to_have_text("Gespeichert")
    async with ApiClient.signed_in(app, setup.boss.email) as api:
        after = (await api.get(f"/api/templates/{setup.template}")).json()
    assert after == before


async def test_a_bad_placeholder_shows_the_servers_error_with_field_and_line(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    setup = await office()
    await signed_in(page, setup.boss.email, "Lea Keller")
    await page.goto(f"/#/admin/templates/{setup.template}")
    motivation = page.get_by_label("Einleitung")
    await motivation.fill(f"Guten Tag\n{TYPO}")

    # Seen while typing, in plain words from the server's code, with the field's label ...
    await expect(page.get_by_test_id("template-typos")).to_contain_text("order.numbr")
    await expect(page.get_by_test_id("sample-error")).to_contain_text(
        "Einleitung, Zeile 2: Den Platzhalter «order.numbr» gibt es nicht."
    )
    # ... and refused on saving in the same words, at the field it names.
    await page.get_by_role("button", name="Speichern", exact=True).tap()
    error = page.get_by_test_id("template-error")
    await expect(error).to_contain_text("Einleitung, Zeile 2")
    await expect(error).to_contain_text("order.numbr")
    await expect(motivation).to_have_attribute("aria-invalid", "true")
    await expect(motivation).to_be_focused()
    await page.screenshot(path=screenshots / "template-error.png")
    async with ApiClient.signed_in(app, setup.boss.email) as api:
        unchanged = (await api.get(f"/api/templates/{setup.template}")).json()
    assert "numbr" not in unchanged["motivation"]

    # Corrected, it saves and the error goes.
    await motivation.fill("Guten Tag\nIm Anhang der Rapport zum Auftrag {{ order.number }}.")
    await page.get_by_role("button", name="Speichern", exact=True).tap()
    await expect(error).to_have_count(0)
    await expect(page.get_by_test_id("template-state")).to_have_text("Gespeichert")


async def test_back_office_duplicates_deletes_and_creates_templates(page: Page) -> None:
    setup = await office()
    await signed_in(page, setup.boss.email, "Lea Keller")
    await page.goto("/#/admin/templates")
    rows = page.get_by_test_id("template-row")
    await expect(rows).to_have_count(1)

    await rows.first.get_by_role("button", name="Duplizieren").tap()
    await expect(page.get_by_label("Name", exact=True)).to_have_value(
        "Arbeitsrapport senden (copy)"
    )
    await expect(page.get_by_role("status").first).to_contain_text("Kopie")
    await page.get_by_role("link", name="\u2039 Vorlagen").tap()
    await expect(rows).to_have_count(2)

    copy = rows.filter(has_text="(copy)")
    await copy.get_by_role("button", name="Löschen").tap()
    confirm = page.get_by_role("dialog", name="Vorlage löschen?")
    await expect(confirm).to_contain_text("Arbeitsrapport senden (copy)")
    await confirm.get_by_role("button", name="Löschen").tap()
    await expect(rows).to_have_count(1)
    await expect(page.get_by_role("status")).to_contain_text("wurde gelöscht")

    await page.get_by_role("link", name="+ Neue Vorlage").tap()
    await page.get_by_label("Name", exact=True).fill("Offerte senden")
    await page.get_by_label("Art", exact=True).select_option("offer")
    await page.get_by_label("Betreff").fill("Offerte {{ order.number }}")
    await page.get_by_label("Dokumente anhängen").check()
    await page.get_by_role("button", name="Speichern", exact=True).tap()
    await expect(page).to_have_url(re.compile(r"#/admin/templates/\d+$"))
    await expect(page.get_by_role("status").first).to_contain_text("Vorlage gespeichert.")
    await page.get_by_role("link", name="\u2039 Vorlagen").tap()
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="Offerte senden")).to_contain_text("Offerte")


async def test_templates_are_listed_by_kind_and_language_and_filtered(
    page: Page, screenshots: Path
) -> None:
    setup = await office()
    for name, kind, language in (
        ("Allgemeine Mitteilung", "general", "de"),
        ("Offerte senden", "offer", "de"),
        ("Rapport de travail", "work_report", "fr"),
        ("Work report", "work_report", "en"),
        ("Photos du chantier", "photo_documentation", "fr"),
    ):
        await make_template(setup.company, name=name, kind=kind, language=language)
    await signed_in(page, setup.boss.email, "Lea Keller")
    await page.goto("/#/admin/templates")

    # The work report first, its languages in turn; then photos, offers, the rest.
    groups = page.get_by_test_id("template-group")
    await expect(groups).to_have_count(4)
    kinds = [await g.get_attribute("data-kind") for g in await groups.all()]
    assert kinds == ["work_report", "photo_documentation", "offer", "general"]
    work_reports = groups.first
    await expect(work_reports.get_by_role("heading", level=2)).to_contain_text("(3)")
    await expect(work_reports.get_by_role("heading", level=3)).to_have_text(
        ["Deutsch", "Französisch", "Englisch"]
    )
    await page.screenshot(path=screenshots / "templates-grouped.png", full_page=True)

    # Two taps to the French work report; the choice stays in the address.
    await page.get_by_role("group", name="Art").get_by_role("button", name="Arbeitsrapport").tap()
    await page.get_by_role("group", name="Sprache").get_by_role("button", name="Französisch").tap()
    rows = page.get_by_test_id("template-row")
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("Rapport de travail")
    await expect(page).to_have_url(re.compile(r"#/admin/templates\?kind=work_report&language=fr$"))

    # From the template, back to the list as it was left.
    await rows.get_by_role("link", name="Bearbeiten").tap()
    await expect(page.get_by_label("Name", exact=True)).to_have_value("Rapport de travail")
    await page.get_by_role("link", name="\u2039 Vorlagen").tap()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("Rapport de travail")

    # Offers in French: there are none, and the list says so.
    await page.get_by_role("group", name="Art").get_by_role("button", name="Offerte").tap()
    await expect(page.get_by_test_id("no-templates-shown")).to_be_visible()
    await page.get_by_role("group", name="Sprache").get_by_role("button", name="Alle").tap()
    await expect(rows).to_have_count(1)
    await expect(rows).to_contain_text("Offerte senden")


async def test_back_office_switches_an_employee_and_reads_the_change_log(
    page: Page, screenshots: Path
) -> None:
    setup = await office()
    await make_employee(setup.company, first_name="Daniel", last_name="Brunner")
    await signed_in(page, setup.boss.email, "Lea Keller")
    await page.get_by_test_id("nav-admin").tap()
    await page.get_by_role("link", name="Mitarbeitende").tap()
    daniel = page.get_by_test_id("employee-row").filter(has_text="Daniel Brunner")
    await expect(daniel).to_have_count(1)
    await page.screenshot(path=screenshots / "employees.png")

    # Her own roles and switch to active are not hers to change.
    lea = page.get_by_test_id("employee-row").filter(has_text="Lea Keller")
    await expect(lea.get_by_role("checkbox", name="Backoffice")).to_be_disabled()

    may_email = daniel.get_by_role("switch", name="Darf E-Mails senden")
    await expect(may_email).to_have_attribute("aria-checked", "true")
    await may_email.tap()
    await expect(may_email).to_have_attribute("aria-checked", "false")
    await expect(page.get_by_role("status")).to_contain_text("Gespeichert: Daniel Brunner")
    await daniel.get_by_text("Koordination").tap()
    await expect(daniel.get_by_role("checkbox", name="Koordination")).to_be_checked()

    await page.get_by_role("button", name="+ Neue Person").tap()
    dialog = page.get_by_role("dialog", name="Neue Person")
    await dialog.get_by_label("Vorname").fill("Nina")
    await dialog.get_by_label("Nachname").fill("Frei")
    await dialog.get_by_label("E-Mail-Adresse").fill(f"nina.frei.c{setup.company}@test.example")
    await dialog.get_by_label("Anfangspasswort").fill("ein-langes-Passwort-2026")
    await dialog.get_by_role("button", name="Anlegen").tap()
    await expect(page.get_by_test_id("employee-row").filter(has_text="Nina Frei")).to_have_count(1)

    await page.get_by_role("link", name="Änderungsprotokoll").tap()
    changes = page.get_by_test_id("change-row")
    email_switch = changes.filter(has_text="Daniel Brunner").filter(has_text="Darf E-Mails senden")
    await expect(email_switch).to_contain_text("Daniel Brunner")
    await expect(email_switch).to_contain_text("Lea Keller")
    await expect(email_switch.locator("td.value").nth(0)).to_have_text("ja")
    await expect(email_switch.locator("td.value").nth(1)).to_have_text("nein")
    roles = changes.filter(has_text="Daniel Brunner").filter(has_text="Rollen")
    await expect(roles.locator("td.value").nth(1)).to_contain_text("Koordination")
    # The new employee's record lists what she was given, in words.
    created = changes.filter(has_text="Nina Frei")
    await expect(created).to_contain_text("Angelegt")
    await expect(created.locator("td.value").nth(1)).to_contain_text("Rollen: Disposition")
    await page.screenshot(path=screenshots / "changes.png")


async def test_the_relay_test_says_why_it_waits_until_a_relay_is_saved(page: Page) -> None:
    setup = await office()
    await signed_in(page, setup.boss.email, "Lea Keller")
    await page.goto("/#/admin/company")
    test = page.get_by_test_id("relay-test")
    await expect(test).to_be_disabled()
    why = page.get_by_test_id("relay-test-why")
    await expect(why).to_have_text("Getestet wird die gespeicherte Verbindung: zuerst speichern.")
    await expect(test).to_have_accessible_description(await why.inner_text())


async def test_back_office_tests_the_relay_and_sets_the_limits(
    page: Page, screenshots: Path
) -> None:
    setup = await office()
    with smtp_relay(dsn=True) as (_relay, port):
        await make_relay(setup.company, port)
        await signed_in(page, setup.boss.email, "Lea Keller")
        await page.goto("/#/admin/company")
        await expect(page.get_by_label("Server")).to_have_value("127.0.0.1")
        await expect(page.get_by_test_id("quota")).to_contain_text("Heute 0 von 300")
        await page.get_by_test_id("relay-test").tap()
        result = page.get_by_test_id("relay-result")
        # Each step in the reader's language, named by its code (no English from the server).
        connection = result.get_by_test_id("relay-finding").and_(
            page.locator('[data-code="connection_ok"]')
        )
        await expect(connection).to_contain_text("Verbunden.")
        await expect(result).to_contain_text("Verbindung in Ordnung.")
        await page.screenshot(path=screenshots / "company.png", full_page=True)

    await page.get_by_label("Tageslimit").fill("50")
    await page.get_by_role("button", name="Relay speichern").tap()
    await expect(page.get_by_role("status").filter(has_text="Relay gespeichert.")).to_be_visible()
    await expect(page.get_by_test_id("quota")).to_contain_text("Heute 0 von 50")

    # The company switch: off, and the reason shows where one would write; on again.
    switch = page.get_by_role("switch", name="E-Mail für die Firma")
    await switch.tap()
    await expect(switch).to_have_attribute("aria-checked", "false")
    await expect(page.get_by_text("Ausgeschaltet")).to_be_visible()
    await page.goto(f"/#/orders/{setup.order}")
    await expect(page.get_by_test_id("email-reason")).to_contain_text(
        "E-Mail ist für die Firma ausgeschaltet."
    )
    await page.goto("/#/admin/company")
    await switch.tap()
    await expect(switch).to_have_attribute("aria-checked", "true")


async def test_others_see_no_back_office(page: Page) -> None:
    company = await make_company()
    dispatcher = await make_employee(company, first_name="Nina", last_name="Frei")
    await signed_in(page, dispatcher.email, "Nina Frei")
    await expect(page.get_by_test_id("nav-mail")).to_be_visible()
    await expect(page.get_by_test_id("nav-admin")).to_have_count(0)
    # Typing the address leads to the server's refusal, not to a broken screen.
    await page.goto("/#/admin/employees")
    await expect(page.get_by_role("alert")).to_contain_text(
        "Dafür braucht es die Rolle Backoffice."
    )
