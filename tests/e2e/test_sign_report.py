"""The client signs the work report on the tablet: the dispatcher opens "Arbeitsrapport
unterschreiben" on the order, the client reads the summary and signs with a finger (touch) and
a pen (pointer), types the name, saves; the work report then goes out and its archive entry
says it was signed."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from litestar import Litestar
from PIL import Image
from playwright.async_api import Locator, Page, expect

from organisatrice.compose.tables import ReportSignature
from organisatrice.roles.policy import Role
from tests.e2e.conftest import TABLET
from tests.e2e.flows import drain, no_horizontal_scroll, send_email, signed_in
from tests.factories import (
    make_client,
    make_company,
    make_employee,
    make_material,
    make_order,
    make_relay,
    make_template,
    make_work_item,
)
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
SIGNER = "Vreni Huber"


async def pad_box(pad: Locator) -> dict[str, float]:
    box = await pad.bounding_box()
    assert box is not None
    return box


async def draw_with_pointer(page: Page, pad: Locator) -> None:
    """A pen's stroke: pointer down, moves, up (pointer events of type mouse)."""
    box = await pad_box(pad)
    x, y = box["x"], box["y"] + box["height"] * 0.6
    await page.mouse.move(x + 40, y)
    await page.mouse.down()
    for step in range(1, 13):
        await page.mouse.move(x + 40 + step * 18, y - (step % 4) * 14)
    await page.mouse.up()


async def draw_with_finger(page: Page, pad: Locator) -> None:
    """A finger's stroke, as the touch screen reports it (pointer events of type touch)."""
    box = await pad_box(pad)
    x, y = box["x"] + box["width"] * 0.55, box["y"] + box["height"] * 0.4
    cdp = await page.context.new_cdp_session(page)
    points = [(x + i * 15, y + (i % 3) * 12) for i in range(10)]
    await cdp.send(
        "Input.dispatchTouchEvent",
        {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]},
    )
    for px, py in points[1:]:
        await cdp.send(
            "Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": px, "y": py}]}
        )
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


async def test_client_signs_the_work_report_and_the_archive_shows_it_signed(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (_relay, port):
        company = await make_company("Keller Gebäudetechnik AG")
        await make_relay(company, port)
        dispatcher = await make_employee(
            company, roles={Role.DISPATCHER}, first_name="Daniel", last_name="Brunner"
        )
        technician = await make_employee(company, roles={Role.TECHNICIAN}, first_name="Reto")
        client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
        order = await make_order(
            company, client_id=client, number="2026-4711", technician_id=technician.id
        )
        await make_work_item(
            company, order.id, technician.id, hours=2.5, description="Brenner gereinigt"
        )
        await make_material(company, order.id, article="Dichtung 3/4", quantity=2)
        template = await make_template(company)

        await signed_in(page, dispatcher.email, "Daniel Brunner")
        await page.goto(f"/#/orders/{order.id}")
        card = page.get_by_test_id("report-signature")
        await expect(card).to_contain_text("noch nicht unterschrieben")
        await page.get_by_role("button", name="Arbeitsrapport unterschreiben").tap()

        dialog = page.get_by_role("dialog", name="Arbeitsrapport unterschreiben")
        await expect(dialog).to_be_visible()
        summary = dialog.get_by_test_id("sign-summary")
        await expect(summary).to_contain_text("Arbeitsrapport 2026-4711")
        await expect(summary).to_contain_text("Brenner gereinigt")
        await expect(summary).to_contain_text("2.5")
        await expect(summary).to_contain_text("Dichtung 3/4")
        await expect(dialog.get_by_test_id("sign-time")).not_to_be_empty()

        # Saving an empty field is refused on the tablet, in words.
        await dialog.get_by_label("Name der unterschreibenden Person").fill(SIGNER)
        await page.get_by_test_id("sign-save").tap()
        await expect(dialog.get_by_role("alert")).to_have_text(
            "Bitte zuerst im Feld unterschreiben."
        )

        pad = dialog.get_by_test_id("sign-pad")
        await draw_with_finger(page, pad)
        await draw_with_pointer(page, pad)
        await page.screenshot(path=screenshots / "sign-report-tablet.png")
        await page.set_viewport_size(PHONE)  # type: ignore[arg-type]
        await expect(pad).to_be_visible()
        await page.screenshot(path=screenshots / "sign-report-phone.png")
        await page.set_viewport_size(TABLET)  # type: ignore[arg-type]

        width = (await pad_box(pad))["width"]
        await page.get_by_test_id("sign-save").tap()
        await expect(dialog).to_be_hidden()
        await expect(card.get_by_test_id("signature-line")).to_contain_text(
            f"Unterschrieben von {SIGNER}"
        )
        await no_horizontal_scroll(page)
        await card.screenshot(path=screenshots / "sign-report-card.png")

        # Both strokes reached the stored drawing: it spans most of the field's width.
        rows = await ReportSignature.select().where(ReportSignature.order == order.id)
        assert [r["signer_name"] for r in rows] == [SIGNER]
        image = await page.request.get(f"/api/orders/{order.id}/signature/{rows[0]['id']}/image")
        drawing = Image.open(io.BytesIO(await image.body()))
        assert drawing.width > width * 0.5

        sent = await send_email(
            app, dispatcher.email, order.id, template, "verwaltung@lindenhof.example"
        )
        await drain()

    await page.goto(f"/#/mail/{sent['id']}")
    signed = page.get_by_test_id("entry-signed")
    await expect(signed).to_contain_text(f"Vom Kunden unterschrieben: {SIGNER}")
    await page.screenshot(path=screenshots / "sign-report-archive.png")
    await page.goto(f"/#/orders/{order.id}")
    await expect(card).to_contain_text("Mit einem Arbeitsrapport versandt")
