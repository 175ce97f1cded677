"""No company can stall another with a template: rendering runs in worker processes with a
time and memory budget, so the server keeps answering everyone while a template over its budget
is refused with a 422 naming the field."""

from __future__ import annotations

import asyncio

import pytest
from litestar import Litestar

from organisatrice.compose.tables import EmailTemplate
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_company, make_employee

# The payloads of the hardening issue: a 1.1 KB template that took 96.8 s of the event loop,
# and one that grew the server by 1.5 GB.
SORTS = "{% for i in range(1000) %}" + "{{ (range(1000)|list * 6)|sort|length and '' }}" * 40
SORTS += "{% endfor %}"
MEMORY = "{{ ([''] * 2 * 10**8)|length }}"


def _template(motivation: str) -> dict[str, object]:
    return {
        "kind": "general",
        "language": "de",
        "name": "Langsam",
        "subject": "Auftrag {{ order.number }}",
        "motivation": motivation,
    }


@pytest.mark.parametrize(("payload", "field"), [(SORTS, "motivation"), (MEMORY, "motivation")])
async def test_a_template_over_its_budget_is_refused_while_other_companies_are_served(
    app: Litestar, payload: str, field: str
) -> None:
    attacker_company = await make_company()
    attacker = await make_employee(attacker_company, roles={Role.BACKOFFICE})
    other = await make_employee(await make_company(), roles={Role.DISPATCHER})
    async with (
        ApiClient.signed_in(app, attacker.email) as attacking,
        ApiClient.signed_in(app, other.email) as working,
    ):
        saving = asyncio.create_task(attacking.post("/api/templates", json=_template(payload)))
        await asyncio.sleep(0.05)
        answered = 0
        for _ in range(40):
            me = await working.get("/api/me")
            assert me.status_code == 200
            answered += 1
        still_rendering = not saving.done()
        refused = await saving
    assert answered == 40
    assert still_rendering or payload is MEMORY, "the template finished before the others ran"
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert "Motivation" in refused.json()["detail"]
    assert await EmailTemplate.count().where(EmailTemplate.company == attacker_company) == 0


async def test_after_a_killed_render_the_next_draft_and_save_work(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as client:
        for _ in range(3):
            slow = await client.post("/api/templates", json=_template(SORTS))
            assert slow.status_code == 422
        fine = await client.post("/api/templates", json=_template("Im Anhang {{ order.number }}"))
    assert fine.status_code == 201, fine.text
