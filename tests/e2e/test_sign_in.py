"""Sign-in on the tablet: the server's refusal in its own words, then who and where you are."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from organisatrice.roles.tables import Employee
from tests.e2e.flows import sign_in
from tests.factories import make_company, make_employee

pytestmark = pytest.mark.e2e


async def test_wrong_password_shows_the_apis_message_and_the_right_one_the_name_and_company(
    page: Page, screenshots: Path
) -> None:
    company = await make_company("Keller Gebäudetechnik AG")
    employee = await make_employee(company, first_name="Eva", last_name="Keller")

    await sign_in(page, employee.email, "not the password")
    error = page.get_by_test_id("sign-in-error")
    await expect(error).to_have_text("E-Mail-Adresse oder Passwort stimmt nicht.")
    await expect(page.get_by_label("Passwort")).to_be_focused()
    await page.screenshot(path=screenshots / "sign-in-refused.png")

    await sign_in(page, employee.email)
    await expect(page.get_by_test_id("employee-name")).to_have_text("Eva Keller")
    await expect(page.get_by_test_id("company-name")).to_have_text("Keller Gebäudetechnik AG")
    await expect(error).to_have_count(0)


async def test_signing_out_returns_to_the_sign_in(page: Page) -> None:
    company = await make_company()
    employee = await make_employee(company, first_name="Nina", last_name="Frei")
    await sign_in(page, employee.email)
    await expect(page.get_by_test_id("employee-name")).to_have_text("Nina Frei")

    await page.get_by_role("button", name="Abmelden").tap()
    await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
    await page.reload()
    await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()


async def test_the_ui_speaks_the_employees_language(page: Page) -> None:
    company = await make_company()
    employee = await make_employee(company, first_name="Julie", last_name="Rochat")
    await Employee.update({Employee.locale: "fr"}).where(Employee.id == employee.id)

    await sign_in(page, employee.email)
    await expect(page.get_by_test_id("employee-name")).to_have_text("Julie Rochat")
    await expect(page.get_by_role("heading", name="Mandats")).to_be_visible()
    await expect(page.get_by_role("button", name="Se déconnecter")).to_be_visible()
    await expect(page.locator("html")).to_have_attribute("lang", "fr")
