"""Steps the e2e tests share: what a person does, in the words of the screen."""

from __future__ import annotations

from typing import Any

from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.mail.worker import run_batch
from tests.client import ApiClient
from tests.factories import DEFAULT_PASSWORD


async def sign_in(page: Page, email: str, password: str = DEFAULT_PASSWORD) -> None:
    await page.goto("/")
    await page.get_by_label("E-Mail-Adresse").fill(email)
    await page.get_by_label("Passwort").fill(password)
    await page.get_by_role("button", name="Anmelden").tap()


async def signed_in(page: Page, email: str, name: str) -> None:
    await sign_in(page, email)
    await expect(page.get_by_test_id("employee-name")).to_have_text(name)


async def send_email(
    app: Litestar, sender: str, order_id: int, template_id: int, to: str
) -> dict[str, Any]:
    """Send an email as `sender` through the API (a draft to a typed address, then send), as
    the tablet would; the worker still has to deliver it (`drain`)."""
    async with ApiClient.signed_in(app, sender) as api:
        draft = await api.post(
            f"/api/orders/{order_id}/drafts", json={"template_id": template_id, "address": to}
        )
        assert draft.status_code == 201, draft.text
        sent = await api.post(f"/api/orders/{order_id}/drafts/{draft.json()['id']}/send")
        assert sent.status_code == 201, sent.text
        answer: dict[str, Any] = sent.json()
        return answer


async def drain() -> None:
    """Run the sending worker round by round until the outbox is empty, as the suite does."""
    while await run_batch("e2e-worker"):
        pass


async def no_horizontal_scroll(page: Page) -> None:
    """Nothing sticks out sideways: the page fits the screen it is shown on."""
    overflow = await page.evaluate(
        "() => document.scrollingElement.scrollWidth - window.innerWidth"
    )
    assert overflow <= 0, f"the page is {overflow}px wider than the screen"


# Visible buttons, links styled as buttons and form fields, as "TAG text" when under 44 px high.
_SMALL_TARGETS = """() => [...document.querySelectorAll(
    'button, a.button, select, textarea, '
    + 'input:not([type=checkbox]):not([type=radio]):not([type=file])'
  )]
  .filter(e => e.offsetParent !== null && !e.closest('.visually-hidden'))
  .filter(e => e.getBoundingClientRect().height < 44)
  .map(e => {
    const text = e.textContent || e.getAttribute('aria-label') || e.name || '';
    return `${e.tagName} ${text.trim().slice(0, 40)}`;
  })"""


async def small_touch_targets(page: Page) -> list[str]:
    """Visible buttons, links styled as buttons, and form fields under 44 px high."""
    return list(await page.evaluate(_SMALL_TARGETS))
