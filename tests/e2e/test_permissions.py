"""Who may write: the reason from the rule book is shown instead of the write action."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from organisatrice.roles.policy import Role
from tests.e2e.flows import signed_in
from tests.factories import make_company, make_employee, make_order, make_template

pytestmark = pytest.mark.e2e


async def test_technician_not_responsible_sees_the_reason_instead_of_write(
    page: Page, screenshots: Path
) -> None:
    company = await make_company()
    await make_template(company)
    technician = await make_employee(
        company, roles={Role.TECHNICIAN}, first_name="Luca", last_name="Rossi"
    )
    # He worked on the order, so he sees it, but he is not responsible for it.
    order = await make_order(company, title="Boiler entkalken", technician_id=technician.id)

    await signed_in(page, technician.email, "Luca Rossi")
    await page.goto(f"/#/orders/{order.id}")
    await expect(page.get_by_role("heading", name="Boiler entkalken")).to_be_visible()
    reason = page.get_by_test_id("email-reason")
    await expect(reason).to_contain_text("für diesen Auftrag nicht verantwortlich")
    await expect(page.get_by_test_id("write-email")).to_have_count(0)
    await expect(page.get_by_role("link", name="Arbeitsrapport senden")).to_have_count(0)
    await page.screenshot(path=screenshots / "order-no-email.png", full_page=True)

    # Typing the compose address does not get around it either.
    await page.goto(f"/#/orders/{order.id}/compose/1")
    await expect(page.get_by_test_id("email-reason")).to_be_visible()
