"""The email rule on every compose endpoint: the company's switch, the employee's switch, and
responsible for the order or dispatcher or coordinator. Refusals say why."""

from __future__ import annotations

from typing import Any

import httpx
from litestar import Litestar

from organisatrice.orders.tables import OrderResponsible
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_employee, set_company
from tests.integration.compose.conftest import (
    COMPANY,
    Office,
    draft_count,
    make_office,
    make_staff,
    new_draft,
)

NOT_RESPONSIBLE = (
    "You are not responsible for this order and are neither dispatcher nor coordinator."
)


async def every_compose_endpoint(
    client: ApiClient, office: Office, draft: dict[str, Any]
) -> list[httpx.Response]:
    url = office.draft_url(draft["id"])
    return [
        await client.post(
            office.drafts_url,
            json={"template_id": office.templates["de"], "contact_id": office.contacts["anna"]},
        ),
        await client.get(office.drafts_url),
        await client.get(url),
        await client.patch(url, json={"version": 1, "read_receipt": True}),
        await client.post(f"{url}/preview"),
        await client.delete(url),
    ]


def reasons(answers: list[httpx.Response]) -> set[tuple[int, str]]:
    return {(a.status_code, a.json()["detail"]) for a in answers}


async def test_technician_not_responsible_may_not_email(
    app: Litestar, dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(dispatcher, office)
    # Tom Roth did the work, so he sees the order; he is not responsible for it.
    async with ApiClient.signed_in(app, office.technician.email) as client:
        assert (await client.get(f"/api/orders/{office.order.id}")).status_code == 200
        answers = await every_compose_endpoint(client, office, draft)
    assert reasons(answers) == {(403, NOT_RESPONSIBLE)}
    assert await draft_count(office.order.id) == 1


async def test_responsible_technician_may_email(app: Litestar, office: Office) -> None:
    await OrderResponsible.insert(
        OrderResponsible(
            company=office.company_id, order=office.order.id, employee=office.technician.id
        )
    )
    async with ApiClient.signed_in(app, office.technician.email) as client:
        draft = await new_draft(client, office)
    assert draft["sender"]["name"] == f"Tom Roth | {COMPANY}"


async def test_coordinator_may_email_on_any_order(app: Litestar, office: Office) -> None:
    coordinator = await make_employee(office.company_id, roles={Role.COORDINATOR})
    async with ApiClient.signed_in(app, coordinator.email) as client:
        await new_draft(client, office)


async def test_company_email_switched_off_refuses_every_compose_endpoint(app: Litestar) -> None:
    office = await make_office(await make_staff())
    async with ApiClient.signed_in(app, office.dispatcher.email) as client:
        draft = await new_draft(client, office)
        await set_company(office.company_id, email_enabled=False)
        answers = await every_compose_endpoint(client, office, draft)
    assert reasons(answers) == {(403, "Email is switched off for the company.")}
    assert await draft_count(office.order.id) == 1


async def test_employee_email_switched_off_refuses_every_compose_endpoint(
    app: Litestar, dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(dispatcher, office)
    muted = await make_employee(office.company_id, roles={Role.DISPATCHER}, may_email=False)
    async with ApiClient.signed_in(app, muted.email) as client:
        answers = await every_compose_endpoint(client, office, draft)
    assert reasons(answers) == {(403, "Email is switched off for you.")}
    assert await draft_count(office.order.id) == 1
