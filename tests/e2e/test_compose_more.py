"""More of writing on the tablet: photo documentation (tap to choose, reorder, name, as images
or one PDF), photos uploaded with a caption and their progress, "send me a test", and the
warning before sending the same document twice."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar
from playwright.async_api import Page, Route, expect

from organisatrice.orders.tables import Contact, Order
from tests.client import ApiClient
from tests.e2e.flows import drain, no_horizontal_scroll, send_email, signed_in
from tests.factories import (
    MadeEmployee,
    MadeOrder,
    make_client,
    make_company,
    make_contact,
    make_employee,
    make_image,
    make_order,
    make_pdf,
    make_relay,
    make_template,
)
from tests.smtp_relay import smtp_relay

pytestmark = pytest.mark.e2e

SILVIA = "silvia.moser@lindenhof.example"
CAPTIONS = ("Brenner vorher", "Brenner nachher", "Typenschild")


class Site:
    def __init__(self, company: int, dispatcher: MadeEmployee, order: MadeOrder) -> None:
        self.company = company
        self.dispatcher = dispatcher
        self.order = order
        self.photo_ids: list[int] = []


async def site(app: Litestar, port: int) -> Site:
    company = await make_company("Muster Haustechnik AG")
    await make_relay(company, port)
    dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
    client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
    await make_contact(
        company, client_id=client, first_name="Silvia", last_name="Moser", email=SILVIA
    )
    order = await make_order(company, client_id=client, number="2026-4711", title="Heizungsservice")
    made = Site(company, dispatcher, order)
    async with ApiClient.signed_in(app, dispatcher.email) as api:
        for caption, colour in zip(
            CAPTIONS, ((200, 60, 40), (40, 120, 200), (60, 160, 80)), strict=True
        ):
            answer = await api.post(
                f"/api/orders/{order.id}/photos",
                files={
                    "file": ("photo.jpg", make_image(size=(640, 480), colour=colour), "image/jpeg")
                },
                data={"caption": caption},
            )
            assert answer.status_code == 201, answer.text
            made.photo_ids.append(answer.json()["id"])
        answer = await api.post(
            f"/api/orders/{order.id}/documents",
            files={"file": ("Offerte 4711.pdf", make_pdf(), "application/pdf")},
            data={"kind": "offer"},
        )
        assert answer.status_code == 201, answer.text
    return made


async def draft_of(app: Litestar, page: Page, who: str) -> dict[str, Any]:
    match = re.search(r"/orders/(\d+)/drafts/(\d+)$", page.url)
    assert match, page.url
    async with ApiClient.signed_in(app, who) as api:
        answer: dict[str, Any] = (await api.get(f"/api/orders/{match[1]}/drafts/{match[2]}")).json()
        return answer


async def test_dispatcher_chooses_orders_and_names_the_photos(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (_relay, port):
        setup = await site(app, port)
    first, second, third = setup.photo_ids
    await make_template(
        setup.company,
        kind="photo_documentation",
        name="Fotodokumentation senden",
        subject="Fotos {{ order.number }}",
        attachments=["photos"],
    )
    await signed_in(page, setup.dispatcher.email, "Daniel Brunner")
    await page.goto(f"/#/orders/{setup.order.id}")
    await page.get_by_role("link", name=re.compile("Fotodokumentation senden")).tap()
    await expect(page.get_by_label("Ihr Text")).to_be_focused()

    # The template proposes every photo, in the order's order.
    picker = page.get_by_test_id("photo-picker")
    chosen = page.get_by_test_id("chosen-photo")
    await expect(chosen).to_have_count(3)
    await expect(picker).to_contain_text("3 von 3 gewählt")

    # A tap takes one out; its number goes, the others close up.
    await picker.get_by_role("button", name="Foto «Brenner nachher»").tap()
    await expect(picker.get_by_role("button", name="Foto «Brenner nachher»")).to_have_attribute(
        "aria-pressed", "false"
    )
    await expect(chosen).to_have_count(2)
    # The type plate first, and a name of one's own for the first photo.
    await picker.get_by_role("button", name="Foto 2 nach vorne").tap()
    await expect(chosen.first).to_contain_text("1")
    await picker.get_by_label("Dateiname von Foto 2").fill("Brenner alt")
    await expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
    draft = await draft_of(app, page, setup.dispatcher.email)
    photos = [a for a in draft["attachments"] if a["kind"] == "photo"]
    assert [a["photo_ids"] for a in photos] == [[third], [first]]
    assert photos[1]["filename"].startswith("Brenner alt")
    await picker.scroll_into_view_if_needed()
    await page.screenshot(path=screenshots / "compose-photos.png")

    # As one PDF with captions, in the same order; and the one taken out comes back last.
    await picker.get_by_role("radio", name="Ein PDF mit Legenden").tap()
    await picker.get_by_role("button", name="Foto «Brenner nachher»").tap()
    await expect(chosen).to_have_count(3)
    await expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
    draft = await draft_of(app, page, setup.dispatcher.email)
    [pdf] = [a for a in draft["attachments"] if a["kind"] == "photos_pdf"]
    assert pdf["photo_ids"] == [third, first, second]
    assert pdf["filename"].endswith(".pdf")
    assert not [a for a in draft["attachments"] if a["kind"] == "photo"]

    # The preview lists the one PDF.
    await page.get_by_role("button", name="Vorschau").tap()
    dialog = page.get_by_role("dialog", name="Vorschau")
    await expect(dialog).to_contain_text(pdf["filename"])


async def test_photos_upload_with_their_caption_and_progress(
    page: Page, app: Litestar, screenshots: Path, tmp_path: Path
) -> None:
    with smtp_relay() as (_relay, port):
        setup = await site(app, port)
    await signed_in(page, setup.dispatcher.email, "Daniel Brunner")
    await page.goto(f"/#/orders/{setup.order.id}")
    grid = page.get_by_test_id("photo-grid").locator("img")
    await expect(grid).to_have_count(3)

    photo = tmp_path / "boiler.jpg"
    photo.write_bytes(make_image(size=(800, 600), colour=(90, 90, 200)))
    await page.locator("input[type=file][accept^='image/'][multiple]").set_input_files(photo)
    item = page.get_by_test_id("upload-item")
    await expect(item).to_contain_text("boiler.jpg")
    await item.get_by_label("Bildlegende für boiler.jpg").fill("Boiler entkalkt")
    await item.scroll_into_view_if_needed()
    await page.screenshot(path=screenshots / "upload.png")
    await page.get_by_role("button", name="Hochladen (1)").tap()
    await expect(item).to_contain_text("Hochgeladen")
    full = await item.locator("progress").evaluate("p => [p.value, p.max]")
    assert full[0] == full[1] > photo.stat().st_size, full
    await expect(grid).to_have_count(4)
    await expect(page.get_by_test_id("photo-grid")).to_contain_text("Boiler entkalkt")
    # A file that is no photo is refused in the server's words and stays to be removed.
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"not an image at all")
    await page.locator("input[type=file][accept^='image/'][multiple]").set_input_files(bad)
    await page.get_by_role("button", name="Hochladen (1)").tap()
    await expect(page.get_by_test_id("upload-item").get_by_role("alert")).not_to_be_empty()
    await expect(grid).to_have_count(4)


async def test_a_photo_upload_survives_a_dropped_connection_and_arrives_once(
    page: Page, app: Litestar, screenshots: Path, tmp_path: Path
) -> None:
    with smtp_relay() as (_relay, port):
        setup = await site(app, port)
    await signed_in(page, setup.dispatcher.email, "Daniel Brunner")
    await page.goto(f"/#/orders/{setup.order.id}")
    grid = page.get_by_test_id("photo-grid").locator("img")
    await expect(grid).to_have_count(3)

    # The first attempt reaches the server, which adds the photo, but the connection drops
    # before the answer is back: the tablet cannot know the photo is there.
    attempts: list[str] = []

    async def drop_the_first_answer(route: Route) -> None:
        attempts.append(route.request.method)
        if len(attempts) > 1:
            await route.continue_()
            return
        await route.fetch()
        await route.abort("connectionreset")

    await page.route(f"**/api/orders/{setup.order.id}/photos", drop_the_first_answer)
    # Straight from the tablet's camera (here the test hands the camera's picture over).
    camera = page.get_by_test_id("camera-input")
    assert await camera.get_attribute("capture") == "environment"
    assert await camera.get_attribute("accept") == "image/*"
    await expect(page.locator("label", has_text="Foto aufnehmen")).to_be_visible()
    photo = tmp_path / "IMG_0815.jpg"
    photo.write_bytes(make_image(size=(800, 600), colour=(30, 160, 90)))
    await camera.set_input_files(photo)
    item = page.get_by_test_id("upload-item")
    await item.get_by_label("Bildlegende für IMG_0815.jpg").fill("Zähler nachher")
    await page.get_by_role("button", name="Hochladen (1)").tap()
    state = item.get_by_test_id("upload-state")
    await expect(state).to_have_attribute("data-state", "reconnecting")
    await expect(state).to_contain_text("Verbindung unterbrochen")
    await page.screenshot(path=screenshots / "upload-reconnecting.png")
    await expect(state).to_have_text("Hochgeladen", timeout=10_000)
    assert attempts == ["POST", "POST"]

    # Once on the order, not twice.
    await expect(grid).to_have_count(4)
    async with ApiClient.signed_in(app, setup.dispatcher.email) as api:
        photos = (await api.get(f"/api/orders/{setup.order.id}")).json()["photos"]
    assert [p["caption"] for p in photos].count("Zähler nachher") == 1

    # Both ways to add photos fit a phone and a tablet held across.
    for device, size in (("phone", (390, 844)), ("landscape", (1024, 768))):
        await page.set_viewport_size({"width": size[0], "height": size[1]})
        await page.locator("label", has_text="Foto aufnehmen").scroll_into_view_if_needed()
        await no_horizontal_scroll(page)
        await page.screenshot(path=screenshots / f"upload-buttons-{device}.png")


async def test_a_test_to_oneself_and_the_warning_before_sending_the_same_document_again(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        setup = await site(app, port)
        template = await make_template(
            setup.company,
            kind="offer",
            name="Offerte senden",
            subject="Offerte {{ order.number }}",
            attachments=["documents"],
        )
        await send_email(app, setup.dispatcher.email, setup.order.id, template, SILVIA)
        await drain()
        assert len(relay.received) == 1

        await signed_in(page, setup.dispatcher.email, "Daniel Brunner")
        await page.goto(f"/#/orders/{setup.order.id}")
        await page.get_by_role("link", name=re.compile("Offerte senden")).tap()
        await expect(page.get_by_label("Ihr Text")).to_be_focused()
        await page.keyboard.type("Die Offerte noch einmal, wie besprochen.")

        # Send me a test: to the dispatcher only; the draft stays.
        await page.get_by_test_id("proof").tap()
        await expect(page.get_by_role("status").filter(has_text="ist unterwegs")).to_contain_text(
            setup.dispatcher.email
        )
        await drain()
        assert len(relay.received) == 2
        proof = relay.received[1]
        assert proof.rcpt_tos == [setup.dispatcher.email]
        message = email.message_from_bytes(proof.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        body = message.get_body(preferencelist=("plain",))
        assert body is not None and "wie besprochen" in body.get_content()

        # Send: the same offer went to Silvia minutes ago, and the dialog says so first.
        await page.get_by_role("button", name="Senden", exact=True).tap()
        confirm = page.get_by_role("dialog", name="E-Mail jetzt senden?")
        warning = confirm.get_by_test_id("send-warnings")
        await expect(warning).to_contain_text(f"The same document was sent to {SILVIA}")
        await expect(confirm.get_by_role("button", name="Trotzdem senden")).to_be_enabled()
        await expect(confirm).to_contain_text("Offerte 4711.pdf")
        await page.screenshot(path=screenshots / "send-warning.png")
        await confirm.get_by_role("button", name="Abbrechen").tap()
        await expect(confirm).not_to_be_visible()
        assert len(relay.received) == 2


async def test_a_photo_documentation_cannot_be_started_on_an_order_without_photos(
    page: Page, app: Litestar
) -> None:
    with smtp_relay() as (_relay, port):
        setup = await site(app, port)
    bare = await make_order(setup.company, number="2026-4712", title="Boilerentkalkung")
    await make_template(
        setup.company,
        kind="photo_documentation",
        name="Fotodokumentation senden",
        subject="Fotos {{ order.number }}",
        attachments=["photos"],
    )
    await signed_in(page, setup.dispatcher.email, "Daniel Brunner")
    await page.goto(f"/#/orders/{bare.id}")
    card = page.locator(".template", has_text="Fotodokumentation senden")
    await expect(card).to_have_attribute("aria-disabled", "true")
    await expect(card).to_contain_text("Dieser Auftrag hat keine Fotos.")
    await expect(
        page.get_by_role("link", name=re.compile("Fotodokumentation senden"))
    ).to_have_count(0)
    # On the order with photos the same template starts an email.
    await page.goto(f"/#/orders/{setup.order.id}")
    await expect(
        page.get_by_role("link", name=re.compile("Fotodokumentation senden"))
    ).to_be_visible()


async def test_the_greeting_addresses_everyone_added_to_to(page: Page, app: Litestar) -> None:
    with smtp_relay() as (_relay, port):
        setup = await site(app, port)
    await make_contact(
        setup.company,
        client_id=setup.order.client_id,
        first_name="Peter",
        last_name="Huber",
        salutation="mr",
        email="peter.huber@lindenhof.example",
    )
    template = await make_template(setup.company, name="Arbeitsrapport senden")
    async with ApiClient.signed_in(app, setup.dispatcher.email) as api:
        draft = await api.post(
            f"/api/orders/{setup.order.id}/drafts",
            json={"template_id": template, "address": SILVIA},
        )
        assert draft.status_code == 201, draft.text
    await signed_in(page, setup.dispatcher.email, "Daniel Brunner")
    await page.goto(f"/#/orders/{setup.order.id}/drafts/{draft.json()['id']}")
    greeting = page.get_by_label("Anrede")
    await expect(greeting).to_have_value("Sehr geehrte Damen und Herren,")
    await page.get_by_role("button", name="Empfänger in «An» hinzufügen").tap()
    await page.get_by_role("button", name=re.compile("Peter Huber")).tap()
    await expect(page.get_by_test_id("recipients-to")).to_contain_text("Peter Huber")
    # A typed address and a named contact: greeted together, nobody singled out.
    await expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
    await expect(greeting).to_have_value("Sehr geehrte Damen und Herren,")
    await page.get_by_role("button", name=f"{SILVIA} entfernen").tap()
    await expect(greeting).to_have_value("Sehr geehrter Herr Huber,")
    await page.get_by_role("button", name="Empfänger in «An» hinzufügen").tap()
    await page.get_by_role("button", name=re.compile("Silvia Moser")).tap()
    await expect(greeting).to_have_value("Sehr geehrter Herr Huber, sehr geehrte Frau Moser,")
    # Written by hand, the greeting stays whoever is added.
    await greeting.fill("Liebe Frau Moser, lieber Herr Huber,")
    await page.get_by_role("button", name="Peter Huber entfernen").tap()
    await expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
    await expect(greeting).to_have_value("Liebe Frau Moser, lieber Herr Huber,")


async def test_the_order_and_its_draft_read_right(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        setup = await site(app, port)
        await make_template(setup.company, name="Arbeitsrapport senden")
        client = (await Order.select(Order.client).where(Order.id == setup.order.id).first())[
            "client"
        ]
        owner = await make_contact(
            setup.company,
            client_id=client,
            first_name="Urs",
            last_name="Brunner",
            salutation="mr",
            email="urs.brunner@lindenhof.example",
        )
        caretaker = await make_contact(
            setup.company,
            client_id=client,
            first_name="",
            last_name="",
            salutation="none",
            email="hauswart@lindenhof.example",
        )
        await Contact.update({Contact.function: "Eigentümer"}).where(Contact.id == owner)
        await Contact.update({Contact.function: "Hauswartung"}).where(Contact.id == caretaker)
        planned = await make_order(
            setup.company, client_id=client, number="2026-4799", title="Boiler", status="planned"
        )
        await signed_in(page, setup.dispatcher.email, "Daniel Brunner")

        # Name and function apart; a contact without a name goes by its function.
        await page.goto(f"/#/orders/{setup.order.id}")
        contacts = page.locator("section[aria-labelledby=contacts-title] li")
        await expect(contacts.filter(has_text="urs.brunner")).to_contain_text(
            "Urs Brunner · Eigentümer"
        )
        nameless = contacts.filter(has_text="hauswart@")
        await expect(nameless.locator("strong")).to_have_text("Hauswartung")
        await expect(nameless).not_to_contain_text("·")

        # No work report before the work: the card says why.
        await page.goto(f"/#/orders/{planned.id}")
        card = page.locator(".template", has_text="Arbeitsrapport senden")
        await expect(card).to_have_attribute("aria-disabled", "true")
        await expect(card.get_by_test_id("template-blocked")).to_contain_text(
            "Noch geplant: noch keine Arbeit zu rapportieren."
        )

        # The preview goes straight on to sending.
        await page.goto(f"/#/orders/{setup.order.id}")
        await page.get_by_role("link", name=re.compile("Arbeitsrapport senden")).tap()
        await page.get_by_role("button", name=re.compile("Silvia Moser")).tap()
        await expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
        await page.get_by_role("button", name="Vorschau").tap()
        preview = page.get_by_role("dialog", name="Vorschau")
        await expect(preview.get_by_test_id("preview-headers")).to_be_visible()
        await preview.get_by_role("button", name="Senden", exact=True).tap()
        await expect(preview).to_be_hidden()
        send = page.get_by_role("dialog", name=re.compile("senden", re.IGNORECASE))
        await expect(send).to_be_visible()
        await send.get_by_role("button", name="Abbrechen").tap()

        # Discarding asks in the app's own dialog, naming the draft; no browser box.
        page.on("dialog", lambda d: pytest.fail(f"a browser dialog opened: {d.message}"))
        draft = await draft_of(app, page, setup.dispatcher.email)
        await page.get_by_role("button", name="Entwurf verwerfen").tap()
        confirm = page.get_by_role("dialog", name="Entwurf verwerfen")
        await expect(confirm).to_contain_text(
            f"«{draft['blocks']['subject']}» wird endgültig gelöscht"
        )
        await page.screenshot(path=screenshots / "draft-discard.png")
        await confirm.get_by_role("button", name="Entwurf verwerfen").tap()
        await expect(page).to_have_url(re.compile(rf"#/orders/{setup.order.id}$"))
        async with ApiClient.signed_in(app, setup.dispatcher.email) as api:
            drafts = (await api.get(f"/api/orders/{setup.order.id}/drafts")).json()
        assert drafts == []
    assert relay.received == []
