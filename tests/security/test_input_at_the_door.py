"""Bad input is refused at the door with a clear 4xx, never a 500 or a broken record later:
deeply nested bodies, NUL in the path, line breaks in names, and another company's address."""

from __future__ import annotations

from litestar import Litestar

from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Employee
from tests.client import ApiClient
from tests.factories import make_company, make_employee


async def test_a_body_nested_ten_thousand_deep_is_a_400(anonymous: ApiClient) -> None:
    answer = await anonymous.post(
        "/api/session", content=b"[" * 10_000, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert "nested too deeply" in answer.json()["detail"]


async def test_nul_in_the_path_is_refused_not_a_500(anonymous: ApiClient) -> None:
    for url in ("/index.html%00.js", "/schema-assets/swagger-ui.css%00"):
        answer = await anonymous.get(url)
        assert 400 <= answer.status_code < 500, url


async def test_names_with_line_breaks_are_refused_and_nothing_is_saved(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as office:
        for first_name in ("Eva\r\nBcc: x@evil.example", "Eva\x9b", "Eva\x00"):
            answer = await office.post(
                "/api/employees",
                json={
                    "first_name": first_name,
                    "last_name": "Keller",
                    "email": "eva.keller@test.example",
                    "password": "a long enough password",
                    "roles": ["dispatcher"],
                },
            )
            assert answer.status_code in (400, 422), first_name
        company_name = await office.patch("/api/company", json={"name": "Meier\nAG"})
    assert company_name.status_code == 400
    assert await Employee.count().where(Employee.email == "eva.keller@test.example") == 0


async def test_another_companys_address_is_refused_without_saying_it_exists(
    app: Litestar,
) -> None:
    elsewhere = await make_employee(await make_company())
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    colleague = await make_employee(company)
    body = {
        "first_name": "Neu",
        "last_name": "Person",
        "password": "a long enough password",
        "roles": ["technician"],
    }
    async with ApiClient.signed_in(app, admin.email) as office:
        foreign = await office.post("/api/employees", json={**body, "email": elsewhere.email})
        own = await office.post("/api/employees", json={**body, "email": colleague.email})
    assert foreign.status_code == 409
    assert "exists" not in foreign.json()["detail"]
    assert own.status_code == 409 and "exists already" in own.json()["detail"]
