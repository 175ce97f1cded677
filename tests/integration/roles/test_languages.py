"""An employee's language: changed by the employee or by their company's back-office, only to
one of the four, recorded, and followed by what the server writes to them afterwards."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest
from litestar import Litestar

from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Employee, PermissionChange
from tests.client import ApiClient
from tests.factories import make_company, make_employee, make_relay
from tests.smtp_relay import smtp_relay


async def _locale(employee_id: int) -> str:
    row = await Employee.select(Employee.locale).where(Employee.id == employee_id).first()
    assert row is not None
    return str(row["locale"])


async def _recorded(company_id: int) -> list[dict[str, Any]]:
    return list(
        await PermissionChange.select(
            PermissionChange.changed_by,
            PermissionChange.subject_id,
            PermissionChange.field,
            PermissionChange.before,
            PermissionChange.after,
        )
        .where(PermissionChange.company == company_id)
        .order_by(PermissionChange.id)
    )


async def test_a_technician_changes_their_own_language_and_it_is_kept(app: Litestar) -> None:
    company = await make_company()
    technician = await make_employee(company, roles={Role.TECHNICIAN})
    async with ApiClient.signed_in(app, technician.email) as client:
        answer = await client.put("/api/me/locale", json={"locale": "it"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["locale"] == "it"
        assert (await client.get("/api/me")).json()["locale"] == "it"
    assert await _locale(technician.id) == "it"
    # A new session (another device) starts in it too.
    async with ApiClient.signed_in(app, technician.email) as elsewhere:
        assert (await elsewhere.get("/api/me")).json()["locale"] == "it"
    assert await _recorded(company) == [
        {
            "changed_by": technician.id,
            "subject_id": technician.id,
            "field": "locale",
            "before": '"de"',
            "after": '"it"',
        }
    ]


async def test_choosing_the_language_one_has_records_nothing(app: Litestar) -> None:
    company = await make_company()
    employee = await make_employee(company)
    async with ApiClient.signed_in(app, employee.email) as client:
        answer = await client.put("/api/me/locale", json={"locale": "de"})
    assert answer.status_code == 200 and answer.json()["locale"] == "de"
    assert await _recorded(company) == []


@pytest.mark.parametrize("bad", ["rm", "FR", "fr-CH", "", "de "])
async def test_an_unknown_language_is_a_422_with_its_code_and_changes_nothing(
    app: Litestar, bad: str
) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    colleague = await make_employee(company)
    async with ApiClient.signed_in(app, admin.email) as client:
        own = await client.put("/api/me/locale", json={"locale": bad})
        other = await client.patch(
            f"/api/employees/{colleague.id}", json={"locale": bad, "may_email": False}
        )
        new = await client.post(
            "/api/employees",
            json={
                "first_name": "Neu",
                "last_name": "Person",
                "email": "neu.person@test.example",
                "password": "a long enough password",
                "roles": ["technician"],
                "locale": bad,
            },
        )
    for answer in (own, other, new):
        assert answer.status_code == 422, answer.text
        problem = answer.json()
        assert problem["code"] == "unknown_locale"
        assert problem["field"] == "locale"
        assert problem["detail"] == "Unknown language; use one of de, fr, it, en."
    assert await _locale(admin.id) == "de" and await _locale(colleague.id) == "de"
    row = await Employee.select(Employee.may_email).where(Employee.id == colleague.id).first()
    assert row == {"may_email": True}
    assert await Employee.count().where(Employee.email == "neu.person@test.example") == 0
    assert await _recorded(company) == []


async def test_backoffice_changes_an_employees_language_and_it_is_recorded(
    app: Litestar,
) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.patch(f"/api/employees/{dispatcher.id}", json={"locale": "fr"})
        assert answer.status_code == 200, answer.text
        assert answer.json()["locale"] == "fr"
        [change] = (await client.get("/api/permission-changes")).json()["items"]
    assert change["field"] == "locale" and change["subject_id"] == dispatcher.id
    assert (change["before"], change["after"]) == ("de", "fr")
    assert change["changed_by_id"] == admin.id
    # The dispatcher's next request already speaks French.
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        assert (await client.get("/api/me")).json()["locale"] == "fr"


async def test_another_companys_employee_is_not_found(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    foreign = await make_employee(await make_company())
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.patch(f"/api/employees/{foreign.id}", json={"locale": "en"})
    assert answer.status_code == 404
    assert await _locale(foreign.id) == "de"
    assert await _recorded(company) == []


async def test_a_dispatcher_may_not_change_a_colleagues_language(app: Litestar) -> None:
    company = await make_company()
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    colleague = await make_employee(company, roles={Role.TECHNICIAN})
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        answer = await client.patch(f"/api/employees/{colleague.id}", json={"locale": "en"})
    assert answer.status_code == 403
    assert await _locale(colleague.id) == "de"
    assert await _recorded(company) == []


async def test_a_reset_link_after_a_language_change_comes_in_the_new_language(
    app: Litestar,
) -> None:
    company = await make_company("Rochat SA")
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    employee = await make_employee(company)
    with smtp_relay() as (relay, port):
        await make_relay(company, port)
        async with ApiClient.signed_in(app, employee.email) as own:
            assert (await own.put("/api/me/locale", json={"locale": "it"})).status_code == 200
        async with ApiClient.signed_in(app, admin.email) as office:
            sent = await office.post(
                f"/api/employees/{employee.id}/password-link", json={"purpose": "reset"}
            )
            assert sent.status_code == 204, sent.text
            changed = await office.patch(f"/api/employees/{employee.id}", json={"locale": "en"})
            assert changed.status_code == 200
            sent = await office.post(
                f"/api/employees/{employee.id}/password-link", json={"purpose": "invitation"}
            )
            assert sent.status_code == 204, sent.text
    subjects = [
        email.message_from_bytes(m.data, policy=email.policy.default)["Subject"]
        for m in relay.received
    ]
    assert subjects == ["Nuova password per Organisatrice", "Your access to Organisatrice"]
