"""Every screen on the three devices the office uses: a tablet upright (768x1024) and across
(1024x768), and a phone (390x844). Nothing sticks out sideways, every control is a touch target
of 44 px or more, and nothing jumps when the data arrives."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from playwright.async_api import Browser, Page, expect

from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.e2e.flows import drain, no_horizontal_scroll, send_email, signed_in, small_touch_targets
from tests.factories import (
    make_client,
    make_company,
    make_contact,
    make_employee,
    make_image,
    make_order,
    make_relay,
    make_template,
)
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

DEVICES = {
    "tablet": {"width": 768, "height": 1024},
    "landscape": {"width": 1024, "height": 768},
    "phone": {"width": 390, "height": 844},
}

# Collects layout shifts (not caused by input) from the start of the page's life.
LAYOUT_SHIFTS = """
window.__shifts = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    if (!entry.hadRecentInput) window.__shifts += entry.value;
  }
}).observe({ type: "layout-shift", buffered: true });
"""


class Site:
    def __init__(self, email: str, order: int, email_id: int, template: int, client: int) -> None:
        self.email = email
        self.order = order
        self.email_id = email_id
        self.template = template
        self.client = client


@pytest.fixture
async def site(app: Litestar) -> Site:
    """One employee who sees every screen (coordinator and back-office), an order with
    photos and a failed and a sent email."""
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {"typo@lindenhof.example": "550 5.1.1 User unknown"}
        company = await make_company("Muster Haustechnik AG")
        await make_relay(company, port)
        boss = await make_employee(
            company,
            roles={Role.COORDINATOR, Role.BACKOFFICE},
            first_name="Alexandra",
            last_name="Zimmermann-Bärtschi",
        )
        await make_employee(company, first_name="Daniel", last_name="Brunner")
        technician = await make_employee(company, roles={Role.TECHNICIAN}, first_name="Reto")
        client = await make_client(company, "Wohnbaugenossenschaft Lindenhof Zürich-Nord")
        await make_contact(company, client_id=client, first_name="Silvia", last_name="Moser")
        order = await make_order(
            company,
            client_id=client,
            number="2026-4711",
            title="Heizungsservice und Entkalkung des Boilers, Gartenstrasse 92",
            technician_id=technician.id,
        )
        template = await make_template(company)
        async with ApiClient.signed_in(app, boss.email) as api:
            for caption in ("Brenner vorher", "Brenner nachher mit neuer Dichtung"):
                answer = await api.post(
                    f"/api/orders/{order.id}/photos",
                    files={"file": ("p.jpg", make_image(size=(640, 480)), "image/jpeg")},
                    data={"caption": caption},
                )
                assert answer.status_code == 201, answer.text
        failed = await send_email(app, boss.email, order.id, template, "typo@lindenhof.example")
        await send_email(
            app, boss.email, order.id, template, "liegenschaftsverwaltung.lindenhof@client.example"
        )
        await drain()
    return Site(boss.email, order.id, failed["id"], template, client)


@pytest.fixture(params=list(DEVICES))
async def device_page(
    request: pytest.FixtureRequest, browser: Browser, live_server: str
) -> AsyncIterator[tuple[str, Page]]:
    name: str = request.param
    context = await browser.new_context(
        base_url=live_server,
        viewport=DEVICES[name],  # type: ignore[arg-type]
        has_touch=True,
        is_mobile=name == "phone",
        locale="de-CH",
        service_workers="block",
    )
    await context.add_init_script(LAYOUT_SHIFTS)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield name, page
    await context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


SCREENS: list[tuple[str, str, str]] = [
    # (name, address, what shows once the data is there)
    ("orders", "/#/orders", "[data-testid=order-range]"),
    ("order", "/#/orders/{order}", "[data-testid=sent-emails] [data-status]"),
    ("mail", "/#/mail", "[data-testid=mail-row]"),
    ("mail-entry", "/#/mail/{email}", "[data-testid=entry-recipient]"),
    ("notifications", "/#/notifications", "[data-testid=notification]"),
    ("templates", "/#/admin/templates", "[data-testid=template-row]"),
    ("template", "/#/admin/templates/{template}", "[data-testid=template-sample]"),
    ("employees", "/#/admin/employees", "[data-testid=employee-row]"),
    ("company", "/#/admin/company", "[data-testid=quota]"),
    ("changes", "/#/admin/changes", "table, .card p.muted"),
    ("clients", "/#/clients", "[data-testid=client-row]"),
    ("client", "/#/clients/{client}", "[data-testid=client-head]"),
    ("order-new", "/#/orders/new", "[data-testid=client-option]"),
    ("order-edit", "/#/orders/{order}/edit", "[data-testid=responsible] input"),
    ("tokens", "/#/admin/tokens", "[data-testid=no-tokens]"),
    ("imports", "/#/admin/imports", "[data-testid=no-imports]"),
    ("webhooks", "/#/admin/webhooks", "[data-testid=no-webhooks]"),
    ("retention", "/#/admin/retention", "#retention-date"),
    ("account", "/#/account", "[data-testid=notice-choices] [role=switch]"),
]


async def test_every_screen_fits_the_device(
    device_page: tuple[str, Page], site: Site, screenshots: Path
) -> None:
    device, page = device_page
    await signed_in(page, site.email, "Alexandra Zimmermann-Bärtschi")
    problems: dict[str, Any] = {}
    for name, address, ready in SCREENS:
        url = address.format(
            order=site.order, email=site.email_id, template=site.template, client=site.client
        )
        # A fresh load of each screen, so its layout shifts are its own.
        await page.goto("about:blank")
        await page.goto(url)
        await expect(page.locator(ready).first).to_be_visible()
        await page.wait_for_timeout(300)
        await no_horizontal_scroll(page)
        small = await small_touch_targets(page)
        if small:
            problems[f"{name}: under 44 px"] = small
        shifts = await page.evaluate("window.__shifts")
        if shifts > 0.1:
            problems[f"{name}: layout shift"] = shifts
        if device != "tablet":
            await page.screenshot(path=screenshots / f"{name}-{device}.png")
    assert not problems, problems
