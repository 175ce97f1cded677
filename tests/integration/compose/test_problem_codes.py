"""Refusals carry a stable code and the values their words fill in, beside the English detail,
so the UI can say them in the person's language: an order that is not there, the email rule,
a template's unknown placeholder or broken syntax with its block and line."""

from __future__ import annotations

import msgspec
from litestar import Litestar

from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_employee
from tests.integration.compose.conftest import Office, Staff, new_draft, work_report_template


async def test_an_order_that_is_not_there_answers_its_code_and_id(
    dispatcher: ApiClient,
) -> None:
    answer = await dispatcher.get("/api/orders/987654")
    assert answer.status_code == 404
    problem = answer.json()
    assert (problem["code"], problem["params"]) == ("order_not_found", {"id": 987654})
    assert problem["detail"] == "Order 987654 does not exist or is not visible to you."


async def test_the_email_rule_answers_not_responsible_with_its_code(
    app: Litestar, dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(dispatcher, office)
    async with ApiClient.signed_in(app, office.technician.email) as technician:
        refused = await technician.get(office.draft_url(draft["id"]))
        order = (await technician.get(f"/api/orders/{office.order.id}")).json()
    assert refused.status_code == 403
    assert (refused.json()["code"], refused.json()["params"]) == ("not_responsible", {})
    # The order tells the screen the same reason, by the same code.
    assert (order["email"]["allowed"], order["email"]["code"]) == (False, "not_responsible")


async def test_a_role_refusal_names_the_roles_that_may(app: Litestar, staff: Staff) -> None:
    technician = await make_employee(staff.company_id, roles={Role.TECHNICIAN})
    async with ApiClient.signed_in(app, technician.email) as client:
        refused = await client.get("/api/employees")
    assert refused.status_code == 403
    assert refused.json()["code"] == "role_required"
    assert refused.json()["params"] == {"roles": "backoffice"}


async def test_a_template_problem_names_its_block_line_and_placeholder(
    app: Litestar, staff: Staff
) -> None:
    admin = await make_employee(staff.company_id, roles={Role.BACKOFFICE})
    unknown = work_report_template("de", motivation="Guten Tag\n{{ order.numbr }}")
    broken = work_report_template("de", subject="Rapport {{ order.number")
    async with ApiClient.signed_in(app, admin.email) as client:
        placeholder = await client.post("/api/templates", json=msgspec.to_builtins(unknown))
        syntax = await client.post("/api/templates", json=msgspec.to_builtins(broken))
    assert placeholder.status_code == syntax.status_code == 422
    assert placeholder.json()["code"] == "template_unknown_placeholder"
    assert placeholder.json()["params"] == {
        "block": "motivation",
        "line": 2,
        "placeholder": "order.numbr",
    }
    assert placeholder.json()["detail"] == "Motivation, line 2: unknown placeholder 'order.numbr'."
    problem = syntax.json()
    assert problem["code"] == "template_syntax"
    # Jinja's own English stays in `message`, for API clients; the UI words the code.
    assert {k: problem["params"][k] for k in ("block", "line")} == {"block": "subject", "line": 1}
    assert problem["params"]["message"]


async def test_a_parameter_that_does_not_validate_answers_a_code_too(
    dispatcher: ApiClient,
) -> None:
    answer = await dispatcher.get("/api/archive", params={"status": "lost"})
    assert answer.status_code == 400
    assert answer.json()["code"] == "validation_failed"
    assert answer.json()["params"] == {"name": "status"}
