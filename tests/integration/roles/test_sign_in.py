"""Sign-in, sign-out, throttling and CSRF, through the HTTP API."""

from __future__ import annotations

from litestar import Litestar

from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import DEFAULT_PASSWORD, make_company, make_employee


async def test_sign_in_with_right_password_answers_who_i_am(
    app: Litestar, anonymous: ApiClient
) -> None:
    company = await make_company("Meier Haustechnik AG")
    employee = await make_employee(company, roles={Role.COORDINATOR}, first_name="Lea")
    answer = await anonymous.post(
        "/api/session", json={"email": employee.email.upper(), "password": DEFAULT_PASSWORD}
    )
    assert answer.status_code == 200, answer.text
    me = (await anonymous.get("/api/me")).json()
    assert me["first_name"] == "Lea"
    assert me["company_name"] == "Meier Haustechnik AG"
    assert me["roles"] == ["coordinator"]
    cookie = answer.headers["set-cookie"]
    assert "httponly" in cookie.lower() and "samesite=lax" in cookie.lower()


async def test_wrong_password_is_refused_with_a_clear_message(anonymous: ApiClient) -> None:
    employee = await make_employee(await make_company())
    answer = await anonymous.post(
        "/api/session", json={"email": employee.email, "password": "not the password"}
    )
    assert answer.status_code == 401
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["detail"] == "Wrong email address or password."
    assert (await anonymous.get("/api/me")).status_code == 401


async def test_unknown_address_gets_the_same_answer_as_a_wrong_password(
    anonymous: ApiClient,
) -> None:
    answer = await anonymous.post(
        "/api/session", json={"email": "nobody@test.example", "password": "whatever123"}
    )
    assert answer.status_code == 401
    assert answer.json()["detail"] == "Wrong email address or password."


async def test_repeated_failures_are_throttled_even_with_the_right_password(
    anonymous: ApiClient,
) -> None:
    employee = await make_employee(await make_company())
    for _ in range(5):
        answer = await anonymous.post(
            "/api/session", json={"email": employee.email, "password": "guess-guess"}
        )
        assert answer.status_code == 401
    answer = await anonymous.post(
        "/api/session", json={"email": employee.email, "password": DEFAULT_PASSWORD}
    )
    assert answer.status_code == 429
    assert int(answer.headers["retry-after"]) > 0
    assert "Too many failed sign-ins" in answer.json()["detail"]


async def test_sign_out_ends_the_session(app: Litestar) -> None:
    employee = await make_employee(await make_company())
    async with ApiClient.signed_in(app, employee.email) as client:
        assert (await client.get("/api/me")).status_code == 200
        stolen_cookie = client.http.cookies.get("organisatrice_session")
        assert (await client.delete("/api/session")).status_code == 204
        assert (await client.get("/api/me")).status_code == 401
        # The old token is dead on the server too, not only forgotten by this browser.
        client.http.cookies.set("organisatrice_session", stolen_cookie or "")
        assert (await client.get("/api/me")).status_code == 401


async def test_state_changing_request_without_csrf_token_is_refused(app: Litestar) -> None:
    employee = await make_employee(await make_company())
    async with ApiClient.signed_in(app, employee.email) as client:
        answer = await client.http.delete("/api/session")
        assert answer.status_code == 403
        assert "CSRF" in answer.json()["detail"]
        assert (await client.get("/api/me")).status_code == 200


async def test_sign_in_without_csrf_token_is_refused(anonymous: ApiClient) -> None:
    employee = await make_employee(await make_company())
    answer = await anonymous.http.post(
        "/api/session", json={"email": employee.email, "password": DEFAULT_PASSWORD}
    )
    assert answer.status_code == 403


async def test_inactive_employee_cannot_sign_in(anonymous: ApiClient) -> None:
    from organisatrice.roles.tables import Employee

    employee = await make_employee(await make_company())
    await Employee.update({Employee.active: False}).where(Employee.id == employee.id)
    answer = await anonymous.post(
        "/api/session", json={"email": employee.email, "password": DEFAULT_PASSWORD}
    )
    assert answer.status_code == 401


async def test_malformed_sign_in_body_is_a_clear_400(anonymous: ApiClient) -> None:
    answer = await anonymous.post("/api/session", json={"email": "a@b.example", "pw": "x"})
    assert answer.status_code == 400
    assert answer.headers["content-type"].startswith("application/problem+json")


async def test_nul_characters_are_refused_as_bad_input(app: Litestar) -> None:
    employee = await make_employee(await make_company(), roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, employee.email) as client:
        in_query = await client.get("/api/clients", params={"q": "Meier\x00"})
        in_body = await client.post(
            "/api/templates",
            json={"kind": "general", "language": "de", "name": "A\x00B", "subject": "S"},
        )
    for answer in (in_query, in_body):
        assert answer.status_code == 422
        assert "NUL" in answer.json()["detail"]
