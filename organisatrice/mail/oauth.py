"""OAuth 2.0 for relays that no longer take a password (Microsoft 365, Google Workspace).

The access token for SMTP AUTH XOAUTH2 is cached per company and renewed some minutes before it
expires, so a batch of emails, or a thousand, costs no token request. Microsoft 365 hands it
out for the tenant's app registration (client credentials); Google for the refresh token the
consent flow stored (authorization code with PKCE, its state bound to the sign-in session).
A failing token request is kept on the relay: the relay test shows it, and back-office sees it
as a notification until a token is had again.

Every request to a token endpoint goes through the outbound guard, to the address it judged.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
import warnings
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import httpx
import msgspec
from authlib.deprecate import AuthlibDeprecationWarning

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid
from organisatrice.core.outbound import WEB_PORTS, outbound_address
from organisatrice.mail.relay import OAuthGrant, Provider, encrypt_password
from organisatrice.mail.tables import MailRelay
from organisatrice.settings import get_settings

with warnings.catch_warnings():
    # authlib prefers its httpx2 fork and warns when it falls back to httpx, which the app
    # already uses for webhooks; the client API is the same.
    warnings.simplefilter("ignore", AuthlibDeprecationWarning)
    from authlib.integrations.httpx_client import AsyncOAuth2Client, OAuthError

# What the token is for: SMTP AUTH on Exchange Online, and the whole mailbox at Google (the
# only scope Gmail's SMTP takes).
SCOPES: dict[Provider, str] = {
    "microsoft": "https://outlook.office365.com/.default",
    "google": "https://mail.google.com/",
}
TIMEOUT_SECONDS = 15.0
# A consent started longer ago than this is not taken back.
CONSENT_SECONDS = 600
CALLBACK_PATH = "/api/mail/relay/oauth/callback"


class OAuthFailed(Exception):
    """A token could not be had; `code` is stable (the UI words it), `text` says it in English."""

    def __init__(self, code: Code, text: str) -> None:
        super().__init__(text)
        self.code = code
        self.text = text


class _Cached(msgspec.Struct, frozen=True):
    fingerprint: str
    token: str
    renew_at: float


_tokens: dict[int, _Cached] = {}
_locks: defaultdict[int, asyncio.Lock] = defaultdict(asyncio.Lock)


class _GuardedTransport(httpx.AsyncHTTPTransport):
    """Sends each request to the address the outbound guard judged, not to the name again (DNS
    rebinding); the name stays in the Host header and in TLS."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        address = await outbound_address(url.host, port, usual_ports=WEB_PORTS, field="token_url")
        request.url = url.copy_with(host=str(address))
        if url.scheme == "https":
            request.extensions = {**request.extensions, "sni_hostname": url.host}
        return await super().handle_async_request(request)


def _client(grant: OAuthGrant, **extra: Any) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id=grant.client_id,
        client_secret=grant.client_secret,
        scope=SCOPES[grant.provider],
        # Microsoft documents the secret in the body; Google takes it there too.
        token_endpoint_auth_method="client_secret_post",  # noqa: S106 - a method name
        transport=_GuardedTransport(),
        timeout=TIMEOUT_SECONDS,
        trust_env=False,
        follow_redirects=False,
        **extra,
    )


def token_url(grant: OAuthGrant) -> str:
    settings = get_settings()
    if grant.provider == "microsoft":
        return settings.oauth_microsoft_token_url.replace("{tenant}", grant.tenant)
    return settings.oauth_google_token_url


def _failure(error: BaseException) -> OAuthFailed:
    if isinstance(error, OAuthFailed):
        return error
    if isinstance(error, OAuthError):
        said = f"{error.error}: {error.description}" if error.description else str(error.error)
        said = " ".join(said.split())[:300]
        if error.error == "invalid_grant":
            return OAuthFailed(
                Code.OAUTH_GRANT_REVOKED,
                f"The provider no longer accepts the app's access ({said}): it was revoked or "
                "has expired. Connect the account again in the relay settings.",
            )
        if error.error in ("invalid_client", "unauthorized_client"):
            return OAuthFailed(
                Code.OAUTH_CLIENT_REFUSED,
                f"The provider refuses the client id or secret ({said}). Check them in the "
                "relay settings; a client secret may have expired.",
            )
        return OAuthFailed(Code.OAUTH_REFUSED, f"The provider refused a token ({said}).")
    if isinstance(error, Invalid):
        return OAuthFailed(
            Code.OAUTH_UNREACHABLE, f"The token endpoint is not allowed: {error.detail}"
        )
    if isinstance(error, httpx.HTTPStatusError):
        return OAuthFailed(
            Code.OAUTH_UNREACHABLE,
            f"The token endpoint answered HTTP {error.response.status_code}; try again later.",
        )
    return OAuthFailed(
        Code.OAUTH_UNREACHABLE,
        f"The token endpoint could not be reached ({type(error).__name__}); try again later.",
    )


async def _request_token(grant: OAuthGrant) -> dict[str, Any]:
    if grant.provider == "google" and not grant.refresh_token:
        raise OAuthFailed(
            Code.OAUTH_NOT_CONNECTED,
            "The Google account is not connected yet: use Connect in the relay settings.",
        )
    try:
        async with _client(grant) as client:
            if grant.provider == "microsoft":
                token = await client.fetch_token(token_url(grant), grant_type="client_credentials")
            else:
                token = await client.refresh_token(
                    token_url(grant), refresh_token=grant.refresh_token
                )
    except (OAuthError, Invalid, httpx.HTTPError, ValueError) as error:
        raise _failure(error) from error
    if not token.get("access_token"):
        raise OAuthFailed(Code.OAUTH_REFUSED, "The provider's answer holds no access token.")
    return dict(token)


def _renew_at(token: dict[str, Any], now: float) -> float:
    """When to ask again: the margin before expiry, or half-way for a short-lived token."""
    lifetime = float(token.get("expires_in") or 3600)
    return now + max(lifetime - get_settings().oauth_refresh_margin_seconds, lifetime / 2)


async def access_token(grant: OAuthGrant) -> str:
    """A valid access token for the company's relay: the cached one while it has more than the
    margin to live, else a new one (one request at a time per company). `OAuthFailed` when none
    can be had; the failure is then on record for the relay test and the notifications."""
    fingerprint = grant.fingerprint
    cached = _tokens.get(grant.company_id)
    if cached and cached.fingerprint == fingerprint and time.time() < cached.renew_at:
        return cached.token
    async with _locks[grant.company_id]:
        cached = _tokens.get(grant.company_id)
        if cached and cached.fingerprint == fingerprint and time.time() < cached.renew_at:
            return cached.token
        try:
            token = await _request_token(grant)
        except OAuthFailed as failed:
            await _record_failure(grant.company_id, failed)
            raise
        rotated = token.get("refresh_token")
        if rotated and rotated != grant.refresh_token:
            # Some providers hand out a new refresh token with each use; the old one stops.
            await _store_refresh_token(grant.company_id, str(rotated))
            fingerprint = msgspec.structs.replace(grant, refresh_token=str(rotated)).fingerprint
        if grant.failing:
            await _clear_failure(grant.company_id)
        _tokens[grant.company_id] = _Cached(
            fingerprint, str(token["access_token"]), _renew_at(token, time.time())
        )
        return str(token["access_token"])


def forget(company_id: int) -> None:
    """Drop the cached token: the relay refused it, or the grant changed."""
    _tokens.pop(company_id, None)


async def _record_failure(company_id: int, failed: OAuthFailed) -> None:
    await MailRelay.update(
        {
            MailRelay.oauth_failure: failed.text,
            MailRelay.oauth_failure_code: failed.code,
            MailRelay.oauth_failed_at: datetime.now(UTC),
        }
    ).where(MailRelay.company == company_id)


async def _clear_failure(company_id: int) -> None:
    await MailRelay.update(
        {
            MailRelay.oauth_failure: "",
            MailRelay.oauth_failure_code: "",
            MailRelay.oauth_failed_at: None,
        }
    ).where(MailRelay.company == company_id)


async def _store_refresh_token(company_id: int, refresh_token: str) -> None:
    await MailRelay.update(
        {MailRelay.oauth_refresh_token_encrypted: encrypt_password(refresh_token)}
    ).where(MailRelay.company == company_id)


# The consent flow (Google). The state names the company, the employee and a hash of the sign-in
# session, with a time and a MAC keyed from SECRET_KEY: the callback takes back only a state
# started in the same session, not long ago. The PKCE verifier is derived from the state with
# the same key, so nothing needs storing between the two requests, and whoever sees the state
# in an address cannot derive the verifier.


def _key(purpose: bytes) -> bytes:
    return hashlib.sha256(
        b"organisatrice relay oauth\0" + purpose + get_settings().secret_key.encode()
    ).digest()


def _mac(message: str) -> str:
    digest = hmac.new(_key(b"state"), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _verifier(state: str) -> str:
    digest = hmac.new(_key(b"pkce"), state.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=") + "-pkce-verifier"


def redirect_uri() -> str:
    return get_settings().public_url + CALLBACK_PATH


def consent_url(grant: OAuthGrant, *, employee_id: int, session: str, login_hint: str) -> str:
    """The provider's consent page for this company's relay account."""
    started = str(int(time.time()))
    nonce = secrets.token_urlsafe(16)
    bound = f"{grant.company_id}.{employee_id}.{started}.{nonce}"
    state = f"{bound}.{_mac(f'{bound}.{session}')}"
    client = _client(grant, redirect_uri=redirect_uri(), code_challenge_method="S256")
    url, _ = client.create_authorization_url(
        get_settings().oauth_google_authorize_url,
        state=state,
        code_verifier=_verifier(state),
        # A refresh token is given only for offline access, and again only with a new consent.
        access_type="offline",
        prompt="consent",
        login_hint=login_hint or None,
    )
    return str(url)


def check_state(state: str, *, company_id: int, employee_id: int, session: str) -> None:
    """`Invalid` unless the state was started by this employee in this session, recently."""
    parts = state.split(".")
    if len(parts) != 5:
        raise Invalid(
            "The answer of the provider does not belong to a consent started here.",
            field="state",
            code=Code.OAUTH_STATE_MISMATCH,
        )
    bound, mac = ".".join(parts[:4]), parts[4]
    if not hmac.compare_digest(mac, _mac(f"{bound}.{session}")) or parts[:2] != [
        str(company_id),
        str(employee_id),
    ]:
        raise Invalid(
            "The answer of the provider does not belong to a consent started in this session.",
            field="state",
            code=Code.OAUTH_STATE_MISMATCH,
        )
    if not parts[2].isdigit() or time.time() - int(parts[2]) > CONSENT_SECONDS:
        raise Invalid(
            "The consent took too long: start it again.",
            field="state",
            code=Code.OAUTH_CONSENT_EXPIRED,
        )


async def exchange_code(grant: OAuthGrant, *, code: str, state: str) -> str:
    """The refresh token the provider gives for the consent's code."""
    try:
        async with _client(grant, redirect_uri=redirect_uri()) as client:
            token = await client.fetch_token(
                token_url(grant), code=code, code_verifier=_verifier(state)
            )
    except (OAuthError, Invalid, httpx.HTTPError, ValueError) as error:
        raise _failure(error) from error
    refresh_token = token.get("refresh_token")
    if not refresh_token:
        raise OAuthFailed(
            Code.OAUTH_NO_REFRESH_TOKEN,
            "The provider gave no refresh token: remove the app's access in the Google "
            "account and connect again.",
        )
    forget(grant.company_id)
    return str(refresh_token)
