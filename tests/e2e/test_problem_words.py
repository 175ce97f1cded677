"""A French dispatcher who runs into the server's refusals reads them in French: an order that
is not there, a photo that is no image, a document of a kind not accepted, an address the
server refuses. The server's English detail never reaches the screen."""

from __future__ import annotations

from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Company, Employee
from tests.e2e.flows import signed_in
from tests.factories import make_company, make_employee, make_order, make_template

pytestmark = pytest.mark.e2e

ENGLISH = (
    "does not exist",
    "not visible to you",
    "not a readable image",
    "is not accepted",
    "is not valid",
)


async def test_a_french_dispatcher_reads_the_servers_refusals_in_french(
    page: Page, app: Litestar, screenshots: Path, tmp_path: Path
) -> None:
    company = await make_company("Services Techniques Rochat SA")
    await Company.update({Company.sender_address: "commandes@rochat.example"}).where(
        Company.id == company
    )
    dispatcher = await make_employee(
        company, roles={Role.DISPATCHER}, first_name="Claire", last_name="Favre"
    )
    await Employee.update({Employee.locale: "fr"}).where(Employee.id == dispatcher.id)
    order = await make_order(company, title="Détartrage chaudière", responsible=[dispatcher.id])
    template = await make_template(
        company, language="fr", name="Envoyer le rapport", subject="Rapport {{ order.number }}"
    )
    await signed_in(page, dispatcher.email, "Claire Favre")

    # An order that is not there (an old link, a mistyped number).
    await page.goto("/#/orders/987654")
    await expect(page.get_by_role("alert").locator("p")).to_have_text(
        "Le mandat 987654 n\u2019existe pas ou ne vous est pas visible."
    )

    # A photo that is no image, and a document of a kind the client could not open.
    await page.goto(f"/#/orders/{order.id}")
    await expect(page.get_by_role("heading", name="Détartrage chaudière")).to_be_visible()
    bad_photo = tmp_path / "chaudiere.jpg"
    bad_photo.write_bytes(b"not an image at all")
    await page.locator("input[type=file][accept^='image/'][multiple]").set_input_files(bad_photo)
    await page.get_by_role("button", name="Téléverser (1)").tap()
    photo_item = page.get_by_test_id("upload-item").filter(has_text="chaudiere.jpg")
    await expect(photo_item.get_by_role("alert")).to_have_text(
        "Ce fichier n\u2019est pas une image lisible."
    )
    notes = tmp_path / "notes.txt"
    notes.write_text("Pression 1,5 bar; purgé les radiateurs.\n")
    documents = page.locator(".uploads", has=page.locator("input[type=file]:not([accept])"))
    await documents.locator("input[type=file]").set_input_files(notes)
    await documents.get_by_role("button", name="Téléverser (1)").tap()
    document_item = documents.get_by_test_id("upload-item")
    await expect(document_item.get_by_role("alert")).to_have_text(
        "Ce type de fichier n\u2019est pas accepté. Sont acceptés les PDF, les images et les "
        "fichiers Office."
    )
    await page.screenshot(path=screenshots / "problems-fr-uploads.png")
    body = await page.locator("body").inner_text()
    assert not [words for words in ENGLISH if words in body], body

    # An address that looks right on the tablet but that the server refuses.
    await page.goto(f"/#/orders/{order.id}/compose/{template}")
    await page.get_by_label("Autre adresse e-mail").fill("regie@lausanne..example")
    await page.get_by_role("button", name="Continuer").tap()
    await expect(page.locator("#typed-address-error")).to_have_text(
        "« regie@lausanne..example » n\u2019est pas une adresse e-mail valable."
    )
    await page.screenshot(path=screenshots / "problems-fr-address.png")
    body = await page.locator("body").inner_text()
    assert not [words for words in ENGLISH if words in body], body
