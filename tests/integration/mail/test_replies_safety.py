"""What happens around a client's answer besides the order showing it: a copy reaches the
author's own mailbox through the company's relay (and cannot loop), its attachments download
as checked as uploads, its HTML is served for a sandboxed frame, and the SPF/DKIM/DMARC
verdicts the receiving MX wrote are shown, never made up."""

from __future__ import annotations

import asyncio
import email
import email.policy
import time
from datetime import UTC, datetime
from email.message import EmailMessage

import aiosmtplib
import pytest
from litestar import Litestar

from organisatrice.mail.forwards import send_due_forwards
from organisatrice.mail.tables import ClientReply, MailRelay
from organisatrice.mail.worker import run_worker
from tests.client import ApiClient
from tests.factories import make_pdf
from tests.integration.archive.helpers import Office
from tests.integration.mail.test_replies import ANNA, _answer, _deliver, _replies, _sent
from tests.smtp_relay import smtp_relay


@pytest.fixture(autouse=True)
async def _no_other_copies_due(database: None) -> None:
    """Copies of replies that other tests left queued are tried (and, their relays gone, put off
    by the outbox's backoff) before each test, so that the counts below are this test's own."""
    for _ in range(10):
        if not await send_due_forwards():
            return


async def _relay_port(setup: Office) -> int:
    row = await MailRelay.select(MailRelay.port).where(MailRelay.company == setup.company).first()
    assert row is not None
    return int(row["port"])


def _parsed(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def _with_pdf(data: bytes) -> bytes:
    message = _parsed(data)
    message.add_attachment(
        make_pdf(), maintype="application", subtype="pdf", filename="Unterschrift.pdf"
    )
    return message.as_bytes()


async def test_the_author_gets_a_copy_of_the_answer_at_the_relay_marked_against_loops(
    app: Litestar, receiver: int
) -> None:
    setup, _, message = await _sent(app)
    reply_to = message["Reply-To"].addresses[0].addr_spec
    await _deliver(
        receiver, reply_to, _with_pdf(_answer(message, "Bitte kommen Sie am Montag vorbei."))
    )
    with smtp_relay(port=await _relay_port(setup)) as (relay, _):
        assert await send_due_forwards() == 1
        [copy] = relay.received
    assert copy.rcpt_tos == [setup.dispatcher.email]
    forwarded = _parsed(copy.data)
    assert forwarded["Auto-Submitted"] == "auto-forwarded"
    assert forwarded["X-Organisatrice-Forward"]
    assert forwarded["Subject"] == f"Fwd: Re: {message['Subject']}"
    # Answering the copy writes on the order, not back into the author's own mailbox.
    assert forwarded["Reply-To"].addresses[0].addr_spec == reply_to
    body = forwarded.get_body(preferencelist=("plain",))
    assert body is not None
    assert "Bitte kommen Sie am Montag vorbei." in body.get_content()
    assert ANNA in body.get_content()
    [pdf] = list(forwarded.iter_attachments())
    assert (pdf.get_filename(), pdf.get_payload(decode=True)) == ("Unterschrift.pdf", make_pdf())
    [reply] = await _replies(app, setup)
    assert reply["forward_state"] == "sent"
    # Sent once: the next round finds nothing due.
    assert await send_due_forwards() == 0

    # The copy sent back to the reply address (a mailbox rule) is refused, not kept again.
    with pytest.raises(aiosmtplib.SMTPResponseException) as refused:
        await _deliver(receiver, reply_to, copy.data)
    assert refused.value.code == 550
    # The author answering the copy lands on the order and is not forwarded to the author.
    answer = _answer(forwarded, "Ich komme am Montag.", sender=setup.dispatcher.email)
    await _deliver(receiver, reply_to, answer)
    first, second = await _replies(app, setup)
    assert (first["text"], second["text"]) == (
        "Bitte kommen Sie am Montag vorbei.",
        "Ich komme am Montag.",
    )
    assert second["forward_state"] == ""
    assert await send_due_forwards() == 0


async def test_the_running_mail_worker_forwards_an_answer_as_soon_as_it_arrives(
    app: Litestar, receiver: int
) -> None:
    setup, _, message = await _sent(app)
    stop = asyncio.Event()
    with smtp_relay(port=await _relay_port(setup)) as (relay, _):
        worker = asyncio.create_task(run_worker(stop, worker="forward-test"))
        try:
            # The worker's first round has found nothing; its next poll is POLL_SECONDS away.
            await asyncio.sleep(0.5)
            address = message["Reply-To"].addresses[0].addr_spec
            await _deliver(receiver, address, _answer(message, "Ja."))
            # Woken by the receiver, well before that poll.
            until = time.monotonic() + 1.0
            for _ in range(100):
                if relay.received or time.monotonic() > until:
                    break
                await asyncio.sleep(0.02)
            assert [r.rcpt_tos for r in relay.received] == [[setup.dispatcher.email]]
        finally:
            stop.set()
            await worker


async def test_an_out_of_office_answer_is_not_forwarded_and_notifies_nobody(
    app: Litestar, receiver: int
) -> None:
    setup, _, message = await _sent(app)
    data = _answer(message, "Ich bin bis am 12. Dezember abwesend.", Auto_Submitted="auto-replied")
    await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, data)
    with smtp_relay(port=await _relay_port(setup)) as (relay, _):
        assert await send_due_forwards() == 0
        assert relay.received == []
    [reply] = await _replies(app, setup)
    assert (reply["automatic"], reply["forward_state"]) == (True, "")
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        waiting = await client.get("/api/notifications/replies")
    assert waiting.json() == []


async def test_a_copy_the_relay_could_not_take_is_sent_again_later(
    app: Litestar, receiver: int
) -> None:
    setup, _, message = await _sent(app)
    await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, _answer(message, "Ok."))
    # No relay listens on the company's port now.
    assert await send_due_forwards() == 1
    [reply] = await _replies(app, setup)
    assert reply["forward_state"] == "queued"
    row = (
        await ClientReply.select(ClientReply.forward_next_at)
        .where(ClientReply.id == reply["id"])
        .first()
    )
    assert row is not None and row["forward_next_at"] > datetime.now(UTC)
    assert await send_due_forwards() == 0
    # When the retry is due and the relay is back, the copy goes out.
    await ClientReply.update({ClientReply.forward_next_at: datetime.now(UTC)}).where(
        ClientReply.id == reply["id"]
    )
    with smtp_relay(port=await _relay_port(setup)) as (relay, _):
        assert await send_due_forwards() == 1
        assert [r.rcpt_tos for r in relay.received] == [[setup.dispatcher.email]]
    [reply] = await _replies(app, setup)
    assert reply["forward_state"] == "sent"


async def test_an_answers_attachments_download_checked_as_uploads(
    app: Litestar, receiver: int
) -> None:
    setup, _, message = await _sent(app)
    data = _parsed(_with_pdf(_answer(message, "Anbei.")))
    data.add_attachment(
        b"MZ\x90\x00 not a document", maintype="application", subtype="pdf", filename="a.pdf"
    )
    await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, data.as_bytes())
    [reply] = await _replies(app, setup)
    base = f"/api/orders/{setup.order}/replies/{reply['id']}/attachments"
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        pdf = await client.get(f"{base}/0")
        fake = await client.get(f"{base}/1")
        missing = await client.get(f"{base}/2")
    assert pdf.status_code == 200, pdf.text
    assert pdf.content == make_pdf()
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("attachment;")
    assert "Unterschrift.pdf" in pdf.headers["content-disposition"]
    assert pdf.headers["x-content-type-options"] == "nosniff"
    # What its name says is not what it is: refused as an upload would be.
    assert fake.status_code == 415, fake.text
    assert fake.json()["code"] == "document_type_not_accepted"
    assert (missing.status_code, missing.json()["code"]) == (404, "attachment_not_found")
    other, _, _ = await _sent(app)
    async with ApiClient.signed_in(app, other.dispatcher.email) as client:
        foreign = await client.get(f"{base}/0")
    assert foreign.status_code == 404


async def test_an_answers_html_is_sanitised_and_served_for_a_sandboxed_frame(
    app: Litestar, receiver: int
) -> None:
    setup, _, message = await _sent(app)
    data = _parsed(_answer(message, "Einverstanden."))
    data.add_alternative(
        "<p>Einverstanden.</p><script>alert(1)</script>"
        '<img src="https://tracker.example/p.png" onerror="alert(2)">',
        subtype="html",
    )
    await _deliver(receiver, message["Reply-To"].addresses[0].addr_spec, data.as_bytes())
    [reply] = await _replies(app, setup)
    assert reply["has_html"] is True
    url = f"/api/orders/{setup.order}/replies/{reply['id']}/html"
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        blocked = await client.get(url)
        shown = await client.get(url, params={"images": "true"})
    assert blocked.status_code == 200, blocked.text
    assert "<p>Einverstanden.</p>" in blocked.text
    assert "<script" not in blocked.text and "onerror" not in blocked.text
    # Remote pictures lose their address until the reader asks for them.
    assert "tracker.example" not in blocked.text
    assert '<img src="https://tracker.example/p.png">' in shown.text
    policy = blocked.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "sandbox" in policy
    assert "img-src data:;" in policy
    assert "img-src data: http: https:;" in shown.headers["content-security-policy"]
    assert blocked.headers["x-frame-options"] == "SAMEORIGIN"
    other, _, _ = await _sent(app)
    async with ApiClient.signed_in(app, other.dispatcher.email) as client:
        assert (await client.get(url)).status_code == 404


async def test_the_mx_verdicts_are_shown_when_recorded_and_never_made_up(
    app: Litestar, receiver: int
) -> None:
    setup, _, message = await _sent(app)
    address = message["Reply-To"].addresses[0].addr_spec
    await _deliver(receiver, address, _answer(message, "Ohne Prüfung."))
    # The MX's own header on top; one the sender wrote below it counts for nothing.
    checked = (
        b"Authentication-Results: mx.firm.example; spf=pass smtp.mailfrom=client.example;\r\n"
        b" dkim=fail header.d=client.example; dmarc=pass header.from=client.example\r\n"
        b"Authentication-Results: forged.example; spf=fail; dkim=pass; dmarc=fail\r\n"
    ) + _answer(message, "Mit Prüfung.")
    await _deliver(receiver, address, checked)
    plain, verified = await _replies(app, setup)
    assert plain["checks"] == []
    assert [(c["method"], c["result"]) for c in verified["checks"]] == [
        ("spf", "pass"),
        ("dkim", "fail"),
        ("dmarc", "pass"),
    ]
