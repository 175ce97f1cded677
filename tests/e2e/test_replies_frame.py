"""A client's answer in HTML, on the tablet: shown as sent in a sandboxed frame where its script
does not run and its remote picture (on a loopback server that counts requests) does not load
until the reader taps "show images"; the receiving MX's SPF/DKIM/DMARC verdicts beside it, and
its attachment downloads."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from litestar import Litestar
from playwright.async_api import Page, expect

from organisatrice.mail.replies import record_reply
from organisatrice.mail.tables import SentEmail
from organisatrice.roles.policy import Role
from tests.e2e.flows import send_email, signed_in
from tests.factories import (
    make_client,
    make_company,
    make_contact,
    make_employee,
    make_order,
    make_pdf,
    make_relay,
    make_template,
)

pytestmark = pytest.mark.e2e

CLIENT = "silvia.moser@lindenhof.example"
# A 1×1 transparent GIF.
PIXEL = bytes.fromhex(
    "47494638396101000100800000000000ffffff21f90401000000002c00000000010001000002024401003b"
)


@contextmanager
def counting_server() -> Iterator[tuple[str, list[str]]]:
    """An HTTP server on loopback that answers every GET with a pixel and records its path."""
    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "image/gif")
            self.send_header("Content-Length", str(len(PIXEL)))
            self.end_headers()
            self.wfile.write(PIXEL)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hits
    finally:
        server.shutdown()
        server.server_close()


def _hostile(base: str) -> bytes:
    message = EmailMessage()
    message["Authentication-Results"] = (
        "mx.muster.example; spf=pass smtp.mailfrom=lindenhof.example; "
        "dkim=fail header.d=lindenhof.example; dmarc=pass header.from=lindenhof.example"
    )
    message["From"] = f"Silvia Moser <{CLIENT}>"
    message["Subject"] = "Re: Offerte"
    message.set_content("Einverstanden, mit Plan.")
    message.add_alternative(
        "<p>Einverstanden, <b>mit Plan</b>.</p>"
        f'<script>new Image().src = "{base}/script-ran"; top.replyRan = true</script>'
        f'<img src="{base}/tracker.gif" alt="Plan" onload="top.replyRan = true">',
        subtype="html",
    )
    message.add_attachment(make_pdf(), maintype="application", subtype="pdf", filename="Plan.pdf")
    return message.as_bytes()


async def test_an_html_answer_runs_nothing_and_loads_remote_images_only_when_asked(
    page: Page, app: Litestar, screenshots: Path
) -> None:
    company = await make_company("Muster Haustechnik AG")
    await make_relay(company, 9)
    dispatcher = await make_employee(company, first_name="Daniel", last_name="Brunner")
    coordinator = await make_employee(
        company, roles={Role.COORDINATOR}, first_name="Rita", last_name="Keller"
    )
    client = await make_client(company, "Wohnbaugenossenschaft Lindenhof")
    await make_contact(
        company, client_id=client, first_name="Silvia", last_name="Moser", email=CLIENT
    )
    order = await make_order(company, client_id=client, number="2026-4712")
    template = await make_template(company)
    sent = await send_email(app, dispatcher.email, order.id, template, CLIENT)
    row = await SentEmail.select(SentEmail.token).where(SentEmail.id == sent["id"]).first()
    assert row is not None
    with counting_server() as (base, hits):
        await record_reply(row["token"], CLIENT, _hostile(base))

        await signed_in(page, coordinator.email, "Rita Keller")
        await page.goto(f"/#/orders/{order.id}")
        reply = page.get_by_test_id("conversation").get_by_test_id("reply")
        checks = reply.get_by_test_id("reply-checks")
        await expect(checks).to_contain_text("SPF bestanden")
        await expect(checks).to_contain_text("DKIM fehlgeschlagen")
        await expect(checks).to_contain_text("DMARC bestanden")

        await reply.get_by_text("So anzeigen, wie die Kundschaft sie gesendet hat").click()
        frame = page.frame_locator("[data-testid=reply-html]")
        await expect(frame.locator("b")).to_have_text("mit Plan")
        await expect(reply).to_contain_text("Bilder aus dem Internet sind blockiert")
        # Time for a picture or a script to reach the server, had either been let through.
        await page.wait_for_timeout(700)
        assert hits == []
        assert await page.evaluate("window.replyRan === undefined")

        await reply.get_by_test_id("reply-show-images").click()
        await expect(frame.locator("b")).to_have_text("mit Plan")
        await expect(frame.get_by_alt_text("Plan")).to_have_js_property("naturalWidth", 1)
        await expect(reply.get_by_test_id("reply-show-images")).to_be_hidden()
        await page.screenshot(path=str(screenshots / "order-reply-html-768.png"), full_page=True)
        # The picture loaded; the script still did not run.
        assert hits == ["/tracker.gif"]
        assert await page.evaluate("window.replyRan === undefined")

    # The attachment downloads under its name, as it was sent.
    async with page.expect_download() as waiting:
        await reply.get_by_role("link", name="Plan.pdf").click()
    download = await waiting.value
    assert download.suggested_filename == "Plan.pdf"
    path = await download.path()
    assert path is not None and path.read_bytes() == make_pdf()
