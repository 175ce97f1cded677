"""A French dispatcher who runs into the server's refusals reads them in French: an order that
is not there, a photo that is no image, a document of a kind not accepted, an address the
server refuses. The server's English detail never reaches the screen."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.events.delivery import PAUSED_REASON
from organisatrice.events.tables import WebhookEndpoint
from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Company, Employee
from tests.client import ApiClient
from tests.e2e.flows import drain, send_email, signed_in
from tests.factories import make_company, make_employee, make_order, make_relay, make_template
from tests.smtp_relay import free_port

pytestmark = pytest.mark.e2e

ENGLISH = (
    "does not exist",
    "not visible to you",
    "not a readable image",
    "is not accepted",
    "is not valid",
    # The relay's and the webhooks' words as the server writes them.
    "could not be reached",
    "trying again",
    "nothing answers",
    "refused the connection",
    "could not be delivered",
    "Check the receiver",
    "The probe went out",
    "Not accepted yet",
    # A refused import row.
    "is not a date",
    "we know",
    "is also in row",
    "starts with",
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


async def test_what_the_relay_and_the_webhooks_said_reads_in_french(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    company = await make_company("Services Techniques Rochat SA")
    dispatcher = await make_employee(
        company, roles={Role.DISPATCHER}, first_name="Claire", last_name="Favre"
    )
    office = await make_employee(
        company, roles={Role.BACKOFFICE}, first_name="Luc", last_name="Rochat"
    )
    await Employee.update({Employee.locale: "fr"}).where(
        Employee.id.is_in([dispatcher.id, office.id])
    )
    # The relay is down: nothing answers on its port.
    await make_relay(company, free_port())
    order = await make_order(company, title="Détartrage chaudière", responsible=[dispatcher.id])
    template = await make_template(
        company, language="fr", name="Envoyer le rapport", subject="Rapport {{ order.number }}"
    )
    sent = await send_email(app, dispatcher.email, order.id, template, "regie@lausanne.example")
    await drain()
    async with ApiClient.signed_in(app, office.email) as api:
        hook = await api.post(
            "/api/webhooks",
            json={"url": "https://8.8.8.8/hooks", "event_types": ["email.bounced"]},
        )
        assert hook.status_code == 201, hook.text
    reason = PAUSED_REASON.format(event="evt_42", attempts=9, hours=48, error="HTTP 500")
    await WebhookEndpoint.update(
        {WebhookEndpoint.paused_at: datetime.now(UTC), WebhookEndpoint.paused_reason: reason}
    ).where(WebhookEndpoint.id == hook.json()["id"])

    # The dispatcher's email waits for the relay: its history says so in French.
    await signed_in(page, dispatcher.email, "Claire Favre")
    await page.goto(f"/#/mail/{sent['id']}")
    recipient = page.get_by_test_id("entry-recipient")
    await expect(recipient).to_contain_text(
        "Le relais n\u2019était pas joignable, nouvel essai plus tard. Rien ne répond sur ce port."
    )
    await page.screenshot(path=screenshots / "problems-fr-history.png")
    body = await page.locator("body").inner_text()
    assert not [words for words in ENGLISH if words in body], body

    # Back-office tests the relay, checks tracking and finds the paused webhook.
    await page.context.clear_cookies()
    await signed_in(page, office.email, "Luc Rochat")
    await page.goto("/#/admin/company")
    await page.get_by_test_id("relay-test").tap()
    finding = page.get_by_test_id("relay-finding").and_(
        page.locator('[data-code="connection_refused"]')
    )
    await expect(finding).to_contain_text("Rien ne répond sur ce port.")
    await page.get_by_test_id("tracking-verify").tap()
    await expect(page.get_by_test_id("tracking-state")).to_have_attribute("data-state", "failed")
    await expect(page.get_by_test_id("tracking-state")).to_contain_text(
        "Rien ne répond sur ce port."
    )
    await page.screenshot(path=screenshots / "problems-fr-relay.png", full_page=True)
    body = await page.locator("body").inner_text()
    assert not [words for words in ENGLISH if words in body], body

    await page.goto("/#/admin/webhooks")
    await expect(page.locator(".alert.warning").first).to_contain_text(
        "Événement evt_42 : 9 tentatives en 48 heures sans succès (dernière : HTTP 500)."
    )
    await page.screenshot(path=screenshots / "problems-fr-webhook.png")
    body = await page.locator("body").inner_text()
    assert not [words for words in ENGLISH if words in body], body

    # An import whose rows are refused: each row's reason in French.
    await page.goto("/#/admin/imports")
    await page.locator("#import-kind").select_option("client")
    rows = (
        "Référence;Raison sociale;Langue\n"
        "C-1;Régie du Lac SA;klingon\n"
        "C-1;Régie Bel-Air;fr\n"
        "C-2;=SOMME(A1);fr\n"
    )
    await page.set_input_files(
        "#import-file",
        files={"name": "clients.csv", "mimeType": "text/csv", "buffer": rows.encode()},
    )
    for n, field in enumerate(("external_id", "name", "language")):
        await page.locator(f"#col-{n}").select_option(field)
    await page.get_by_role("button", name="Vérifier (essai)").tap()
    run = page.get_by_test_id("import-run")
    await expect(page.get_by_test_id("import-error")).to_have_count(3)
    await expect(run).to_contain_text(
        "« klingon » n\u2019est pas une valeur pour « Langue » ; possible : de, fr, it, en."
    )
    await expect(run).to_contain_text(
        "L\u2019identifiant externe « C-1 » figure aussi à la ligne 2"
    )
    await expect(run).to_contain_text(
        "« Raison sociale » commence par « = » et serait exécuté comme formule"
    )
    await page.screenshot(path=screenshots / "problems-fr-import.png", full_page=True)
    body = await page.locator("body").inner_text()
    assert not [words for words in ENGLISH if words in body], body
