"""The emails that carry a password link to an employee: a reset back-office asked for, or the
invitation of a new employee. Sent at once through the company's relay (the one SMTP path),
not archived (mail/to_staff.py). Texts in the employee's language
come from account_links.toml."""

from __future__ import annotations

import functools
import tomllib
from pathlib import Path
from urllib.parse import quote

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid
from organisatrice.mail.message import Address
from organisatrice.mail.smtp import RelayUnavailable
from organisatrice.mail.to_staff import email_employee
from organisatrice.roles.credentials import LINK_HOURS, issue_link, withdraw_link
from organisatrice.roles.policy import Actor
from organisatrice.roles.staff import employee_of_company, sender_address
from organisatrice.settings import get_settings


@functools.cache
def _texts() -> dict[str, dict[str, dict[str, str]]]:
    return tomllib.loads((Path(__file__).parent / "account_links.toml").read_text("utf-8"))


def link_url(secret: str) -> str:
    return f"{get_settings().public_url}/#/set-password?token={quote(secret, safe='')}"


async def send_password_link(actor: Actor, employee_id: int, purpose: str) -> None:
    """Make a single-use link for the employee and email it; if the relay does not take the
    email, the link is withdrawn and the refusal says why."""
    employee = await employee_of_company(actor, employee_id)
    sender = await sender_address(actor.company_id)
    if not sender:
        raise Invalid(
            "The company has no sending address yet; set it in the company settings first.",
            code=Code.NO_SENDER_ADDRESS,
            field="sender_address",
        )
    secret = await issue_link(actor, employee_id, purpose)
    words = _texts().get(employee.locale, _texts()["de"])[purpose]
    text = words["text"].format(
        first_name=employee.first_name,
        company=actor.company_name,
        link=link_url(secret),
        hours=LINK_HOURS,
    )
    try:
        result = await email_employee(
            company_id=actor.company_id,
            sender=Address(email=sender, name=actor.company_name),
            to=Address(email=employee.email, name=f"{employee.first_name} {employee.last_name}"),
            subject=words["subject"],
            text=text,
            envelope_id=secret[:16],
        )
    except RelayUnavailable as unavailable:
        await withdraw_link(secret)
        raise Invalid(
            f"The link could not be sent: {unavailable}",
            code=Code.LINK_NOT_SENT,
            params={"reason": unavailable.text},
            field="relay",
        ) from None
    if not result.accepted:
        await withdraw_link(secret)
        refusal = result.whole or next(iter(result.refused.values()), None)
        reason = refusal.text if refusal else "the relay took no recipient"
        raise Invalid(
            f"The link could not be sent: {reason}",
            code=Code.LINK_NOT_SENT,
            # The relay's own words: the person needs them to fix the address or the relay.
            params={"reason": reason},
            field="relay",
        )
