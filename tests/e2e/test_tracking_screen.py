"""Tracking health on the company screen: back-office verifies that reports come back (a probe
through the relay to the receiver), turns on the daily check, and downloads a report that
could not be attributed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from organisatrice.core.blobs import blob_store
from organisatrice.mail.tables import InboundReport
from organisatrice.roles.policy import Role
from tests.e2e.flows import signed_in
from tests.factories import make_company, make_employee, make_relay
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

REPORT = b"From: MAILER-DAEMON@relay.example\r\nSubject: ???\r\n\r\nnot a report\r\n"


async def test_back_office_verifies_tracking_and_sees_unattributed_reports(
    page: Page, receiver: int, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    boss = await make_employee(
        company, roles={Role.BACKOFFICE}, first_name="Lea", last_name="Keller"
    )
    ref, _ = await blob_store().put(REPORT)
    await InboundReport(
        company=company,
        kind="unknown",
        blob_sha256=ref.sha256,
        envelope_from="MAILER-DAEMON@relay.example",
        problem="The report could not be read as a delivery report or read receipt.",
    ).save()
    with smtp_relay() as (relay, port):
        relay.mx["bounces.test.example"] = receiver
        await make_relay(company, port)
        await signed_in(page, boss.email, "Lea Keller")
        await page.goto("/#/admin/company")
        card = page.get_by_test_id("tracking")
        state = card.get_by_test_id("tracking-state")
        await expect(state).to_have_text("Noch nie geprüft.")
        await card.get_by_role("button", name="Tracking prüfen").tap()
        await expect(state).to_have_attribute("data-state", "verified")
        await expect(state).to_contain_text("Berichte an bounces.test.example erreichen die App.")
        assert len(relay.received) == 1
        daily = card.get_by_role("switch", name="Täglich prüfen")
        await daily.tap()
        await expect(daily).to_have_attribute("aria-checked", "true")
        await card.scroll_into_view_if_needed()
        await page.screenshot(path=screenshots / "tracking.png")

    unmatched = card.get_by_test_id("unmatched")
    await expect(unmatched).to_contain_text("could not be read")
    async with page.expect_download() as download_info:
        await unmatched.get_by_role("link", name="Bericht herunterladen").click()
    download = await download_info.value
    assert await asyncio.to_thread(Path(await download.path()).read_bytes) == REPORT
    # The daily switch stays on after a reload.
    await page.reload()
    await expect(
        page.get_by_test_id("tracking").get_by_role("switch", name="Täglich prüfen")
    ).to_have_attribute("aria-checked", "true")
