"""Delivery reports and read receipts coming back over SMTP to the inbound receiver."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from email.utils import parseaddr

import aiosmtplib
import pytest
from litestar import Litestar

from organisatrice.mail.inbound import (
    MAX_MESSAGES_PER_CONNECTION,
    MAX_REPORTS_PER_EMAIL,
)
from organisatrice.mail.outbox import email_detail
from organisatrice.mail.tables import EmailRecipient, InboundReport, SentEmail
from tests.client import ApiClient
from tests.integration.archive.helpers import Office, drain, office, send
from tests.smtp_relay import smtp_relay

BOUNCE_DOMAIN = "bounces.test.example"


def dsn(token: str, message_id: str, *blocks: tuple[str, str, str, str]) -> bytes:
    """A delivery status notification as Postfix writes it: (recipient, action, status,
    diagnostic) per recipient."""
    fields = "".join(
        f"\nFinal-Recipient: rfc822; {rcpt}\nOriginal-Recipient: rfc822;{rcpt}\n"
        f"Action: {action}\nStatus: {status}\nRemote-MTA: dns; mx.client.example\n"
        + (f"Diagnostic-Code: smtp; {diagnostic}\n" if diagnostic else "")
        for rcpt, action, status, diagnostic in blocks
    )
    text = (
        "From: MAILER-DAEMON@relay.firm.example (Mail Delivery System)\n"
        f"To: bounce+{token}@{BOUNCE_DOMAIN}\n"
        "Subject: Undelivered Mail Returned to Sender\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=delivery-status; boundary="B0UND"\n'
        "\n--B0UND\nContent-Type: text/plain; charset=us-ascii\n\n"
        "This is the mail system at host relay.firm.example.\n"
        "\n--B0UND\nContent-Type: message/delivery-status\n\n"
        f"Reporting-MTA: dns; relay.firm.example\nOriginal-Envelope-Id: {token}\n"
        f"{fields}"
        "\n--B0UND\nContent-Type: text/rfc822-headers\n\n"
        f"Message-ID: {message_id}\nSubject: Arbeitsrapport\n"
        "\n--B0UND--\n"
    )
    return text.replace("\n", "\r\n").encode()


def mdn(token: str, message_id: str, reader: str) -> bytes:
    text = (
        f"From: {reader}\nTo: bounce+{token}@{BOUNCE_DOMAIN}\nSubject: Read: Arbeitsrapport\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type=disposition-notification; boundary="M"\n'
        "\n--M\nContent-Type: text/plain\n\nThe message was displayed.\n"
        "\n--M\nContent-Type: message/disposition-notification\n\n"
        "Reporting-UA: mail.client.example; Thunderbird\n"
        f"Final-Recipient: rfc822;{reader}\nOriginal-Message-ID: {message_id}\n"
        "Disposition: manual-action/MDN-sent-manually; displayed\n"
        "\n--M--\n"
    )
    return text.replace("\n", "\r\n").encode()


async def _sent(app: Litestar, to: list[str]) -> tuple[Office, int, str, str]:
    with smtp_relay() as (_, port):
        setup = await office(port, attachments=[])
        sent = await send(app, setup, to[0])
        await drain()
    row = (
        await SentEmail.select(SentEmail.token, SentEmail.message_id)
        .where(SentEmail.id == sent["id"])
        .first()
    )
    assert row is not None
    return setup, sent["id"], row["token"], row["message_id"]


async def _report(port: int, token: str, data: bytes) -> None:
    await aiosmtplib.send(
        data,
        sender="MAILER-DAEMON@relay.firm.example",
        recipients=[f"bounce+{token}@{BOUNCE_DOMAIN}"],
        hostname="127.0.0.1",
        port=port,
    )


async def test_a_bounce_marks_the_recipient_with_the_diagnostic(
    app: Litestar, receiver: int
) -> None:
    _, email_id, token, message_id = await _sent(app, ["typo@client.example"])
    diagnostic = "550 5.1.1 <typo@client.example>: Recipient address rejected: User unknown"
    await _report(
        receiver,
        token,
        dsn(token, message_id, ("typo@client.example", "failed", "5.1.1", diagnostic)),
    )
    detail = await email_detail(email_id)
    assert detail.status == "bounced"
    [recipient] = detail.recipients
    assert recipient.status == "bounced"
    assert "5.1.1" in recipient.detail and "User unknown" in recipient.detail
    assert detail.events[-1].event == "bounced"
    [kept] = await InboundReport.select().where(InboundReport.sent_email == email_id)
    assert kept["problem"] == "" and kept["kind"] == "dsn"


async def test_delivery_then_read_receipt_advance_the_status(app: Litestar, receiver: int) -> None:
    _, email_id, token, message_id = await _sent(app, ["anna@client.example"])
    await _report(
        receiver, token, dsn(token, message_id, ("anna@client.example", "delivered", "2.0.0", ""))
    )
    assert (await email_detail(email_id)).status == "delivered"
    await _report(receiver, token, mdn(token, message_id, "anna@client.example"))
    detail = await email_detail(email_id)
    assert detail.status == "read"
    assert [e.event for e in detail.events][-2:] == ["delivered", "read"]
    # A late "delayed" does not move a read email back.
    await _report(
        receiver, token, dsn(token, message_id, ("anna@client.example", "delayed", "4.4.7", ""))
    )
    assert (await email_detail(email_id)).status == "read"


async def test_unknown_token_and_other_addresses_are_refused(receiver: int) -> None:
    for address in (f"bounce+{'0' * 32}@{BOUNCE_DOMAIN}", f"info@{BOUNCE_DOMAIN}"):
        with pytest.raises(aiosmtplib.SMTPRecipientsRefused) as refused:
            await aiosmtplib.send(
                b"Subject: hello\r\n\r\nhi\r\n",
                sender="someone@else.example",
                recipients=[address],
                hostname="127.0.0.1",
                port=receiver,
            )
        assert refused.value.recipients[0].code == 550


async def test_a_malformed_report_is_kept_and_changes_nothing(app: Litestar, receiver: int) -> None:
    _, email_id, token, _ = await _sent(app, ["anna@client.example"])
    before = await email_detail(email_id)
    garbage = b"Subject: Re: your report\r\nContent-Type: multipart/report\r\n\r\n\x00\xff broken"
    await _report(receiver, token, garbage)
    after = await email_detail(email_id)
    assert after.status == before.status == "sent"
    assert after.events == before.events
    [kept] = await InboundReport.select().where(InboundReport.sent_email == email_id)
    assert "could not be read" in kept["problem"]


async def test_a_report_about_someone_else_is_not_pinned_on_a_recipient(
    app: Litestar, receiver: int
) -> None:
    _, email_id, token, message_id = await _sent(app, ["anna@client.example"])
    await _report(
        receiver,
        token,
        dsn(token, message_id, ("stranger@other.example", "failed", "5.1.1", "550 unknown")),
    )
    detail = await email_detail(email_id)
    assert detail.status == "sent"
    assert detail.recipients[0].status == "sent"
    [kept] = await InboundReport.select().where(InboundReport.sent_email == email_id)
    assert "stranger@other.example" in kept["problem"]


async def test_a_report_to_one_recipients_return_address_changes_only_that_recipient(
    app: Litestar, receiver: int
) -> None:
    with smtp_relay() as (relay, port):
        setup = await office(port, attachments=[])
        async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
            draft = await client.post(
                f"/api/orders/{setup.order}/drafts",
                json={"template_id": setup.template, "address": "to@client.example"},
            )
            url = f"/api/orders/{setup.order}/drafts/{draft.json()['id']}"
            changed = await client.patch(
                url,
                json={
                    "version": 1,
                    "recipients": {
                        "to": [{"email": "to@client.example"}],
                        "cc": [{"email": "cc@client.example"}],
                        "bcc": [{"email": "bcc@client.example"}],
                    },
                },
            )
            assert changed.status_code == 200, changed.text
            sent = (await client.post(f"{url}/send")).json()
        await drain()
        senders = {r.rcpt_tos[0]: r.mail_from for r in relay.received}
    tokens = {
        r["email"]: r["token"]
        for r in await EmailRecipient.select().where(EmailRecipient.sent_email == sent["id"])
    }
    assert senders["cc@client.example"] == f"bounce+{tokens['cc@client.example']}@{BOUNCE_DOMAIN}"
    # The To recipient's server forges a report about everybody to its own return address.
    token = tokens["to@client.example"]
    forged = dsn(
        token,
        "<x@firm.example>",
        ("to@client.example", "delivered", "2.0.0", ""),
        ("cc@client.example", "failed", "5.1.1", "550 user unknown"),
        ("bcc@client.example", "failed", "5.1.1", "550 user unknown"),
    )
    await _report(receiver, token, forged)
    states = {r.email: r.status for r in (await email_detail(sent["id"])).recipients}
    assert states == {
        "to@client.example": "delivered",
        "cc@client.example": "sent",
        "bcc@client.example": "sent",
    }
    [kept] = await InboundReport.select().where(InboundReport.sent_email == sent["id"])
    assert "cc@client.example" in kept["problem"] and "changes nothing" in kept["problem"]


async def test_an_email_takes_a_bounded_number_of_reports(app: Litestar, receiver: int) -> None:
    _, email_id, token, message_id = await _sent(app, ["anna@client.example"])
    delayed = dsn(token, message_id, ("anna@client.example", "delayed", "4.4.7", ""))
    for _ in range(MAX_REPORTS_PER_EMAIL):
        await _report(receiver, token, delayed)
    with pytest.raises(aiosmtplib.SMTPDataError) as refused:
        await _report(receiver, token, delayed)
    assert refused.value.code == 552
    assert await InboundReport.count().where(InboundReport.sent_email == email_id) == (
        MAX_REPORTS_PER_EMAIL
    )


async def test_one_connection_carries_a_bounded_number_of_reports(
    app: Litestar, receiver: int
) -> None:
    tokens = [(await _sent(app, [f"r{n}@client.example"]))[2] for n in range(2)]
    answers = []
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=receiver) as smtp:
        for n in range(MAX_MESSAGES_PER_CONNECTION + 1):
            token = tokens[n % 2]
            try:
                await smtp.sendmail(
                    "MAILER-DAEMON@relay.firm.example",
                    [f"bounce+{token}@{BOUNCE_DOMAIN}"],
                    dsn(token, "<x@firm.example>", ("r0@client.example", "delayed", "4.4.7", "")),
                )
                answers.append(250)
            except aiosmtplib.SMTPDataError as error:
                answers.append(error.code)
    assert answers == [250] * MAX_MESSAGES_PER_CONNECTION + [452]


async def _send_to(
    app: Litestar, setup: Office, recipients: dict[str, list[dict[str, str]]], **changes: object
) -> int:
    """Send the office's template to `recipients` (to/cc/bcc) with the draft `changes`."""
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        first = recipients["to"][0]["email"]
        draft = await client.post(
            f"/api/orders/{setup.order}/drafts",
            json={"template_id": setup.template, "address": first},
        )
        url = f"/api/orders/{setup.order}/drafts/{draft.json()['id']}"
        changed = await client.patch(url, json={"version": 1, "recipients": recipients, **changes})
        assert changed.status_code == 200, changed.text
        sent = await client.post(f"{url}/send")
        assert sent.status_code == 201, sent.text
        return int(sent.json()["id"])


async def test_a_read_receipt_comes_back_to_the_email_and_marks_the_reader_only(
    app: Litestar, receiver: int
) -> None:
    with smtp_relay() as (relay, port):
        setup = await office(port, attachments=[])
        email_id = await _send_to(
            app,
            setup,
            {"to": [{"email": "anna@client.example"}], "cc": [{"email": "beat@client.example"}]},
            read_receipt=True,
        )
        await drain()
        received = [message_from_bytes(r.data, policy=default) for r in relay.received]
    row = await SentEmail.select(SentEmail.token).where(SentEmail.id == email_id).first()
    assert row is not None
    # Asked of the email's tracking address, not of the employee's mailbox (where the app
    # would never see it); the same bytes went to both recipients.
    tracking = f"bounce+{row['token']}@{BOUNCE_DOMAIN}"
    assert {parseaddr(str(m["Disposition-Notification-To"]))[1] for m in received} == {tracking}
    message_id = str(received[0]["Message-ID"])
    # Beat's mail program sends the receipt, with the empty return path RFC 8098 asks for.
    async with aiosmtplib.SMTP(hostname="127.0.0.1", port=receiver) as smtp:
        await smtp.sendmail("", [tracking], mdn(row["token"], message_id, "beat@client.example"))
    detail = await email_detail(email_id)
    states = {r.email: r.status for r in detail.recipients}
    assert states == {"anna@client.example": "sent", "beat@client.example": "read"}
    assert [(e.event, e.recipient) for e in detail.events][-1] == ("read", "beat@client.example")


async def test_a_delayed_report_shows_on_the_recipient_until_the_final_one(
    app: Litestar, receiver: int
) -> None:
    _, email_id, token, message_id = await _sent(app, ["anna@client.example"])
    await _report(
        receiver,
        token,
        dsn(token, message_id, ("anna@client.example", "delayed", "4.4.1", "451 try later")),
    )
    detail = await email_detail(email_id)
    assert (detail.status, detail.recipients[0].status) == ("delayed", "delayed")
    assert "451 try later" in detail.recipients[0].detail
    await _report(
        receiver, token, dsn(token, message_id, ("anna@client.example", "delivered", "2.0.0", ""))
    )
    detail = await email_detail(email_id)
    assert (detail.status, detail.recipients[0].status) == ("delivered", "delivered")


async def test_an_unknown_user_reads_the_same_refused_at_once_or_bounced_later(
    app: Litestar, receiver: int
) -> None:
    unknown = "550 5.1.1 <{}>: Recipient address rejected: User unknown"
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {"gone@client.example": unknown.format("gone@client.example")}
        setup = await office(port, attachments=[])
        refused = await _send_to(app, setup, {"to": [{"email": "gone@client.example"}]})
        later = await _send_to(app, setup, {"to": [{"email": "typo@client.example"}]})
        await drain()
    row = (
        await SentEmail.select(SentEmail.token, SentEmail.message_id)
        .where(SentEmail.id == later)
        .first()
    )
    assert row is not None
    await _report(
        receiver,
        row["token"],
        dsn(
            row["token"],
            row["message_id"],
            ("typo@client.example", "failed", "5.1.1", unknown.format("typo@client.example")),
        ),
    )
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        shown = [(await client.get(f"/api/archive/{i}")).json() for i in (refused, later)]
    assert [e["status"] for e in shown] == ["bounced", "bounced"]
    assert [[r["status"] for r in e["recipients"]] for e in shown] == [["bounced"], ["bounced"]]
    assert all("User unknown" in e["recipients"][0]["detail"] for e in shown)
    assert "Refused by the relay" in shown[0]["recipients"][0]["detail"]
