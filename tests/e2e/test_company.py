"""The company in the back-office: its details and mail settings saved with a confirmation and
still there after a reload, a refusal shown at its field, the logo uploaded and shown; and a
photo's caption changed on the order screen."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from litestar import Litestar
from PIL import Image, ImageDraw
from playwright.async_api import Page, expect

from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Company
from tests.client import ApiClient
from tests.e2e.flows import no_horizontal_scroll, signed_in
from tests.factories import make_company, make_employee, make_image, make_order, set_company

pytestmark = pytest.mark.e2e


def logo_png() -> bytes:
    """A wide logo on a transparent background: an orange mark and a bar for the lettering."""
    image = Image.new("RGBA", (480, 160), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, 150, 150), fill=(194, 65, 12, 255))
    draw.rectangle((180, 55, 460, 105), fill=(24, 33, 45, 255))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


async def test_back_office_edits_the_company_and_uploads_its_logo(
    page: Page, app: Litestar, screenshots: Path, tmp_path: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    await set_company(company, sender_address="office@muster.example", city="Zürich")
    boss = await make_employee(
        company, roles={Role.BACKOFFICE}, first_name="Lea", last_name="Keller"
    )
    await signed_in(page, boss.email, "Lea Keller")
    await page.goto("/#/admin/company")
    details = page.get_by_test_id("company-details")
    await expect(details.get_by_label("Firmenname")).to_have_value("Muster Haustechnik AG")
    await expect(details.get_by_label("Ort")).to_have_value("Zürich")

    await details.get_by_label("Strasse").fill("Industriestrasse 5")
    await details.get_by_label("PLZ").fill("8005")
    await details.get_by_label("Telefon").fill("+41 44 455 12 80")
    await details.get_by_label("Website").fill("www.muster.example")
    await details.get_by_label("Grössenbudget pro E-Mail (MB)").fill("8")
    await expect(page.get_by_test_id("details-state")).to_have_text("Nicht gespeichert")

    # A sending address the server refuses: the reason stands at its field, nothing is saved.
    sender = details.get_by_label("Absenderadresse")
    await sender.fill("kein adresse")
    await details.get_by_role("button", name="Angaben speichern").tap()
    await expect(sender).to_have_attribute("aria-invalid", "true")
    await expect(details.locator(".field-error")).to_contain_text(
        "«kein adresse» ist keine gültige E-Mail-Adresse."
    )
    await page.screenshot(path=screenshots / "company-details-error.png")

    await sender.fill("auftraege@muster.example")
    box_before = await details.get_by_role("button", name="Angaben speichern").bounding_box()
    await details.get_by_role("button", name="Angaben speichern").tap()
    await expect(page.get_by_test_id("details-state")).to_have_text("✓ Firmenangaben gespeichert.")
    await expect(sender).not_to_have_attribute("aria-invalid", "true")
    # The confirmation takes the place the "not saved" note had: the button did not move.
    assert await details.get_by_role("button", name="Angaben speichern").bounding_box() == (
        box_before
    )
    row = await Company.select().where(Company.id == company).first()
    assert row is not None
    assert (row["street"], row["postal_code"], row["sender_address"]) == (
        "Industriestrasse 5",
        "8005",
        "auftraege@muster.example",
    )
    assert row["mail_size_budget"] == 8_000_000
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=screenshots / "company.png")

    await page.reload()
    await expect(details.get_by_label("Strasse")).to_have_value("Industriestrasse 5")
    await expect(details.get_by_label("Website")).to_have_value("www.muster.example")
    await expect(details.get_by_label("Grössenbudget pro E-Mail (MB)")).to_have_value("8")

    # The logo: chosen, sent with its progress, shown in the frame.
    logo = page.get_by_test_id("company-logo")
    await expect(logo).to_contain_text("Noch kein Logo")
    path = tmp_path / "logo.png"
    path.write_bytes(logo_png())
    await logo.locator("input[type=file]").set_input_files(path)
    await expect(logo.get_by_role("status")).to_have_text("✓ Logo gespeichert.")
    preview = page.get_by_test_id("logo-preview")
    await expect(preview).to_be_visible()
    assert await preview.evaluate("img => img.complete && img.naturalWidth") == 480
    await logo.scroll_into_view_if_needed()
    await no_horizontal_scroll(page)
    await page.screenshot(path=screenshots / "company-logo.png")

    await page.reload()
    await expect(page.get_by_test_id("logo-preview")).to_be_visible()

    # A text file named like a picture is refused with the server's reason; the logo stays.
    fake = tmp_path / "fake.png"
    fake.write_text("not a picture")
    await logo.locator("input[type=file]").set_input_files(fake)
    await expect(logo.get_by_role("alert")).to_contain_text("kein lesbares Bild")
    await expect(page.get_by_test_id("logo-preview")).to_be_visible()

    await logo.get_by_role("button", name="Logo entfernen").tap()
    await expect(logo.get_by_role("status")).to_have_text("✓ Logo entfernt.")
    await expect(logo).to_contain_text("Noch kein Logo")
    async with ApiClient.signed_in(app, boss.email) as api:
        assert (await api.get("/api/company/logo")).status_code == 404


async def test_a_caption_is_changed_in_the_photo_view(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    dispatcher = await make_employee(company, first_name="Nina", last_name="Frei")
    order = await make_order(company, number="2026-0412", title="Boiler entkalken")
    async with ApiClient.signed_in(app, dispatcher.email) as api:
        for caption, colour in (("Boiler vorher", (200, 60, 40)), ("", (40, 90, 200))):
            answer = await api.post(
                f"/api/orders/{order.id}/photos",
                files={"file": ("p.jpg", make_image(size=(640, 480), colour=colour), "image/jpeg")},
                data={"caption": caption},
            )
            assert answer.status_code == 201, answer.text
    await signed_in(page, dispatcher.email, "Nina Frei")
    await page.goto(f"/#/orders/{order.id}")
    grid = page.get_by_test_id("photo-grid")
    await grid.get_by_role("button").nth(1).tap()
    dialog = page.get_by_role("dialog")
    await dialog.get_by_role("button", name="Bildtext bearbeiten").tap()
    field = dialog.get_by_label("Bildtext", exact=True)
    await expect(field).to_be_focused()
    await field.fill("Boiler nachher, entkalkt")
    await dialog.get_by_role("button", name="Bildtext speichern").tap()
    await expect(dialog.get_by_role("status")).to_have_text("✓ Bildtext gespeichert.")
    await expect(dialog).to_have_attribute("aria-label", "Boiler nachher, entkalkt")
    await page.screenshot(path=screenshots / "photo-caption.png")

    # A caption too long for the server: its reason is shown, the caption stays.
    await dialog.get_by_role("button", name="Bildtext bearbeiten").tap()
    await field.evaluate("input => input.removeAttribute('maxlength')")
    await field.fill("x" * 501)
    await dialog.get_by_role("button", name="Bildtext speichern").tap()
    await expect(dialog.get_by_role("alert")).to_contain_text("caption")
    await page.screenshot(path=screenshots / "photo-caption-error.png")
    await dialog.get_by_role("button", name="Abbrechen").tap()
    await dialog.get_by_role("button", name="Schliessen").tap()

    await expect(grid).to_contain_text("Boiler nachher, entkalkt")
    await page.reload()
    await expect(page.get_by_test_id("photo-grid")).to_contain_text("Boiler nachher, entkalkt")
    async with ApiClient.signed_in(app, dispatcher.email) as api:
        photos = (await api.get(f"/api/orders/{order.id}")).json()["photos"]
    assert [p["caption"] for p in photos] == ["Boiler vorher", "Boiler nachher, entkalkt"]
