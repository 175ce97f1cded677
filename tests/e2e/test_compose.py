"""The core flow on a tablet: find the order, look at it, write the email in a few taps, see it
saved and previewed exactly as the client will get it."""

from __future__ import annotations

import email
import email.policy
import re
from email.message import EmailMessage
from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Locator, Page, expect

from organisatrice.mail.worker import run_batch
from organisatrice.roles.tables import Company
from tests.client import ApiClient
from tests.e2e.flows import drain, signed_in
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

SENTENCE = "Die Heizung läuft wieder, der Brenner ist neu eingestellt."


class Site:
    def __init__(
        self, company: int, dispatcher: MadeEmployee, order: MadeOrder, others: int
    ) -> None:
        self.company = company
        self.dispatcher = dispatcher
        self.order = order
        self.others = others


@pytest.fixture
async def site(app: Litestar) -> Site:
    """A company with a dispatcher, 28 orders, and one of them with work, photos, a document
    and a client contact; one work report template."""
    company = await make_company("Muster Haustechnik AG")
    await Company.update({Company.sender_address: "office@muster.example"}).where(
        Company.id == company
    )
    dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
    technician = await make_employee(company, first_name="Reto", last_name="Baumann")
    client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
    await make_contact(
        company,
        client_id=client,
        first_name="Silvia",
        last_name="Moser",
        salutation="ms",
        email="silvia.moser@client.example",
    )
    others = 27
    for n in range(others):
        await make_order(
            company,
            title=f"Wartung Lüftung {n + 1}",
            street=f"Seestrasse {n + 1}",
            status="planned" if n % 3 else "in_progress",
        )
    order = await make_order(
        company,
        client_id=client,
        title="Heizungsservice Gartenstrasse",
        number="2026-4711",
        street="Gartenstrasse 92",
        technician_id=technician.id,
    )
    await make_template(company, name="Arbeitsrapport senden")
    async with ApiClient.signed_in(app, dispatcher.email) as api:
        for caption, colour in (
            ("Brenner vorher", (200, 60, 40)),
            ("Brenner nachher", (40, 120, 200)),
        ):
            answer = await api.post(
                f"/api/orders/{order.id}/photos",
                files={
                    "file": ("photo.jpg", make_image(size=(640, 480), colour=colour), "image/jpeg")
                },
                data={"caption": caption},
            )
            assert answer.status_code == 201, answer.text
        answer = await api.post(
            f"/api/orders/{order.id}/documents",
            files={"file": ("Offerte 4711.pdf", make_pdf(), "application/pdf")},
            data={"kind": "offer"},
        )
        assert answer.status_code == 201, answer.text
    return Site(company, dispatcher, order, others)


async def test_dispatcher_finds_the_order_writes_and_previews_the_email(
    page: Page, app: Litestar, site: Site, screenshots: Path
) -> None:
    await signed_in(page, site.dispatcher.email, "Daniel Brunner")
    await expect(page.get_by_test_id("company-name")).to_have_text("Muster Haustechnik AG")

    # The list: 28 orders, 25 on the first page, status chips to filter.
    await expect(page.get_by_test_id("order-range")).to_have_text("1–25 von 28")
    await expect(page.locator("ul.list > li")).to_have_count(25)
    await page.screenshot(path=screenshots / "orders.png")
    await page.get_by_role("button", name="In Arbeit").tap()
    await expect(page.get_by_test_id("order-range")).to_have_text("1–9 von 9")
    await page.get_by_role("button", name="Alle").tap()
    await expect(page.get_by_test_id("order-range")).to_have_text("1–25 von 28")

    # Touch targets: every button and chip is at least 44 px tall.
    heights = await page.locator("button:visible").evaluate_all(
        "buttons => buttons.map(b => b.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 44, heights

    # Search by number, open the order.
    await page.get_by_role("searchbox").fill("4711")
    await expect(page.get_by_test_id("order-range")).to_have_text("1–1 von 1")
    await page.get_by_role("link", name=re.compile("2026-4711")).tap()
    await expect(page.get_by_role("heading", name="Heizungsservice Gartenstrasse")).to_be_visible()
    await expect(page.get_by_text("silvia.moser@client.example").first).to_be_visible()
    await expect(page.get_by_test_id("total-hours")).to_have_text("2.5")
    await expect(page.get_by_role("link", name=re.compile("Offerte 4711.pdf"))).to_be_visible()

    # The photos as thumbnails that really loaded; a tap shows the full image.
    thumbnails = page.get_by_test_id("photo-grid").locator("img")
    await expect(thumbnails).to_have_count(2)
    await expect(thumbnails.first).to_have_attribute("src", re.compile(r"/thumbnail$"))
    await page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=photo-grid] img')]"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    await thumbnails.first.tap()
    full = page.locator("dialog.lightbox img")
    await expect(full).to_have_attribute("src", re.compile(r"/image$"))
    await expect(page.locator("dialog.lightbox")).to_contain_text("Brenner vorher")
    await page.locator("dialog.lightbox").get_by_role("button", name="Schliessen").tap()
    await expect(page.locator("dialog.lightbox")).not_to_be_visible()
    await page.evaluate("window.scrollTo(0, 0)")
    await page.screenshot(path=screenshots / "order.png", full_page=True)

    # Write: one tap on the template; the order's only contact is who it goes to.
    await page.get_by_role("link", name=re.compile("Arbeitsrapport senden")).tap()

    free_text = page.get_by_label("Ihr Text")
    await expect(free_text).to_be_focused()
    await expect(free_text).to_have_value("")
    await expect(page.get_by_label("Anrede")).to_have_value(re.compile("Moser"))
    await expect(page.get_by_label("Betreff")).to_have_value("Arbeitsrapport 2026-4711")
    await expect(page.get_by_test_id("recipients-to")).to_contain_text(
        "silvia.moser@client.example"
    )
    await page.keyboard.type(SENTENCE)
    await expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
    await page.screenshot(path=screenshots / "compose.png")

    # Saved on the server, as the draft's free text.
    match = re.search(r"/orders/(\d+)/drafts/(\d+)$", page.url)
    assert match, page.url
    draft_url = f"/api/orders/{match[1]}/drafts/{match[2]}"
    async with ApiClient.signed_in(app, site.dispatcher.email) as api:
        draft = (await api.get(draft_url)).json()
    assert draft["blocks"]["free_text"] == SENTENCE

    # A copy to a typed address; a mistyped one is refused before anything is saved.
    await page.get_by_role("button", name="Empfänger in «Cc» hinzufügen").tap()
    cc_address = page.get_by_placeholder("E-Mail-Adresse")
    await cc_address.fill("kein-at-zeichen")
    await page.get_by_role("button", name="Hinzufügen", exact=True).tap()
    await expect(page.get_by_role("alert")).to_have_text("Das ist keine gültige E-Mail-Adresse.")
    await cc_address.fill("buchhaltung@lindenhof.example")
    await page.get_by_role("button", name="Hinzufügen", exact=True).tap()
    await expect(page.get_by_test_id("recipients-cc")).to_contain_text(
        "buchhaltung@lindenhof.example"
    )
    await expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
    async with ApiClient.signed_in(app, site.dispatcher.email) as api:
        draft = (await api.get(draft_url)).json()
    assert [r["email"] for r in draft["recipients"]["cc"]] == ["buchhaltung@lindenhof.example"]

    # The attachment's name is editable, its extension is not.
    attachment = page.get_by_test_id("attachment").first
    await expect(attachment.get_by_test_id("extension")).to_have_text(".pdf")
    await attachment.get_by_role("textbox").fill("Rapport Heizung 4711")
    await expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
    async with ApiClient.signed_in(app, site.dispatcher.email) as api:
        draft = (await api.get(draft_url)).json()
    assert [a["filename"] for a in draft["attachments"]] == ["Rapport Heizung 4711.pdf"]
    await attachment.evaluate("e => e.scrollIntoView({block: 'center'})")
    await page.screenshot(path=screenshots / "compose-attachments.png")

    # It survives a reload.
    await page.reload()
    await expect(page.get_by_label("Ihr Text")).to_have_value(SENTENCE)
    await expect(page.get_by_test_id("attachment").first.get_by_role("textbox")).to_have_value(
        "Rapport Heizung 4711"
    )

    # The preview: the sentence in the sandboxed HTML, the attachment with its size.
    await page.get_by_role("button", name="Vorschau").tap()
    frame = page.locator("iframe.mail")
    await expect(frame).to_have_attribute("sandbox", "")
    await expect(page.frame_locator("iframe.mail").locator("body")).to_contain_text(SENTENCE)
    dialog = page.get_by_role("dialog", name="Vorschau")
    await expect(dialog).to_contain_text("Rapport Heizung 4711.pdf")
    await expect(dialog).to_contain_text(re.compile(r"Grösse total [\d.]+ kB von"))
    await dialog.get_by_text("Textfassung").tap()
    await expect(page.get_by_test_id("preview-text")).to_contain_text(SENTENCE)
    await page.screenshot(path=screenshots / "preview.png")
    await dialog.get_by_role("button", name="Schliessen").tap()

    # Send asks first, listing recipients and attachments.
    await page.get_by_role("button", name="Senden", exact=True).tap()
    confirm = page.get_by_role("dialog", name="E-Mail jetzt senden?")
    await expect(confirm).to_contain_text("silvia.moser@client.example")
    await expect(confirm).to_contain_text("Rapport Heizung 4711.pdf")
    await confirm.get_by_role("button", name="Abbrechen").tap()
    await expect(confirm).not_to_be_visible()


async def test_a_change_made_elsewhere_asks_for_a_reload(
    page: Page, app: Litestar, site: Site
) -> None:
    await signed_in(page, site.dispatcher.email, "Daniel Brunner")
    await page.goto(f"/#/orders/{site.order.id}")
    await page.get_by_role("link", name=re.compile("Arbeitsrapport senden")).tap()
    await expect(page.get_by_label("Ihr Text")).to_be_focused()

    # Another device saves the draft meanwhile.
    match = re.search(r"/orders/(\d+)/drafts/(\d+)$", page.url)
    assert match, page.url
    draft_url = f"/api/orders/{match[1]}/drafts/{match[2]}"
    async with ApiClient.signed_in(app, site.dispatcher.email) as api:
        draft = (await api.get(draft_url)).json()
        blocks = {**draft["blocks"], "free_text": "Vom Telefon aus."}
        answer = await api.patch(draft_url, json={"version": draft["version"], "blocks": blocks})
        assert answer.status_code == 200, answer.text

    await page.keyboard.type("Vom Tablet aus.")
    await expect(page.get_by_test_id("conflict")).to_be_visible()
    await page.get_by_test_id("conflict").get_by_role("button", name="Neu laden").tap()
    await expect(page.get_by_label("Ihr Text")).to_have_value("Vom Telefon aus.")


async def test_dispatcher_sends_the_work_report_and_sees_it_sent(
    page: Page, site: Site, screenshots: Path
) -> None:
    with smtp_relay() as (relay, port):
        await make_relay(site.company, port)
        await signed_in(page, site.dispatcher.email, "Daniel Brunner")
        await page.goto(f"/#/orders/{site.order.id}")
        await expect(page.get_by_test_id("sent-emails")).to_contain_text(
            "noch keine E-Mail gesendet"
        )
        await page.get_by_role("link", name=re.compile("Arbeitsrapport senden")).tap()
        await expect(page.get_by_label("Ihr Text")).to_be_focused()
        await page.keyboard.type(SENTENCE)

        await page.get_by_role("button", name="Senden", exact=True).tap()
        confirm = page.get_by_role("dialog", name="E-Mail jetzt senden?")
        await expect(confirm).to_contain_text("silvia.moser@client.example")
        await confirm.get_by_role("button", name="Jetzt senden").tap()

        # Back on the order: the email is listed as queued ...
        await expect(page.get_by_role("status")).to_contain_text("Arbeitsrapport 2026-4711")
        sent = page.get_by_test_id("sent-emails")
        await expect(sent).to_contain_text("Arbeitsrapport 2026-4711")
        badge = sent.locator("[data-status]")
        await expect(badge).to_have_attribute("data-status", "queued")

        # ... and once the worker (run here, round by round, as the suite does) delivered it
        # to the relay, it shows "sent" without a reload.
        while await run_batch("e2e-worker"):
            pass
        await expect(badge).to_have_attribute("data-status", "sent")
        await expect(badge).to_have_text("gesendet")
        await page.screenshot(path=screenshots / "order-sent.png")

        # The relay got it, with the sentence typed on the tablet.
        assert len(relay.received) == 1
        message = relay.received[0]
        assert message.rcpt_tos == ["silvia.moser@client.example"]
        parsed = email.message_from_bytes(message.data, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        body = parsed.get_body(preferencelist=("plain",))
        assert body is not None and SENTENCE in body.get_content()
        assert parsed["Subject"] == "Arbeitsrapport 2026-4711"


async def test_the_work_report_to_the_orders_only_contact_goes_in_three_taps(
    page: Page, site: Site
) -> None:
    """Issue 19: from the order, a tap on the work report's card, one on "Senden" and one to
    confirm; the order's only contact is chosen already."""
    taps: list[str] = []

    async def tap(control: Locator, what: str) -> None:
        await expect(control).to_be_visible()
        await control.tap()
        taps.append(what)

    with smtp_relay() as (relay, port):
        await make_relay(site.company, port)
        await signed_in(page, site.dispatcher.email, "Daniel Brunner")
        await page.goto(f"/#/orders/{site.order.id}")
        await expect(
            page.get_by_role("heading", name="Heizungsservice Gartenstrasse")
        ).to_be_visible()

        await tap(page.get_by_role("link", name=re.compile("Arbeitsrapport senden")), "template")
        await expect(page.get_by_test_id("recipients-to")).to_contain_text(
            "silvia.moser@client.example"
        )
        await tap(page.get_by_role("button", name="Senden", exact=True), "send")
        confirm = page.get_by_role("dialog", name="E-Mail jetzt senden?")
        await tap(confirm.get_by_role("button", name="Jetzt senden"), "confirm")
        await expect(page.get_by_role("status")).to_contain_text("Arbeitsrapport 2026-4711")
        assert taps == ["template", "send", "confirm"]

        await drain()
        [arrived] = relay.received
        assert arrived.rcpt_tos == ["silvia.moser@client.example"]
        message = email.message_from_bytes(arrived.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        assert message["Subject"] == "Arbeitsrapport 2026-4711"
        [report] = message.iter_attachments()
        assert report.get_content_type() == "application/pdf"


async def test_with_several_contacts_the_dispatcher_chooses_who_gets_it(
    page: Page, app: Litestar, site: Site, screenshots: Path
) -> None:
    await make_contact(
        site.company,
        building_id=site.order.building_ids[0],
        first_name="Marco",
        last_name="Keller",
        salutation="mr",
        email="marco.keller@regie.example",
    )
    await signed_in(page, site.dispatcher.email, "Daniel Brunner")
    await page.goto(f"/#/orders/{site.order.id}")
    await page.get_by_role("link", name=re.compile("Arbeitsrapport senden")).tap()
    await expect(page.get_by_role("heading", name="An wen geht die E-Mail?")).to_be_visible()
    await expect(page.get_by_role("button", name=re.compile("Silvia Moser"))).to_be_visible()
    await page.screenshot(path=screenshots / "compose-recipient.png")
    # Nothing is made before the choice.
    async with ApiClient.signed_in(app, site.dispatcher.email) as api:
        assert (await api.get(f"/api/orders/{site.order.id}/drafts")).json() == []

    await page.get_by_role("button", name=re.compile("Marco Keller")).tap()
    await expect(page.get_by_test_id("recipients-to")).to_contain_text("marco.keller@regie.example")
    await expect(page.get_by_label("Anrede")).to_have_value(re.compile("Keller"))


async def test_the_templates_card_goes_on_with_its_saved_draft(
    page: Page, app: Litestar, site: Site
) -> None:
    await signed_in(page, site.dispatcher.email, "Daniel Brunner")
    await page.goto(f"/#/orders/{site.order.id}")
    card = page.get_by_role("link", name=re.compile("Arbeitsrapport senden"))
    await expect(card.get_by_test_id("resume-draft")).to_have_count(0)
    await card.tap()
    await expect(page.get_by_label("Ihr Text")).to_be_focused()
    await page.keyboard.type(SENTENCE)
    await expect(page.get_by_test_id("save-state")).to_have_attribute("data-state", "saved")
    draft_address = page.url

    # Back on the order, the same card leads to that draft, as it was left.
    await page.get_by_role("link", name=re.compile("2026-4711")).first.tap()
    await expect(card.get_by_test_id("resume-draft")).to_have_text("Weiterschreiben")
    await card.tap()
    await expect(page.get_by_label("Ihr Text")).to_have_value(SENTENCE)
    assert page.url == draft_address
    async with ApiClient.signed_in(app, site.dispatcher.email) as api:
        drafts = (await api.get(f"/api/orders/{site.order.id}/drafts")).json()
    assert len(drafts) == 1
