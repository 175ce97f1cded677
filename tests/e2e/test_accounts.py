"""Passwords and sessions on the tablet: back-office emails a reset link through the company's
relay and the employee sets a new password with it (signed out, from the email); an employee
changes their own password and their other device is signed out; "sign out everywhere"."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from playwright.async_api import Browser, BrowserContext, Page, expect

from organisatrice.roles.policy import Role
from tests.e2e.flows import no_horizontal_scroll, sign_in, signed_in
from tests.factories import make_company, make_employee, make_relay
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
TABLET = {"width": 768, "height": 1024}
NEW_PASSWORD = "ein-neues-Passwort-2026"


async def shoot(page: Page, screenshots: Path, name: str) -> None:
    """The screen on the tablet and on a phone (where nothing may stick out)."""
    await page.screenshot(path=screenshots / f"{name}.png", full_page=True)
    await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
    await page.wait_for_timeout(150)
    await no_horizontal_scroll(page)
    await page.screenshot(path=screenshots / f"{name}-phone.png", full_page=True)
    await page.set_viewport_size(TABLET)  # type: ignore[arg-type]
    await page.wait_for_timeout(150)


def link_in(data: bytes) -> str:
    """The set-password address in the email's text, from the "#/" on."""
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("plain",))
    assert body is not None
    found = re.search(r"(#/set-password\?token=[^\s<>\"]+)", body.get_content())
    assert found, body.get_content()
    return found.group(1)


async def test_back_office_sends_a_reset_link_and_the_employee_sets_a_new_password(
    page: Page, browser: Browser, live_server: str, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        company = await make_company("Muster Haustechnik AG")
        await make_relay(company, port)
        lea = await make_employee(
            company, roles={Role.BACKOFFICE}, first_name="Lea", last_name="Keller"
        )
        daniel = await make_employee(company, first_name="Daniel", last_name="Brunner")

        await signed_in(page, lea.email, "Lea Keller")
        await page.goto("/#/admin/employees")
        row = page.get_by_test_id("employee-row").filter(has_text="Daniel Brunner")
        await row.get_by_role("button", name="Link zum Zurücksetzen senden").tap()
        dialog = page.get_by_role("dialog", name="Link zum Zurücksetzen senden?")
        await expect(dialog).to_contain_text("Daniel Brunner")
        await expect(dialog).to_contain_text(daniel.email)
        await page.screenshot(path=screenshots / "employees-send-reset.png")
        await dialog.get_by_role("button", name="Senden").tap()
        await expect(dialog).to_be_hidden()
        await expect(page.get_by_role("status")).to_contain_text(
            f"Link zum Zurücksetzen an {daniel.email} gesendet."
        )

        [message] = relay.received
        assert message.rcpt_tos == [daniel.email]
        link = link_in(message.data)

    # Daniel, on his own tablet (not signed in), opens the link from the email.
    context = await browser.new_context(
        base_url=live_server, viewport=TABLET, has_touch=True, locale="de-CH"
    )
    try:
        own = await context.new_page()
        await own.goto(f"/{link}")
        await expect(own.get_by_role("heading", name="Passwort festlegen")).to_be_visible()
        await own.get_by_label("Neues Passwort", exact=True).fill("zu-kurz")
        await own.get_by_label("Neues Passwort wiederholen").fill("zu-kurz-x")
        await expect(
            own.get_by_text("Die beiden Passwörter stimmen nicht überein.")
        ).to_be_visible()
        await expect(own.get_by_text("mindestens 10 Zeichen").first).to_be_visible()
        await shoot(own, screenshots, "set-password-mismatch")

        await own.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
        await own.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
        await expect(own.get_by_text("stimmen nicht überein")).to_have_count(0)
        await own.get_by_role("button", name="Passwort festlegen").tap()
        await expect(own.get_by_test_id("password-set")).to_have_text(
            "Passwort festgelegt – melden Sie sich an."
        )
        await shoot(own, screenshots, "set-password-done")

        # Used once: the same link again is refused in the server's words.
        await own.reload()
        await own.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
        await own.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
        await own.get_by_role("button", name="Passwort festlegen").tap()
        refused = own.get_by_test_id("set-password-error")
        await expect(refused).to_contain_text("Dieser Link ist verbraucht oder abgelaufen.")
        await expect(refused).to_contain_text("Bitten Sie das Back-Office um einen neuen Link.")
        await shoot(own, screenshots, "set-password-refused")

        await own.get_by_role("link", name="Zur Anmeldung").tap()
        await sign_in(own, daniel.email, NEW_PASSWORD)
        await expect(own.get_by_test_id("employee-name")).to_have_text("Daniel Brunner")
    finally:
        await context.close()


async def test_a_refusing_relay_is_shown_in_the_confirmation(page: Page) -> None:
    with smtp_relay() as (relay, port):
        company = await make_company()
        await make_relay(company, port)
        lea = await make_employee(
            company, roles={Role.BACKOFFICE}, first_name="Lea", last_name="Keller"
        )
        daniel = await make_employee(company, first_name="Daniel", last_name="Brunner")
        relay.rcpt_replies[daniel.email] = "550 5.1.1 No such user"

        await signed_in(page, lea.email, "Lea Keller")
        await page.goto("/#/admin/employees")
        row = page.get_by_test_id("employee-row").filter(has_text="Daniel Brunner")
        await row.get_by_role("button", name="Einladung senden").tap()
        dialog = page.get_by_role("dialog", name="Einladung senden?")
        await dialog.get_by_role("button", name="Senden").tap()
        await expect(dialog.get_by_role("alert")).to_contain_text("No such user")
        await expect(dialog).to_be_visible()
        assert relay.received == []


async def test_changing_my_password_signs_out_my_other_device(
    page: Page, context: BrowserContext, browser: Browser, live_server: str, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    nina = await make_employee(company, first_name="Nina", last_name="Frei")

    other = await browser.new_context(
        base_url=live_server, viewport=TABLET, has_touch=True, locale="de-CH"
    )
    try:
        second = await other.new_page()
        await signed_in(second, nina.email, "Nina Frei")
        await signed_in(page, nina.email, "Nina Frei")

        await page.get_by_test_id("account-link").tap()
        await expect(page.get_by_role("heading", name="Mein Konto")).to_be_visible()
        form = page.get_by_test_id("change-password")
        await form.get_by_label("Aktuelles Passwort").fill("not the password")
        await form.get_by_label("Neues Passwort", exact=True).fill(NEW_PASSWORD)
        await form.get_by_label("Neues Passwort wiederholen").fill(NEW_PASSWORD)
        await form.get_by_role("button", name="Passwort ändern").tap()
        # The server's refusal at its field, which gets the focus.
        await expect(form.get_by_label("Aktuelles Passwort")).to_be_focused()
        await expect(form).to_contain_text("Das aktuelle Passwort stimmt nicht.")
        await shoot(page, screenshots, "account-refused")

        await form.get_by_label("Aktuelles Passwort").fill("correct horse battery")
        await form.get_by_role("button", name="Passwort ändern").tap()
        await expect(page.get_by_test_id("password-changed")).to_have_text(
            "Passwort geändert; Ihre anderen Geräte sind abgemeldet."
        )
        await shoot(page, screenshots, "account")

        # This device stays signed in; the other one is out at its next request.
        await page.reload()
        await expect(page.get_by_test_id("employee-name")).to_have_text("Nina Frei")
        await second.reload()
        await expect(second.get_by_role("heading", name="Anmelden")).to_be_visible()
        await sign_in(second, nina.email, NEW_PASSWORD)
        await expect(second.get_by_test_id("employee-name")).to_have_text("Nina Frei")
    finally:
        await other.close()


async def test_signing_out_everywhere_returns_to_the_sign_in(
    page: Page, browser: Browser, live_server: str
) -> None:
    company = await make_company()
    nina = await make_employee(company, first_name="Nina", last_name="Frei")
    other = await browser.new_context(
        base_url=live_server, viewport=TABLET, has_touch=True, locale="de-CH"
    )
    try:
        second = await other.new_page()
        await signed_in(second, nina.email, "Nina Frei")
        await signed_in(page, nina.email, "Nina Frei")

        await page.get_by_test_id("account-link").tap()
        await page.get_by_role("button", name="Überall abmelden").tap()
        dialog = page.get_by_role("dialog", name="Überall abmelden?")
        await expect(dialog).to_contain_text("auch diese")
        await dialog.get_by_role("button", name="Überall abmelden").tap()
        await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
        await page.reload()
        await expect(page.get_by_role("heading", name="Anmelden")).to_be_visible()
        await second.reload()
        await expect(second.get_by_role("heading", name="Anmelden")).to_be_visible()
    finally:
        await other.close()
