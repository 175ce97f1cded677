"""Notifications by email: an employee who chose "email me" for a kind gets each new
notification of that kind at their own address, through the company's relay (mail/to_staff.py).
A round looks at the employees who chose some; what it sent is noted, so each goes once, and
what the relay did not take is tried again next round. Relay problems are only shown: the
relay that cannot send could not send the news either."""

from __future__ import annotations

import asyncio
import functools
import logging
import tomllib
from datetime import datetime
from pathlib import Path

import msgspec

from organisatrice.archive.notifications import notifications, reply_notices
from organisatrice.archive.tables import NoticeEmailed
from organisatrice.core.rounds import run_rounds
from organisatrice.mail.message import Address
from organisatrice.mail.smtp import RelayUnavailable
from organisatrice.mail.to_staff import email_employee
from organisatrice.orders.tables import Order
from organisatrice.roles.auth import actor_of_employee
from organisatrice.roles.notices import NoticeKind, choices_of, employees_emailed
from organisatrice.roles.policy import Actor
from organisatrice.roles.staff import sender_address
from organisatrice.settings import get_settings

log = logging.getLogger(__name__)


@functools.cache
def _texts() -> dict[str, dict[str, dict[str, str]]]:
    return tomllib.loads((Path(__file__).parent / "notice_mail.toml").read_text("utf-8"))


class _News(msgspec.Struct, frozen=True):
    # What it is about, as NoticeEmailed keeps it.
    notice: str
    kind: NoticeKind
    order_id: int
    subject: str


async def _news(actor: Actor) -> list[_News]:
    """The actor's notifications of the kinds they have emailed, since they chose so."""
    choices = await choices_of(actor)

    def wanted(kind: NoticeKind, at: datetime) -> bool:
        choice = choices.get(kind)
        if choice is None or not (choice.shown and choice.emailed):
            return False
        return choice.emailed_since is not None and at >= choice.emailed_since

    found = [
        _News(f"email:{n.email_id}:{n.status}", n.kind, n.order_id, n.subject)
        for n in await notifications(actor)
        if wanted(n.kind, n.at)
    ]
    found += [
        _News(f"reply:{r.id}", NoticeKind.CLIENT_REPLY, r.order_id, r.subject)
        for r in await reply_notices(actor)
        if wanted(NoticeKind.CLIENT_REPLY, r.received_at)
    ]
    return found


async def _numbers(order_ids: set[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    rows = await Order.select(Order.id, Order.number).where(Order.id.is_in(list(order_ids)))
    return {r["id"]: r["number"] for r in rows}


async def _send(actor: Actor, sender: str, news: _News, order_number: str) -> bool:
    words = _texts().get(actor.locale, _texts()["de"])[news.kind.value]
    link = f"{get_settings().public_url}/#/orders/{news.order_id}"
    values = {"order_number": order_number, "subject": news.subject, "link": link}
    try:
        result = await email_employee(
            company_id=actor.company_id,
            sender=Address(email=sender, name=actor.company_name),
            to=Address(email=actor.email, name=f"{actor.first_name} {actor.last_name}"),
            # A subject from a client's reply may carry anything; one line of it.
            subject=" ".join(words["subject"].format(**values).split())[:200],
            text=words["text"].format(**values),
            envelope_id=news.notice.replace(":", "-"),
        )
    except RelayUnavailable as unavailable:
        log.warning("notification to employee %s not sent: %s", actor.employee_id, unavailable)
        return False
    return bool(result.accepted)


async def _email_employee_news(employee_id: int) -> int:
    actor = await actor_of_employee(employee_id)
    if actor is None:
        return 0
    sender = await sender_address(actor.company_id)
    news = await _news(actor)
    if not sender or not news:
        return 0
    done = {
        r["notice"]
        for r in await NoticeEmailed.select(NoticeEmailed.notice).where(
            NoticeEmailed.employee == employee_id
        )
    }
    new = [n for n in news if n.notice not in done]
    numbers = await _numbers({n.order_id for n in new})
    sent = 0
    for item in new:
        row = NoticeEmailed(
            employee=employee_id, notice=item.notice, key=f"{employee_id}:{item.notice}"
        )
        await row.save()
        if await _send(actor, sender, item, numbers.get(item.order_id, "")):
            sent += 1
        else:
            # Tried again next round.
            await NoticeEmailed.delete().where(NoticeEmailed.id == row.id)
    return sent


async def email_notices() -> int:
    """One round: email each employee the new notifications they asked for; how many went."""
    sent = 0
    for employee_id in await employees_emailed():
        sent += await _email_employee_news(employee_id)
    return sent


POLL_SECONDS = 30.0


async def run_notice_mail(stop: asyncio.Event) -> None:
    # Nothing wakes it early: a notification by email may wait half a minute.
    await run_rounds(
        "notification emails",
        email_notices,
        stop=stop,
        wake=asyncio.Event(),
        poll_seconds=POLL_SECONDS,
    )
