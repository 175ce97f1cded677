"""Back-office work on people and switches, through HTTP: recorded, and refused when wrong."""

from __future__ import annotations

from typing import Any

from litestar import Litestar

from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Company, Employee, PermissionChange
from tests.client import ApiClient
from tests.factories import make_company, make_employee, make_order


async def _changes(client: ApiClient) -> list[dict[str, Any]]:
    answer = await client.get("/api/permission-changes")
    assert answer.status_code == 200, answer.text
    items: list[dict[str, Any]] = answer.json()["items"]
    return items


async def _employee_row(employee_id: int) -> dict[str, Any]:
    """The employee as back-office set them (not where they last signed in from)."""
    row = await Employee.select(*Employee.all_columns(exclude=[Employee.usual_sources])).where(
        Employee.id == employee_id
    )
    assert row
    return dict(row[0])


async def test_role_change_is_recorded_with_before_and_after(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE}, first_name="Bea")
    tech = await make_employee(company, roles={Role.TECHNICIAN}, first_name="Tom")
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.patch(
            f"/api/employees/{tech.id}", json={"roles": ["technician", "dispatcher"]}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json()["roles"] == ["dispatcher", "technician"]
        [change] = await _changes(client)
    assert change["field"] == "roles"
    assert change["before"] == ["technician"]
    assert change["after"] == ["dispatcher", "technician"]
    assert change["subject"] == "employee" and change["subject_id"] == tech.id
    assert change["changed_by_id"] == admin.id and change["changed_by_name"].startswith("Bea")


async def test_switches_and_deactivation_are_recorded(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    other = await make_employee(company, roles={Role.DISPATCHER})
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.patch(
            f"/api/employees/{other.id}", json={"may_email": False, "active": False}
        )
        assert answer.status_code == 200
        answer = await client.patch("/api/company", json={"email_enabled": False})
        assert answer.json()["email_enabled"] is False
        changes = {(c["field"], c["before"], c["after"]) for c in await _changes(client)}
    assert changes == {
        ("may_email", True, False),
        ("active", True, False),
        ("email_enabled", True, False),
    }


async def test_company_email_switch_reaches_the_order_decision(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    order = await make_order(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        assert (await client.get(f"/api/orders/{order.id}")).json()["email"]["allowed"] is True
        async with ApiClient.signed_in(app, admin.email) as admin_client:
            await admin_client.patch("/api/company", json={"email_enabled": False})
        email = (await client.get(f"/api/orders/{order.id}")).json()["email"]
        assert email == {
            "allowed": False,
            "reason": "Email is switched off for the company.",
            "code": "company_email_off",
            "params": {},
        }
        assert (await client.get("/api/me")).json()["company_email_enabled"] is False


async def test_order_detail_says_why_a_technician_may_not_email(app: Litestar) -> None:
    company = await make_company()
    tech = await make_employee(company, roles={Role.TECHNICIAN})
    order = await make_order(company, technician_id=tech.id)
    responsible_order = await make_order(company, responsible=[tech.id])
    async with ApiClient.signed_in(app, tech.email) as client:
        email = (await client.get(f"/api/orders/{order.id}")).json()["email"]
        assert email["allowed"] is False
        assert "not responsible for this order" in email["reason"]
        assert email["code"] == "not_responsible"
        email = (await client.get(f"/api/orders/{responsible_order.id}")).json()["email"]
        assert email == {"allowed": True, "reason": "", "code": None, "params": {}}


async def test_me_lists_roles_and_permissions(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE, Role.COORDINATOR})
    async with ApiClient.signed_in(app, admin.email) as client:
        me = (await client.get("/api/me")).json()
    assert me["roles"] == ["backoffice", "coordinator"]
    assert "manage_employees" in me["permissions"]
    assert "view_orders" in me["permissions"]


async def test_assigning_responsible_employees_is_recorded_and_grants_email(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    tech = await make_employee(company, roles={Role.TECHNICIAN}, first_name="Tim", last_name="Roth")
    order = await make_order(company)
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.put(
            f"/api/orders/{order.id}/responsible", json={"employee_ids": [tech.id]}
        )
        assert answer.status_code == 200, answer.text
        assert answer.json() == [{"id": tech.id, "name": "Tim Roth"}]
        [change] = await _changes(client)
    assert (change["subject"], change["field"]) == ("order", "responsible")
    assert (change["before"], change["after"]) == ([], ["Tim Roth"])
    async with ApiClient.signed_in(app, tech.email) as client:
        detail = (await client.get(f"/api/orders/{order.id}")).json()
        assert detail["email"]["allowed"] is True


async def test_backoffice_creates_an_employee_who_can_sign_in(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.post(
            "/api/employees",
            json={
                "first_name": "Nina",
                "last_name": "Brunner",
                "email": "Nina.Brunner@Test.Example",
                "password": "a good long password",
                "roles": ["dispatcher"],
            },
        )
        assert answer.status_code == 201, answer.text
        assert answer.json()["email"] == "nina.brunner@test.example"
        listed = [e["email"] for e in (await client.get("/api/employees")).json()]
        assert "nina.brunner@test.example" in listed
        assert (await _changes(client))[0]["field"] == "created"
    async with ApiClient.signed_in(
        app, "nina.brunner@test.example", "a good long password"
    ) as client:
        assert (await client.get("/api/me")).json()["roles"] == ["dispatcher"]


# Bad input: a clear 4xx and nothing changed.


async def _assert_nothing_changed(
    company_id: int, employee_id: int, before: dict[str, Any]
) -> None:
    assert await _employee_row(employee_id) == before
    assert await PermissionChange.count().where(PermissionChange.company == company_id) == 0


async def test_unknown_role_name_is_refused_and_changes_nothing(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    tech = await make_employee(company, roles={Role.TECHNICIAN})
    before = await _employee_row(tech.id)
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.patch(
            f"/api/employees/{tech.id}",
            json={"roles": ["dispatcher", "superuser"], "active": False},
        )
    assert answer.status_code == 422
    assert answer.json()["detail"].startswith("Unknown role 'superuser'")
    assert answer.json()["field"] == "roles"
    await _assert_nothing_changed(company, tech.id, before)


async def test_removing_the_last_backoffice_is_refused(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE, Role.DISPATCHER})
    before = await _employee_row(admin.id)
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.patch(f"/api/employees/{admin.id}", json={"roles": ["dispatcher"]})
    assert answer.status_code == 409
    assert "last active back-office employee" in answer.json()["detail"]
    await _assert_nothing_changed(company, admin.id, before)


async def test_changing_ones_own_roles_is_refused(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    await make_employee(company, roles={Role.BACKOFFICE})
    before = await _employee_row(admin.id)
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.patch(
            f"/api/employees/{admin.id}", json={"roles": ["backoffice", "coordinator"]}
        )
        assert answer.status_code == 409
        assert "cannot change your own roles" in answer.json()["detail"]
        answer = await client.patch(f"/api/employees/{admin.id}", json={"active": False})
        assert answer.status_code == 409
    await _assert_nothing_changed(company, admin.id, before)


async def test_another_companys_employee_and_order_ids_are_not_found(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    foreign_company = await make_company()
    foreign = await make_employee(foreign_company, roles={Role.TECHNICIAN})
    foreign_order = await make_order(foreign_company)
    own_order = await make_order(company)
    before = await _employee_row(foreign.id)
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.patch(f"/api/employees/{foreign.id}", json={"roles": ["backoffice"]})
        assert answer.status_code == 404
        answer = await client.put(
            f"/api/orders/{foreign_order.id}/responsible", json={"employee_ids": []}
        )
        assert answer.status_code == 404
        answer = await client.put(
            f"/api/orders/{own_order.id}/responsible", json={"employee_ids": [foreign.id]}
        )
        assert answer.status_code == 404
        assert answer.json()["detail"] == f"Employee {foreign.id} does not exist or is not active."
        detail = (await client.get(f"/api/orders/{own_order.id}")).json()
        assert detail["responsible"] == []
    await _assert_nothing_changed(company, foreign.id, before)


async def test_bad_employee_input_gets_a_clear_message(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    base = {"first_name": "A", "last_name": "B", "password": "long enough pw", "roles": []}
    async with ApiClient.signed_in(app, admin.email) as client:
        bad_email = await client.post("/api/employees", json={**base, "email": "not-an-address"})
        short_password = await client.post(
            "/api/employees", json={**base, "email": "a.b@test.example", "password": "short"}
        )
        duplicate = await client.post("/api/employees", json={**base, "email": admin.email})
        bad_zone = await client.post(
            "/api/employees", json={**base, "email": "c.d@test.example", "time_zone": "Mars/Base"}
        )
        unknown_field = await client.post(
            "/api/employees", json={**base, "email": "e.f@test.example", "is_admin": True}
        )
    assert bad_email.status_code == 422 and "is not valid" in bad_email.json()["detail"]
    assert short_password.status_code == 422 and "at least 10" in short_password.json()["detail"]
    assert duplicate.status_code == 409
    assert bad_zone.status_code == 422 and "Unknown time zone" in bad_zone.json()["detail"]
    assert unknown_field.status_code == 400
    assert await Employee.count().where(Employee.company == company) == 1
    row = await Company.select(Company.email_enabled).where(Company.id == company).first()
    assert row is not None and row["email_enabled"] is True


async def test_company_details_and_mail_settings_are_changed_and_recorded(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as client:
        answer = await client.patch(
            "/api/company",
            json={
                "street": "Industriestrasse 5",
                "brand_colour": "#c2410c",
                "sender_address": " Auftraege@Meier.Example ",
                "mail_size_budget": 8_000_000,
            },
        )
        assert answer.status_code == 200, answer.text
        body = answer.json()
        assert body["sender_address"] == "Auftraege@meier.example"
        assert (body["brand_colour"], body["mail_size_budget"]) == ("#c2410c", 8_000_000)
        fields = {c["field"] for c in await _changes(client)}
    assert fields == {"street", "brand_colour", "sender_address", "mail_size_budget"}


async def test_bad_company_details_are_refused_and_change_nothing(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    before = await Company.select().where(Company.id == company).first()
    async with ApiClient.signed_in(app, admin.email) as client:
        for bad in (
            {"brand_colour": "red; background:url(x)"},
            {"sender_address": "not an address"},
            {"name": "Meier AG\r\nBcc: x@y.example"},
            {"mail_size_budget": 10},
        ):
            answer = await client.patch("/api/company", json=bad)
            assert answer.status_code in (400, 422), bad
    assert await Company.select().where(Company.id == company).first() == before
