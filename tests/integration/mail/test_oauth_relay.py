"""Relays that want OAuth 2.0 (SASL XOAUTH2), against the project's local OAuth server and an
aiosmtpd relay on 127.0.0.1 that offers only XOAUTH2 and checks each token with that server;
the EHLO name; and the relay test's findings, step by step."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiosmtplib
import httpx
import msgspec
import pytest
from aiosmtpd.controller import Controller
from litestar import Litestar

from organisatrice.mail import oauth
from organisatrice.mail.relay import encrypt_password, relay_of
from organisatrice.mail.smtp import RelaySession
from organisatrice.mail.tables import MailRelay
from organisatrice.roles.policy import Role
from organisatrice.roles.tables import Company
from organisatrice.settings import get_settings
from tests.client import ApiClient
from tests.factories import make_company, make_employee
from tests.oauth_server import OAuthServer, oauth_server, xoauth2_relay
from tests.smtp_relay import free_port, smtp_relay

MAILBOX = "office@firm-mail.example"


@pytest.fixture
def issuer() -> Iterator[OAuthServer]:
    """The local OAuth server, and the settings pointing the app's token endpoints at it."""
    with oauth_server() as server, pytest.MonkeyPatch.context() as patch:
        patch.setenv("OAUTH_MICROSOFT_TOKEN_URL", f"{server.base}/{{tenant}}/oauth2/v2.0/token")
        patch.setenv("OAUTH_GOOGLE_AUTHORIZE_URL", f"{server.base}/authorize")
        patch.setenv("OAUTH_GOOGLE_TOKEN_URL", f"{server.base}/token")
        get_settings.cache_clear()
        yield server
    get_settings.cache_clear()


def _microsoft(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "host": "127.0.0.1",
        "port": port,
        "tls_mode": "none",
        "username": MAILBOX,
        "auth_method": "microsoft",
        "oauth_tenant": "contoso.onmicrosoft.com",
        "oauth_client_id": "app-1",
        "oauth_client_secret": "app-secret-1",
        **extra,
    }


async def _backoffice() -> tuple[int, str]:
    company = await make_company()
    await Company.update({Company.sender_address: MAILBOX}).where(Company.id == company)
    boss = await make_employee(company, roles={Role.BACKOFFICE})
    return company, boss.email


async def test_a_microsoft_relay_takes_the_apps_token_and_hears_the_sending_domain(
    app: Litestar, issuer: OAuthServer
) -> None:
    issuer.clients["app-1"] = "app-secret-1"
    company, boss = await _backoffice()
    with xoauth2_relay(issuer) as (relay, port):
        async with ApiClient.signed_in(app, boss) as client:
            saved = await client.put("/api/mail/relay", json=_microsoft(port))
            assert saved.status_code == 200, saved.text
            assert saved.json()["oauth_client_secret_set"] is True
            assert "app-secret-1" not in saved.text
            tested = (await client.post("/api/mail/relay/test")).json()
        assert tested["ok"] is True, tested
        steps = {f["step"]: (f["outcome"], f["code"]) for f in tested["findings"]}
        assert steps["authentication"] == ("passed", "auth_oauth_ok")
        assert steps["connection"] == ("passed", "connection_ok")
        assert steps["sender"] == ("passed", "sender_ok")
        # Five more sessions (five worker batches) on the cached token: no new token request.
        for _ in range(5):
            async with RelaySession(await relay_of(company), timeout=5):
                pass
    assert relay.signed_in == [MAILBOX] * 6
    assert issuer.token_requests == 1
    assert relay.helo_names and set(relay.helo_names) == {"firm-mail.example"}
    row = await MailRelay.select().where(MailRelay.company == company).first()
    assert row is not None and "app-secret-1" not in row["oauth_client_secret_encrypted"]


async def test_the_relay_refuses_an_expired_token(issuer: OAuthServer) -> None:
    issuer.clients["app-1"] = "app-secret-1"
    issuer.lifetime = 1
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{issuer.base}/t/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "app-1",
                "client_secret": "app-secret-1",
            },
        )
    token = answer.json()["access_token"]
    with xoauth2_relay(issuer) as (_, port):
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
            await smtp.auth_xoauth2(MAILBOX, token)
        await asyncio.sleep(1.2)
        async with aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False) as smtp:
            with pytest.raises(aiosmtplib.SMTPAuthenticationError) as refused:
                await smtp.auth_xoauth2(MAILBOX, token)
    assert refused.value.code == 535


async def test_the_token_is_renewed_before_it_expires(issuer: OAuthServer) -> None:
    issuer.clients["app-1"] = "app-secret-1"
    # Shorter than twice the renewal margin: renewed half-way through its life.
    issuer.lifetime = 4
    company, _ = await _backoffice()
    await MailRelay.insert(
        MailRelay(
            company=company,
            host="127.0.0.1",
            port=25,
            tls_mode="none",
            username=MAILBOX,
            auth_method="microsoft",
            oauth_tenant="t",
            oauth_client_id="app-1",
            oauth_client_secret_encrypted=encrypt_password("app-secret-1"),
        )
    )
    grant = (await relay_of(company)).oauth
    assert grant is not None
    first = await oauth.access_token(grant)
    assert await oauth.access_token(grant) == first and issuer.token_requests == 1
    await asyncio.sleep(2.3)
    second = await oauth.access_token(grant)
    assert second != first and issuer.token_requests == 2
    assert issuer.valid(first), "renewed only once the old token had expired"


async def test_google_consent_then_a_revoked_grant_fails_the_relay_test_and_notifies(
    app: Litestar, issuer: OAuthServer
) -> None:
    issuer.clients["google-app.apps.googleusercontent.com"] = "g-secret"
    company, boss = await _backoffice()
    with xoauth2_relay(issuer) as (relay, port):
        async with ApiClient.signed_in(app, boss) as client:
            saved = await client.put(
                "/api/mail/relay",
                json={
                    **_microsoft(port),
                    "auth_method": "google",
                    "oauth_tenant": "",
                    "oauth_client_id": "google-app.apps.googleusercontent.com",
                    "oauth_client_secret": "g-secret",
                },
            )
            assert saved.json()["oauth_connected"] is False
            not_yet = (await client.post("/api/mail/relay/test")).json()
            assert not_yet["ok"] is False
            assert {"step": "authentication", "code": "oauth_not_connected"}.items() <= next(
                f for f in not_yet["findings"] if f["step"] == "authentication"
            ).items()

            started = await client.post("/api/mail/relay/oauth/connect")
            assert started.status_code == 200, started.text
            consent = urlsplit(started.json()["authorization_url"])
            asked = parse_qs(consent.query)
            assert asked["access_type"] == ["offline"] and asked["code_challenge_method"] == [
                "S256"
            ]
            assert asked["login_hint"] == [MAILBOX]
            async with httpx.AsyncClient() as browser:
                back = (await browser.get(started.json()["authorization_url"])).headers["location"]
            callback = urlsplit(back)
            assert callback.path == "/api/mail/relay/oauth/callback"

            # The same answer in another sign-in session of the same person is not taken.
            async with ApiClient.signed_in(app, boss) as elsewhere:
                stolen = await elsewhere.get(f"{callback.path}?{callback.query}")
            assert stolen.status_code in (302, 303)
            assert "oauth_error=" in stolen.headers["location"]

            answered = await client.get(f"{callback.path}?{callback.query}")
            assert answered.status_code in (302, 303)
            assert answered.headers["location"].endswith("#/admin/company?oauth=connected")
            assert (await client.get("/api/mail/relay")).json()["oauth_connected"] is True
            assert (await client.post("/api/mail/relay/test")).json()["ok"] is True
            assert relay.signed_in == [MAILBOX]

            issuer.revoke_all()
            tested = (await client.post("/api/mail/relay/test")).json()
            notices = (await client.get("/api/notifications/relay")).json()
            shown = (await client.get("/api/mail/relay")).json()
    assert tested["ok"] is False
    failed = next(f for f in tested["findings"] if f["outcome"] == "failed")
    assert failed["step"] == "authentication" and failed["code"] == "oauth_grant_revoked"
    assert "Connect the account again" in failed["text"]
    assert [n["code"] for n in notices] == ["oauth_grant_revoked"]
    assert shown["oauth_failure_code"] == "oauth_grant_revoked"
    row = await MailRelay.select().where(MailRelay.company == company).first()
    assert row is not None and row["oauth_refresh_token_encrypted"]
    assert all(t not in row["oauth_refresh_token_encrypted"] for t in issuer.refresh_tokens)


async def test_a_dispatcher_sees_no_relay_notice_and_may_not_connect(
    app: Litestar, issuer: OAuthServer
) -> None:
    company, _ = await _backoffice()
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        assert (await client.get("/api/notifications/relay")).json() == []
        assert (await client.post("/api/mail/relay/oauth/connect")).status_code == 403


async def test_oauth_settings_missing_a_fact_are_refused_with_its_field(
    app: Litestar, issuer: OAuthServer
) -> None:
    _, boss = await _backoffice()
    async with ApiClient.signed_in(app, boss) as client:
        for missing, field in (
            ({"oauth_tenant": ""}, "oauth_tenant"),
            ({"oauth_client_id": ""}, "oauth_client_id"),
            ({"oauth_client_secret": ""}, "oauth_client_secret"),
            ({"username": ""}, "username"),
        ):
            refused = await client.put("/api/mail/relay", json=_microsoft(587, **missing))
            assert refused.status_code == 422, refused.text
            assert refused.json()["field"] == field
        assert (await client.post("/api/mail/relay/oauth/connect")).status_code == 422


async def test_a_relay_without_xoauth2_is_named_as_the_failing_step(
    app: Litestar, issuer: OAuthServer
) -> None:
    issuer.clients["app-1"] = "app-secret-1"
    _, boss = await _backoffice()
    with smtp_relay() as (_, port):
        async with ApiClient.signed_in(app, boss) as client:
            await client.put("/api/mail/relay", json=_microsoft(port))
            tested = (await client.post("/api/mail/relay/test")).json()
    outcomes = [(f["step"], f["outcome"], f["code"]) for f in tested["findings"]]
    assert outcomes == [
        ("connection", "passed", "connection_ok"),
        ("tls", "warning", "tls_off"),
        ("authentication", "failed", "auth_mechanism_missing"),
        ("sender", "skipped", "not_tried"),
        ("return_path", "skipped", "not_tried"),
        ("dsn", "skipped", "not_tried"),
    ]


async def test_the_relay_test_names_each_step(app: Litestar) -> None:
    _, boss = await _backoffice()
    async with ApiClient.signed_in(app, boss) as client:
        with smtp_relay(dsn=True) as (_, port):
            await client.put(
                "/api/mail/relay",
                json={"host": "127.0.0.1", "port": port, "tls_mode": "none"},
            )
            tested = (await client.post("/api/mail/relay/test")).json()
        codes = {f["step"]: f["code"] for f in tested["findings"]}
        assert codes == {
            "connection": "connection_ok",
            "tls": "tls_off",
            "authentication": "auth_none",
            "sender": "sender_ok",
            "return_path": "return_path_ok",
            "dsn": "dsn_ok",
        }
        await client.put(
            "/api/mail/relay", json={"host": "127.0.0.1", "port": free_port(), "tls_mode": "none"}
        )
        down = (await client.post("/api/mail/relay/test")).json()
    assert down["findings"][0] == {
        "step": "connection",
        "outcome": "failed",
        "code": "connection_refused",
        "text": down["detail"],
        "reply": "",
    }


class Greeted:
    def __init__(self) -> None:
        self.names: list[str] = []

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.names.append(hostname)
        session.host_name = hostname
        return responses


async def test_ehlo_names_the_configured_helo_name_else_the_sending_domain(app: Litestar) -> None:
    company, _ = await _backoffice()
    greeted = Greeted()
    port = free_port()
    controller = Controller(greeted, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        relay = msgspec.structs.replace(await relay_of(company), port=port)
        async with RelaySession(relay, timeout=5):
            pass
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("SMTP_HELO_NAME", "mx-out.firm.example")
            get_settings.cache_clear()
            relay = msgspec.structs.replace(await relay_of(company), port=port)
            async with RelaySession(relay, timeout=5):
                pass
    finally:
        get_settings.cache_clear()
        controller.stop()
    assert greeted.names == ["firm-mail.example", "mx-out.firm.example"]
