"""Sign-in and server-side sessions.

The cookie carries a random token; the database keeps only its SHA-256, so a leaked database
does not hand out sessions. Failed sign-ins are counted per address in the database, so the
throttle holds across app processes.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.middleware.csrf import CSRFMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import Unauthorized
from organisatrice.core.statements import Statement
from organisatrice.roles import throttle
from organisatrice.roles.passwords import verify_password_off_loop
from organisatrice.roles.policy import Actor, Role
from organisatrice.roles.tables import Employee, SignInSession
from organisatrice.roles.tokens import actor_for_secret
from organisatrice.settings import get_settings

SESSION_COOKIE = "organisatrice_session"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def normalise_email(email: str) -> str:
    return email.strip().lower()


_ACTOR_COLUMNS = (
    Employee.id,
    Employee.company.id,
    Employee.company.name,
    Employee.company.email_enabled,
    Employee.first_name,
    Employee.last_name,
    Employee.email,
    Employee.locale,
    Employee.time_zone,
    Employee.roles,
    Employee.may_email,
)


def _actor(row: dict[str, Any]) -> Actor:
    return Actor(
        employee_id=row["id"],
        company_id=row["company.id"],
        company_name=row["company.name"],
        company_email_enabled=row["company.email_enabled"],
        first_name=row["first_name"],
        last_name=row["last_name"],
        email=row["email"],
        locale=row["locale"],
        time_zone=row["time_zone"],
        roles=frozenset(Role(r) for r in row["roles"] if r in Role.__members__.values()),
        may_email=row["may_email"],
    )


async def actor_of_employee(employee_id: int) -> Actor | None:
    row = (
        await Employee.select(*_ACTOR_COLUMNS)
        .where((Employee.id == employee_id) & (Employee.active == True))  # noqa: E712
        .first()
    )
    return _actor(row) if row else None


async def sign_in(email: str, password: str, source: str) -> tuple[str, Actor]:
    """Check the credentials of a sign-in from `source` (the client's address); answer a new
    session token and the signed-in employee. Throttled per account and per source."""
    email = normalise_email(email)
    failure = await throttle.attempt(email, source)
    row = (
        await Employee.select(Employee.id, Employee.password_hash)
        .where((Employee.email == email) & (Employee.active == True))  # noqa: E712
        .first()
    )
    matches = await verify_password_off_loop(row["password_hash"] if row else None, password)
    actor = await actor_of_employee(row["id"]) if matches and row is not None else None
    if actor is None:
        raise Unauthorized("Wrong email address or password.", code=Code.WRONG_CREDENTIALS)
    await throttle.succeeded(failure, actor.employee_id, email, source)
    token = secrets.token_urlsafe(32)
    async with transaction():
        await SignInSession.delete().where(SignInSession.expires_at < _now())
        await SignInSession.insert(
            SignInSession(
                token_hash=token_hash(token),
                employee=actor.employee_id,
                expires_at=_now() + timedelta(hours=get_settings().session_hours),
            )
        )
    return token, actor


async def sign_out(token: str) -> None:
    await SignInSession.delete().where(SignInSession.token_hash == token_hash(token))


_ACTOR_OF_TOKEN = Statement(
    lambda token_hash, now: (
        Employee.select(*_ACTOR_COLUMNS)
        .where(
            Employee.id.is_in(
                SignInSession.select(SignInSession.employee).where(
                    (SignInSession.token_hash == token_hash) & (SignInSession.expires_at > now)
                )
            )
            & (Employee.active == True)  # noqa: E712
        )
        .first()
    )
)


async def actor_for_token(token: str) -> Actor | None:
    """The employee signed in with `token`, in one statement (it runs before every request)."""
    row = await _ACTOR_OF_TOKEN.first(token_hash(token), _now())
    return _actor(row) if row else None


def bearer_secret(scope: Scope) -> str | None:
    """The secret of an `Authorization: Bearer …` header, if the request carries one."""
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            kind, _, secret = value.decode("latin-1").partition(" ")
            return secret.strip() if kind.lower() == "bearer" else None
    return None


def operator_asking(scope: Scope) -> bool:
    """Is the operator asking? A request from this machine itself that no proxy passed on (a
    reverse proxy on this machine connects from loopback too, and adds its forwarding headers),
    or one with the metrics token."""
    token = get_settings().metrics_token
    secret = bearer_secret(scope)
    if token and secret is not None and hmac.compare_digest(secret.encode(), token.encode()):
        return True
    if any(name in (b"x-forwarded-for", b"forwarded") for name, _ in scope.get("headers", ())):
        return False
    peer = (scope.get("client") or ("", 0))[0] or ""
    try:
        return ipaddress.ip_address(peer).is_loopback
    except ValueError:
        return False


class SessionMiddleware(ASGIMiddleware):
    """Puts who asks into the connection's `user` for every request: the signed-in employee,
    the API token's actor, or None. A request with a bearer token is judged by the token
    alone, whatever cookies it carries."""

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        # Only the API needs to know who asks; static files and the schema do not.
        actor = None
        if scope["path"].startswith("/api/"):
            secret = bearer_secret(scope)
            if secret is not None:
                actor = await actor_for_secret(secret)
            else:
                token = ASGIConnection[Any, Any, Any, Any](scope).cookies.get(SESSION_COOKIE)
                actor = await actor_for_token(token) if token else None
        scope["user"] = actor
        await next_app(scope, receive, send)


class CsrfUnlessBearer(CSRFMiddleware):
    """Litestar's CSRF check, except for requests that carry a bearer token: they are judged by
    the token alone (never by a cookie), and a browser does not add that header by itself, so
    no other site can forge one."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == ScopeType.HTTP and bearer_secret(scope) is not None:
            await self.app(scope, receive, send)
            return
        await super().__call__(scope, receive, send)
