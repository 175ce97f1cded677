"""Languages a person chooses: the sign-in follows the browser until someone picks another on
the device, and an employee's own choice on the account screen holds at once and later."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, expect

from organisatrice.roles.policy import Role
from tests.e2e.conftest import TABLET
from tests.e2e.flows import no_horizontal_scroll, sign_in, small_touch_targets
from tests.factories import make_company, make_employee

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}


async def test_the_sign_in_speaks_the_browsers_language_until_another_is_chosen(
    browser: Browser, live_server: str, screenshots: Path
) -> None:
    context = await browser.new_context(
        base_url=live_server, viewport=TABLET, has_touch=True, locale="fr-CH"
    )
    try:
        page = await context.new_page()
        await page.goto("/")
        await expect(page.get_by_role("heading", name="Connexion")).to_be_visible()
        await expect(page.get_by_label("Adresse e-mail")).to_be_visible()
        switcher = page.get_by_role("group", name="Choisir la langue")
        await expect(switcher.get_by_role("button", name="Français")).to_have_attribute(
            "aria-pressed", "true"
        )
        await page.screenshot(path=screenshots / "sign-in-fr-tablet.png")

        await switcher.get_by_role("button", name="Italiano").tap()
        await expect(page.get_by_role("heading", name="Accesso")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "it")
        await page.reload()
        await expect(page.get_by_role("heading", name="Accesso")).to_be_visible()
        await expect(page.get_by_label("Indirizzo e-mail")).to_be_visible()
        assert await small_touch_targets(page) == []
        # The emailed password link opens in the device's language too.
        await page.goto("/#/set-password?token=anything")
        await expect(page.get_by_role("heading", name="Impostare la password")).to_be_visible()
        await expect(page.get_by_test_id("language-switcher")).to_be_visible()

        await page.goto("/")
        await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
        await expect(page.get_by_test_id("language-switcher")).to_be_in_viewport()
        await no_horizontal_scroll(page)
        await page.screenshot(path=screenshots / "sign-in-it-phone.png")
    finally:
        await context.close()


async def test_an_employee_switches_to_english_on_the_account_screen(
    page: Page, screenshots: Path
) -> None:
    company = await make_company()
    employee = await make_employee(company, first_name="Luca", last_name="Berger")
    await sign_in(page, employee.email)
    await expect(page.get_by_test_id("employee-name")).to_have_text("Luca Berger")

    await page.goto("/#/account")
    await expect(page.get_by_role("heading", name="Mein Konto")).to_be_visible()
    await page.get_by_role("radio", name="English").tap()
    # At once, without a reload.
    await expect(page.get_by_role("heading", name="My account")).to_be_visible()
    await expect(page.get_by_test_id("language-changed")).to_have_text("Language changed.")
    await expect(page.get_by_role("radio", name="English")).to_be_checked()
    await expect(page.locator("html")).to_have_attribute("lang", "en")
    await page.screenshot(path=screenshots / "account-language.png")

    # Signed out, the device's language (this tablet's browser: German) is back; signed in
    # again, the employee's own.
    await page.get_by_role("button", name="Sign out", exact=True).tap()
    await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    await sign_in(page, employee.email)
    await expect(page.get_by_role("heading", name="Orders")).to_be_visible()
    await page.goto("/#/account")
    await expect(page.get_by_role("heading", name="My account")).to_be_visible()


async def test_backoffice_changes_a_colleagues_language_in_the_staff_screen(
    page: Page, screenshots: Path
) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE}, first_name="Bea")
    await make_employee(company, first_name="Marc", last_name="Rey")
    await sign_in(page, admin.email)
    await expect(page.get_by_test_id("employee-name")).to_contain_text("Bea")

    await page.goto("/#/admin/employees")
    language = page.get_by_label("Sprache von Marc Rey")
    await expect(language).to_have_value("de")
    await language.select_option("fr")
    await expect(page.get_by_role("status")).to_have_text("Gespeichert: Marc Rey")
    await page.screenshot(path=screenshots / "employees-language.png", full_page=True)
    await page.reload()
    await expect(page.get_by_label("Sprache von Marc Rey")).to_have_value("fr")

    await page.goto("/#/admin/changes")
    row = page.get_by_role("row").filter(has_text="Marc Rey")
    await expect(row).to_contain_text("Sprache")
    await expect(row).to_contain_text("Deutsch")
    await expect(row).to_contain_text("Französisch")
