"""Archive entries made for the listing and billing tests: frozen by the real send path (bytes,
hash chain and all) at a chosen time, then moved to a chosen status as the worker would."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from unittest.mock import patch

import msgspec

from organisatrice.mail.chain import seal_trails
from organisatrice.mail.message import Address, MessageSpec, build_message
from organisatrice.mail.outbox import Frozen, freeze, new_token
from organisatrice.mail.tables import EmailRecipient, SentEmail
from tests.factories import MadeOrder


async def archived(
    company_id: int,
    order: MadeOrder,
    author_id: int,
    *,
    at: datetime,
    kind: str = "work_report",
    to: Sequence[str] = ("anna.meier@client.example",),
    cc: Sequence[str] = (),
    subject: str = "Arbeitsrapport",
    attachments: int = 0,
    resend_of: int | None = None,
) -> int:
    """An email of `order` queued at `at` (UTC), as the send path freezes it."""
    built = build_message(
        MessageSpec(
            sender=Address("office@firm.example", "Firm"),
            reply_to=None,
            to=[Address(a) for a in to],
            cc=[Address(a) for a in cc],
            bcc=[],
            subject=subject,
            text=f"{subject}\n",
            html=f"<p>{subject}</p>",
            attachments=[],
            inline_images=[],
            message_id_domain="firm.example",
            date=at,
        )
    )
    facts = [
        {"filename": f"Beilage {n}.pdf", "content_type": "application/pdf", "size": 10}
        for n in range(attachments)
    ]
    with patch("organisatrice.mail.outbox._now", return_value=at):
        return await freeze(
            Frozen(
                company_id=company_id,
                order_id=order.id,
                order_number=order.number,
                client_id=order.client_id,
                author_id=author_id,
                template_id=None,
                template_name="",
                kind=kind,
                subject=subject,
                sender="office@firm.example",
                recipients=[("to", a, "") for a in to] + [("cc", a, "") for a in cc],
                recipients_json="{}",
                blocks_json="{}",
                attachments_json=msgspec.json.encode(facts).decode(),
                message_id=built.message_id,
                data=built.data,
                read_receipt=False,
                bounce_domain="bounces.test.example",
                token=new_token(),
                resend_of=resend_of,
            )
        )


async def mark(
    email_id: int,
    status: str,
    *,
    sent_at: datetime | None = None,
    recipients: dict[str, str] | None = None,
) -> None:
    """Set the email's status (and each recipient's, all `status` unless named otherwise) and
    when the relay accepted it."""
    await SentEmail.update({SentEmail.status: status, SentEmail.sent_at: sent_at}).where(
        SentEmail.id == email_id
    )
    await EmailRecipient.update({EmailRecipient.status: status}).where(
        EmailRecipient.sent_email == email_id
    )
    for address, state in (recipients or {}).items():
        await EmailRecipient.update({EmailRecipient.status: state}).where(
            (EmailRecipient.sent_email == email_id) & (EmailRecipient.email == address)
        )
    # As the worker does: the trail seals what happened to the email.
    await seal_trails([email_id])
