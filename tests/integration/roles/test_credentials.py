"""Passwords and sessions over an account's life: change your own, set one through the link
back-office emails (a reset or an invitation), sign out everywhere; changing, resetting and
deactivating end the employee's sessions."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime, timedelta

from litestar import Litestar

from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Employee, PasswordLink
from tests.client import ApiClient
from tests.factories import DEFAULT_PASSWORD, make_company, make_employee, make_relay
from tests.smtp_relay import smtp_relay

NEW = "a brand new passphrase"


async def test_changing_ones_password_needs_the_current_one_and_ends_other_sessions(
    app: Litestar,
) -> None:
    employee = await make_employee(await make_company())
    async with (
        ApiClient.signed_in(app, employee.email) as here,
        ApiClient.signed_in(app, employee.email) as elsewhere,
    ):
        wrong = await here.put(
            "/api/me/password", json={"current_password": "not it", "new_password": NEW}
        )
        assert wrong.status_code == 422 and wrong.json()["field"] == "current_password"
        short = await here.put(
            "/api/me/password", json={"current_password": DEFAULT_PASSWORD, "new_password": "x"}
        )
        assert short.status_code == 422 and short.json()["field"] == "new_password"
        changed = await here.put(
            "/api/me/password", json={"current_password": DEFAULT_PASSWORD, "new_password": NEW}
        )
        assert changed.status_code == 204, changed.text
        assert (await here.get("/api/me")).status_code == 200
        assert (await elsewhere.get("/api/me")).status_code == 401
    async with ApiClient.open(app) as client:
        old = await client.post(
            "/api/session", json={"email": employee.email, "password": DEFAULT_PASSWORD}
        )
        new = await client.post("/api/session", json={"email": employee.email, "password": NEW})
    assert (old.status_code, new.status_code) == (401, 200)


async def test_signing_out_everywhere_ends_every_session(app: Litestar) -> None:
    employee = await make_employee(await make_company())
    async with (
        ApiClient.signed_in(app, employee.email) as tablet,
        ApiClient.signed_in(app, employee.email) as office,
    ):
        assert (await tablet.delete("/api/me/sessions")).status_code == 204
        assert (await tablet.get("/api/me")).status_code == 401
        assert (await office.get("/api/me")).status_code == 401


def _link_token(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    found = re.search(r"#/set-password\?token=([\w%-]+)", str(body.get_content()))
    assert found, body.get_content()
    return found.group(1)


async def test_a_reset_link_sets_a_new_password_once_and_ends_the_old_sessions(
    app: Litestar,
) -> None:
    company = await make_company("Rochat SA")
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    employee = await make_employee(company)
    await Employee.update({Employee.locale: "fr"}).where(Employee.id == employee.id)
    with smtp_relay() as (relay, port):
        await make_relay(company, port)
        async with (
            ApiClient.signed_in(app, admin.email) as office,
            ApiClient.signed_in(app, employee.email) as victim,
        ):
            sent = await office.post(
                f"/api/employees/{employee.id}/password-link", json={"purpose": "reset"}
            )
            assert sent.status_code == 204, sent.text
            [received] = relay.received
            token = _link_token(received.data)
            async with ApiClient.open(app) as anonymous:
                short = await anonymous.post(
                    "/api/password", json={"token": token, "new_password": "x"}
                )
                done = await anonymous.post(
                    "/api/password", json={"token": token, "new_password": NEW}
                )
                again = await anonymous.post(
                    "/api/password", json={"token": token, "new_password": NEW + "!"}
                )
                signed = await anonymous.post(
                    "/api/session", json={"email": employee.email, "password": NEW}
                )
            assert (await victim.get("/api/me")).status_code == 401
    message = email.message_from_bytes(received.data, policy=email.policy.default)
    assert received.rcpt_tos == [employee.email]
    assert message["Subject"] == "Nouveau mot de passe pour Organisatrice"
    assert "Rochat SA" in str(message["From"])
    assert short.status_code == 422
    assert done.status_code == 204, done.text
    assert again.status_code == 422 and "used up" in again.json()["detail"]
    assert signed.status_code == 200


async def test_an_expired_link_is_refused(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    employee = await make_employee(company)
    with smtp_relay() as (relay, port):
        await make_relay(company, port)
        async with ApiClient.signed_in(app, admin.email) as office:
            await office.post(
                f"/api/employees/{employee.id}/password-link", json={"purpose": "invitation"}
            )
        token = _link_token(relay.received[0].data)
    await PasswordLink.update(
        {PasswordLink.expires_at: datetime.now(UTC) - timedelta(minutes=1)}
    ).where(PasswordLink.employee == employee.id)
    async with ApiClient.open(app) as anonymous:
        late = await anonymous.post("/api/password", json={"token": token, "new_password": NEW})
    assert late.status_code == 422 and late.json()["field"] == "token"


async def test_a_link_the_relay_refuses_is_withdrawn_and_the_reason_shown(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    employee = await make_employee(company)
    with smtp_relay() as (relay, port):
        relay.rcpt_replies = {employee.email: "550 5.1.1 No such mailbox"}
        await make_relay(company, port)
        async with ApiClient.signed_in(app, admin.email) as office:
            refused = await office.post(
                f"/api/employees/{employee.id}/password-link", json={"purpose": "reset"}
            )
    assert refused.status_code == 422
    assert "No such mailbox" in refused.json()["detail"]
    assert await PasswordLink.count().where(PasswordLink.employee == employee.id) == 0


async def test_deactivating_ends_sessions_and_reactivating_does_not_revive_them(
    app: Litestar,
) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    employee = await make_employee(company)
    async with (
        ApiClient.signed_in(app, admin.email) as office,
        ApiClient.signed_in(app, employee.email) as tablet,
    ):
        off = await office.patch(f"/api/employees/{employee.id}", json={"active": False})
        on = await office.patch(f"/api/employees/{employee.id}", json={"active": True})
        assert (off.status_code, on.status_code) == (200, 200)
        assert (await tablet.get("/api/me")).status_code == 401


async def test_another_companys_employee_gets_no_link(app: Litestar) -> None:
    admin = await make_employee(await make_company(), roles={Role.BACKOFFICE})
    stranger = await make_employee(await make_company())
    async with ApiClient.signed_in(app, admin.email) as office:
        answer = await office.post(
            f"/api/employees/{stranger.id}/password-link", json={"purpose": "reset"}
        )
    assert answer.status_code == 404
