"""Webhook endpoints on a tablet: back-office registers one (the signing secret shown once), an
internal address is refused at its field, a test event's answer and the delivery log are
shown, an endpoint is switched off and removed after a confirmation in the app's own dialog.

No request leaves the machine: the endpoint made on the screen has a public address but
receives no event here, and the one tested points at a closed port on loopback (which the
suite's operator setting allows), so its test fails as an unreachable receiver does."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.e2e.flows import no_horizontal_scroll, signed_in
from tests.factories import make_company, make_employee

pytestmark = pytest.mark.e2e

PUBLIC = "https://8.8.8.8/organisatrice/hooks"
LOOPBACK = "http://127.0.0.1:9/hooks"
PRIVATE = "https://10.0.0.8/hooks"


async def test_back_office_registers_tests_and_removes_a_webhook_endpoint(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    boss = await make_employee(
        company, roles={Role.BACKOFFICE}, first_name="Lea", last_name="Keller"
    )
    await signed_in(page, boss.email, "Lea Keller")
    await page.get_by_test_id("nav-admin").tap()
    await page.get_by_role("link", name="Webhooks").tap()
    await expect(page.get_by_test_id("no-webhooks")).to_be_visible()

    # An internal address is refused, at its field.
    await page.get_by_role("button", name="Neuer Endpunkt").tap()
    dialog = page.get_by_role("dialog", name="Neuer Endpunkt")
    url = dialog.get_by_label("Adresse (URL)")
    await url.fill(PRIVATE)
    await dialog.get_by_role("checkbox", name="email.bounced").check()
    await dialog.get_by_role("checkbox", name="work_report.sent").check()
    await dialog.get_by_label("Beschreibung").fill("ERP Abacus")
    await dialog.get_by_role("button", name="Endpunkt anlegen").tap()
    await expect(url).to_have_attribute("aria-invalid", "true")
    await expect(dialog.locator(".field-error")).to_contain_text("10.0.0.8")
    await page.screenshot(path=screenshots / "webhook-refused.png")

    # A public one: its secret, once.
    await url.fill(PUBLIC)
    await dialog.get_by_role("button", name="Endpunkt anlegen").tap()
    secret_dialog = page.get_by_role("dialog", name="Signaturschlüssel")
    await expect(secret_dialog).to_contain_text("Sie werden ihn nicht wieder sehen")
    secret = await secret_dialog.get_by_test_id("secret-value").input_value()
    assert secret.startswith("whsec_")
    await page.screenshot(path=screenshots / "webhook-secret.png")
    await secret_dialog.get_by_role("button", name="Fertig").tap()
    assert secret not in await page.content()
    hook = page.get_by_test_id("webhook").filter(has_text=PUBLIC)
    await expect(hook).to_have_attribute("data-state", "active")
    await expect(hook).to_contain_text("email.bounced")

    # Switched off and on again.
    await hook.get_by_role("switch", name="Aktiv").tap()
    await expect(hook).to_have_attribute("data-state", "off")
    await hook.get_by_role("switch", name="Aktiv").tap()
    await expect(hook).to_have_attribute("data-state", "active")

    # One on a closed port of loopback (the suite's operator allows loopback): nothing answers
    # there, and its test says so; the log keeps the attempt.
    async with ApiClient.signed_in(app, boss.email) as api:
        made = await api.post(
            "/api/webhooks", json={"url": LOOPBACK, "event_types": ["email.sent"]}
        )
        assert made.status_code == 201, made.text
    await page.reload()
    local = page.get_by_test_id("webhook").filter(has_text=LOOPBACK)
    await local.get_by_role("button", name="Testereignis senden").tap()
    await expect(local.get_by_test_id("webhook-test")).to_contain_text("Test nicht zugestellt")
    await page.screenshot(path=screenshots / "webhooks.png", full_page=True)
    await page.set_viewport_size({"width": 390, "height": 844})
    await no_horizontal_scroll(page)
    await page.screenshot(path=screenshots / "webhooks-phone.png", full_page=True)
    await page.set_viewport_size({"width": 768, "height": 1024})

    await local.get_by_role("link", name="Zustellprotokoll").tap()
    attempt = page.get_by_test_id("webhook-attempt")
    await expect(attempt).to_have_count(1)
    await expect(attempt).to_contain_text("webhook.test")
    await page.screenshot(path=screenshots / "webhook-log.png")
    await page.set_viewport_size({"width": 390, "height": 844})
    await no_horizontal_scroll(page)
    await page.screenshot(path=screenshots / "webhook-log-phone.png")
    await page.set_viewport_size({"width": 768, "height": 1024})

    # Removed after a confirmation in the app's dialog (never the browser's).
    page.on("dialog", lambda d: pytest.fail(f"a browser dialog opened: {d.message}"))
    await page.locator("a.back").tap()
    await hook.get_by_role("button", name="Löschen").tap()
    confirm = page.get_by_role("dialog", name="Endpunkt löschen?")
    await expect(confirm).to_contain_text(PUBLIC)
    await confirm.get_by_role("button", name="Löschen").tap()
    await expect(hook).to_have_count(0)
    await expect(page.get_by_test_id("webhook")).to_have_count(1)
