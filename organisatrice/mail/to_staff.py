"""Emails from the company to one of its employees (password links, notifications they asked
for): built like any message, sent at once through the company's relay, the one SMTP path;
not archived, as they belong to the account, not to an order."""

from __future__ import annotations

import html
from datetime import UTC, datetime

from organisatrice.mail.message import Address, MessageSpec, build_message
from organisatrice.mail.relay import relay_of
from organisatrice.mail.smtp import DeliveryResult, Envelope, RelaySession
from organisatrice.settings import get_settings


async def email_employee(
    *,
    company_id: int,
    sender: Address,
    to: Address,
    subject: str,
    text: str,
    envelope_id: str,
) -> DeliveryResult:
    """Send a plain note (paragraphs split by blank lines); raises `RelayUnavailable` when the
    relay cannot be reached."""
    built = build_message(
        MessageSpec(
            sender=sender,
            reply_to=None,
            to=[to],
            cc=[],
            bcc=[],
            subject=subject,
            text=text,
            html="<html><body>"
            + "".join(f"<p>{html.escape(p)}</p>" for p in text.split("\n\n"))
            + "</body></html>",
            attachments=[],
            inline_images=[],
            message_id_domain=sender.email.rpartition("@")[2],
            date=datetime.now(UTC),
        )
    )
    envelope = Envelope(
        sender=sender.email,
        recipients=built.envelope_recipients,
        data=built.data,
        envelope_id=envelope_id,
    )
    async with RelaySession(
        await relay_of(company_id), timeout=get_settings().smtp_timeout
    ) as session:
        return await session.send(envelope)
