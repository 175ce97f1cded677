"""What went to the client on paper belongs to the order's history too: a hand-over is
recorded on the order and counts as the work report delivered."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from tests.client import ApiClient
from tests.e2e.flows import signed_in
from tests.factories import make_company, make_employee, make_order

pytestmark = pytest.mark.e2e


async def test_a_paper_hand_over_is_recorded_on_the_order(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    company = await make_company()
    dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
    order = await make_order(company, number="2026-4711")
    await signed_in(page, dispatcher.email, "Daniel Brunner")
    await page.goto(f"/#/orders/{order.id}")

    handovers = page.get_by_test_id("handovers")
    await expect(handovers).to_contain_text("Übergaben auf Papier 0")
    await handovers.get_by_role("button", name="+ Übergabe erfassen").tap()
    await expect(handovers.get_by_label("Was")).to_have_value("work_report")
    today = datetime.now(ZoneInfo("Europe/Zurich")).date()
    await expect(handovers.get_by_label("Übergeben am")).to_have_value(today.isoformat())
    await handovers.get_by_label("Notiz").fill("Dem Hauswart übergeben")
    await handovers.get_by_role("button", name="Übergabe speichern").tap()

    await expect(handovers.locator("li")).to_have_count(1)
    await expect(handovers).to_contain_text("Dem Hauswart übergeben")
    await expect(handovers).to_contain_text("Erfasst von Daniel Brunner")
    await expect(page.get_by_test_id("work-report-sent")).to_contain_text("auf Papier übergeben")
    await handovers.scroll_into_view_if_needed()
    await page.screenshot(path=screenshots / "order-handover.png")

    async with ApiClient.signed_in(app, dispatcher.email) as api:
        history = (await api.get(f"/api/orders/{order.id}/history")).json()
    assert history["work_report_handed_over"]["note"] == "Dem Hauswart übergeben"
    assert history["work_report_handed_over"]["handed_over_on"] == today.isoformat()
