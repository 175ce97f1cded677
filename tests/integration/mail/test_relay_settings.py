"""Back-office sets the relay: the password is kept encrypted and never returned; the
connection test reports what the relay said and whether delivery reports can come back."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar

from organisatrice.mail.relay import relay_of
from organisatrice.mail.tables import MailRelay
from organisatrice.roles.policy import Role
from organisatrice.roles.tables import PermissionChange
from tests.client import ApiClient
from tests.factories import make_company, make_employee
from tests.smtp_relay import free_port, smtp_relay


def _relay(port: int, **extra: Any) -> dict[str, Any]:
    return {"host": "127.0.0.1", "port": port, "tls_mode": "none", **extra}


async def test_the_relay_password_is_stored_encrypted_and_never_returned(app: Litestar) -> None:
    company = await make_company()
    boss = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, boss.email) as client:
        assert (await client.get("/api/mail/relay")).json()["configured"] is False
        saved = await client.put(
            "/api/mail/relay",
            json=_relay(587, username="office", password="s3cret-relay-pw", daily_limit=50),
        )
        assert saved.status_code == 200, saved.text
        assert "password" not in saved.json() and saved.json()["password_set"] is True
        changed = await client.put("/api/mail/relay", json=_relay(2587, username="office"))
        assert changed.json()["port"] == 2587
    row = await MailRelay.select().where(MailRelay.company == company).first()
    assert row is not None
    assert "s3cret" not in row["password_encrypted"] and row["password_encrypted"]
    relay = await relay_of(company)
    assert relay.password == "s3cret-relay-pw"  # kept when the form left it out
    assert relay.daily_limit == 300  # the second save set the default again
    assert (
        await PermissionChange.count().where(
            (PermissionChange.company == company) & (PermissionChange.field == "mail_relay")
        )
        == 2
    )


async def test_bad_relay_settings_are_refused_and_change_nothing(app: Litestar) -> None:
    company = await make_company()
    boss = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, boss.email) as client:
        for bad in (
            _relay(0),
            _relay(25, tls_mode="ssl3"),
            {**_relay(25), "host": "relay.example\r\nRCPT TO:<x@y>"},
            _relay(25, daily_limit=500, monthly_limit=100),
        ):
            answer = await client.put("/api/mail/relay", json=bad)
            assert answer.status_code in (400, 422), bad
        assert (await client.get("/api/mail/relay")).json()["configured"] is False
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        assert (await client.put("/api/mail/relay", json=_relay(25))).status_code == 403


async def test_connection_test_reports_dsn_and_tracking(app: Litestar) -> None:
    company = await make_company()
    boss = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, boss.email) as client:
        with smtp_relay(dsn=True) as (_, port):
            await client.put(
                "/api/mail/relay", json=_relay(port, bounce_domain="bounces.firm.example")
            )
            result = (await client.post("/api/mail/relay/test")).json()
        assert result["ok"] is True and result["dsn"] is True and result["tracking"] is True
        assert "announces DSN" in result["detail"]
        down = free_port()
        await client.put("/api/mail/relay", json=_relay(down))
        result = (await client.post("/api/mail/relay/test")).json()
        assert result["ok"] is False and "could not be reached" in result["detail"]


async def test_connection_test_says_when_the_relay_refuses_our_return_address(
    app: Litestar,
) -> None:
    company = await make_company()
    boss = await make_employee(company, roles={Role.BACKOFFICE})

    class Picky:
        async def handle_MAIL(
            self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
        ) -> str:
            return "553 5.7.1 Sender address not owned by this account"

    port = free_port()
    picky = Controller(Picky(), hostname="127.0.0.1", port=port)
    picky.start()
    try:
        async with ApiClient.signed_in(app, boss.email) as client:
            await client.put(
                "/api/mail/relay", json=_relay(port, bounce_domain="bounces.firm.example")
            )
            result = (await client.post("/api/mail/relay/test")).json()
    finally:
        picky.stop()
    assert result["ok"] is True and result["tracking"] is False
    assert "refuses our return address" in result["detail"]
    assert "553 5.7.1" in result["detail"]


@pytest.mark.usefixtures("guard_as_shipped")
@pytest.mark.parametrize(
    ("host", "port", "says"),
    [
        ("127.0.0.1", 587, "a loopback address"),
        ("169.254.169.254", 587, "a link-local address"),
        ("10.0.0.8", 587, "a private address"),
    ],
)
async def test_a_relay_on_an_internal_address_is_refused(
    app: Litestar, host: str, port: int, says: str
) -> None:
    company = await make_company()
    boss = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, boss.email) as client:
        refused = await client.put("/api/mail/relay", json={**_relay(port), "host": host})
    assert refused.status_code == 422 and refused.json()["field"] == "host"
    assert says in refused.json()["detail"]
    assert await MailRelay.count().where(MailRelay.company == company) == 0


async def test_the_relay_test_never_reads_out_what_a_non_smtp_peer_says(app: Litestar) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 400 Bad Request\r\nServer: internal-admin-7.3 secret-banner\r\n\r\n"
        )
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    company = await make_company()
    boss = await make_employee(company, roles={Role.BACKOFFICE})
    try:
        async with ApiClient.signed_in(app, boss.email) as client:
            assert (await client.put("/api/mail/relay", json=_relay(port))).status_code == 200
            tested = (await client.post("/api/mail/relay/test")).json()
    finally:
        server.close()
        await server.wait_closed()
    assert tested["ok"] is False
    assert "secret-banner" not in tested["detail"] and "HTTP" not in tested["detail"]
    assert "not an SMTP server" in tested["detail"]
