"""API tokens: how a machine (an ERP, a field-service system) acts for a company.

A token is a random secret shown once; the database keeps its SHA-256, as for sessions. A
request with `Authorization: Bearer <secret>` acts for the token's company with exactly the
token's scopes (policy.py), needs no CSRF token (a browser never sends this header on its own),
and whatever it changes is recorded as the token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid, NotFound
from organisatrice.core.statements import Statement
from organisatrice.roles.policy import Actor, Scope
from organisatrice.roles.schemas import ApiTokenCreated, ApiTokenIn, ApiTokenOut
from organisatrice.roles.tables import ApiToken

TOKEN_PREFIX = "org_"  # noqa: S105 - a marker, not a secret
# A token's use is written down at most this often: not a write on every request.
LAST_USED_PRECISION = timedelta(minutes=1)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def _out(row: dict[str, Any], now: datetime) -> ApiTokenOut:
    first, last = row.get("created_by.first_name"), row.get("created_by.last_name")
    expired = row["expires_at"] is not None and row["expires_at"] <= now
    return ApiTokenOut(
        id=row["id"],
        name=row["name"],
        scopes=[Scope(s) for s in row["scopes"] if s in Scope.__members__.values()],
        prefix=row["prefix"],
        created_at=row["created_at"],
        created_by_name=" ".join(p for p in (first, last) if p),
        last_used_at=row["last_used_at"],
        expires_at=row["expires_at"],
        revoked_at=row["revoked_at"],
        active=row["revoked_at"] is None and not expired,
    )


_COLUMNS = (
    *ApiToken.all_columns(exclude=[ApiToken.created_by, ApiToken.token_hash]),
    ApiToken.created_by.first_name,
    ApiToken.created_by.last_name,
)


async def list_tokens(actor: Actor) -> list[ApiTokenOut]:
    rows = (
        await ApiToken.select(*_COLUMNS)
        .where(ApiToken.company == actor.company_id)
        .order_by(ApiToken.id, ascending=False)
    )
    now = _now()
    return [_out(r, now) for r in rows]


async def _token_of_company(actor: Actor, token_id: int) -> ApiTokenOut:
    row = (
        await ApiToken.select(*_COLUMNS)
        .where((ApiToken.company == actor.company_id) & (ApiToken.id == token_id))
        .first()
    )
    if row is None:
        raise NotFound(
            f"API token {token_id} does not exist.",
            code=Code.TOKEN_NOT_FOUND,
            params={"id": token_id},
        )
    return _out(row, _now())


async def create_token(actor: Actor, data: ApiTokenIn) -> ApiTokenCreated:
    now = _now()
    if data.expires_at is not None:
        if data.expires_at.tzinfo is None:
            raise Invalid(
                "Give the expiry with its time zone, e.g. 2027-01-01T00:00:00+01:00.",
                code=Code.TIME_ZONE_MISSING,
                field="expires_at",
            )
        if data.expires_at <= now:
            raise Invalid(
                "The expiry must lie in the future.",
                code=Code.EXPIRY_IN_PAST,
                field="expires_at",
            )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        company=actor.company_id,
        name=data.name.strip(),
        scopes=sorted({s.value for s in data.scopes}),
        token_hash=_hash(secret),
        prefix=secret[: len(TOKEN_PREFIX) + 6],
        created_by=actor.employee_id or None,
        expires_at=data.expires_at,
    )
    await row.save()
    return ApiTokenCreated(token=await _token_of_company(actor, row.id), secret=secret)


async def revoke_token(actor: Actor, token_id: int) -> ApiTokenOut:
    await _token_of_company(actor, token_id)
    await ApiToken.update({ApiToken.revoked_at: _now()}).where(
        (ApiToken.id == token_id) & (ApiToken.revoked_at.is_null())
    )
    return await _token_of_company(actor, token_id)


_TOKEN = Statement(
    lambda token_hash: (
        ApiToken.select(
            ApiToken.id,
            ApiToken.scopes,
            ApiToken.name,
            ApiToken.expires_at,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
            ApiToken.company.id,
            ApiToken.company.name,
            ApiToken.company.email_enabled,
        )
        .where(ApiToken.token_hash == token_hash)
        .first()
    )
)


async def actor_for_secret(secret: str) -> Actor | None:
    """The actor a bearer secret stands for; None when unknown, revoked or expired."""
    if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
        return None
    row = await _TOKEN.first(_hash(secret))
    now = _now()
    if row is None or row["revoked_at"] is not None:
        return None
    if row["expires_at"] is not None and row["expires_at"] <= now:
        return None
    last_used = row["last_used_at"]
    if last_used is None or now - last_used > LAST_USED_PRECISION:
        await ApiToken.update({ApiToken.last_used_at: now}).where(ApiToken.id == row["id"])
    return Actor(
        employee_id=0,
        company_id=row["company.id"],
        company_name=row["company.name"],
        company_email_enabled=row["company.email_enabled"],
        first_name=row["name"],
        last_name="",
        email="",
        locale="en",
        time_zone="UTC",
        roles=frozenset(),
        may_email=False,
        token_id=row["id"],
        scopes=frozenset(Scope(s) for s in row["scopes"] if s in Scope.__members__.values()),
    )
