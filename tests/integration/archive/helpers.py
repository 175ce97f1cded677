"""Sending a few emails through a real relay, for the archive's tests."""

from __future__ import annotations

from typing import Any

import msgspec
from litestar import Litestar

from organisatrice.archive.entries import note_mac
from organisatrice.archive.tables import InternalNote
from organisatrice.mail.chain import entry_hash, lock_head, move_head, seal_trails
from organisatrice.mail.tables import SentEmail
from organisatrice.mail.worker import run_batch
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import (
    MadeEmployee,
    make_company,
    make_employee,
    make_order,
    make_pdf,
    make_relay,
    make_template,
)


class Office(msgspec.Struct):
    company: int
    dispatcher: MadeEmployee
    order: int
    template: int


async def office(port: int, *, attachments: list[str] | None = None) -> Office:
    company = await make_company()
    await make_relay(company, port)
    dispatcher = await make_employee(company, roles={Role.DISPATCHER, Role.BACKOFFICE})
    order = await make_order(company)
    template = await make_template(
        company, attachments=["documents"] if attachments is None else attachments
    )
    return Office(company=company, dispatcher=dispatcher, order=order.id, template=template)


async def upload_offer(app: Litestar, setup: Office, name: str = "Offerte Müller.pdf") -> bytes:
    pdf = make_pdf()
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        answer = await client.post(
            f"/api/orders/{setup.order}/documents",
            files={"file": (name, pdf, "application/pdf")},
            data={"kind": "offer"},
        )
        assert answer.status_code == 201, answer.text
    return pdf


async def send(
    app: Litestar, setup: Office, to: str = "anna.meier@client.example"
) -> dict[str, Any]:
    async with ApiClient.signed_in(app, setup.dispatcher.email) as client:
        draft = await client.post(
            f"/api/orders/{setup.order}/drafts",
            json={"template_id": setup.template, "address": to},
        )
        assert draft.status_code == 201, draft.text
        sent = await client.post(f"/api/orders/{setup.order}/drafts/{draft.json()['id']}/send")
        assert sent.status_code == 201, sent.text
        answer: dict[str, Any] = sent.json()
        return answer


async def drain() -> None:
    while await run_batch("archive-tests"):
        pass


async def reseal(company_id: int) -> None:
    """Seal the company's archive anew with the archive key, as the app would have: its notes'
    chains, its trails and its hash chain. For tests that changed a sealed fact on purpose (a
    queued time in the past, a tampering shown to be found): later tests verify the whole
    archive."""
    emails = await SentEmail.select().where(SentEmail.company == company_id).order_by(SentEmail.id)
    for email in emails:
        head = ""
        for note in (
            await InternalNote.select()
            .where(InternalNote.sent_email == email["id"])
            .order_by(InternalNote.id)
        ):
            head = note_mac(head, note)
            await InternalNote.update({InternalNote.mac: head}).where(InternalNote.id == note["id"])
        await SentEmail.update({SentEmail.notes_head: head}).where(SentEmail.id == email["id"])
    await seal_trails([e["id"] for e in emails], facts=True)
    prev = ""
    for row in (
        await SentEmail.select().where(SentEmail.company == company_id).order_by(SentEmail.id)
    ):
        sealed = entry_hash(prev, row["id"], dict(row))
        await SentEmail.update({SentEmail.chain_prev: prev, SentEmail.chain_hash: sealed}).where(
            SentEmail.id == row["id"]
        )
        prev = sealed
    await lock_head(company_id)
    await move_head(company_id, prev)
