"""Failed sign-ins, counted so that an attacker can neither guess passwords nor lock people out.

Every attempt is written down as a failure *before* its password is checked, in a transaction
that also counts (and, on PostgreSQL, holds a lock per address and per source while it does):
30 attempts at once check at most the allowed number of passwords, in any process. A success
takes its own failure back. Two limits apply in one window:

- per account: failures for the address. From a source the employee signed in from lately
  (their office, their tablet's network) only failures from that source count, so strangers
  elsewhere cannot lock them out where they work;
- per source: failures from one client address over all addresses, so trying 40 addresses
  one after the other is throttled too.

Failures older than the window are deleted as attempts come, whoever they were for.
"""

from __future__ import annotations

import ipaddress
from datetime import UTC, datetime, timedelta
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from organisatrice.core.codes import Code
from organisatrice.core.db import engine, transaction
from organisatrice.core.errors import TooManyRequests
from organisatrice.roles.tables import Employee, SignInFailure
from organisatrice.settings import get_settings

# How many sources an employee's "usual" list keeps.
USUAL_SOURCES = 5


def _now() -> datetime:
    return datetime.now(UTC)


def client_address(scope: Any) -> str:
    """Who is asking: the peer's address; behind a trusted reverse proxy, the last address in
    X-Forwarded-For that is not itself a trusted proxy. Never a header from anyone else."""
    peer = (scope.get("client") or ("", 0))[0] or ""
    trusted = get_settings().trusted_proxies
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    forwarded = ""
    for name, value in scope.get("headers", ()):
        if name == b"x-forwarded-for":
            forwarded = f"{forwarded},{value.decode('latin-1')}" if forwarded else value.decode()
    for hop in reversed([h.strip() for h in forwarded.split(",") if h.strip()]):
        if not _is_trusted(hop, trusted):
            return hop[:45]
    return peer


def _is_trusted(address: str, trusted: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in trusted)


async def _lock(*keys: str) -> None:
    """On PostgreSQL, serialise the attempts for these keys until the transaction ends (SQLite's
    write transactions are serial already)."""
    db = engine()
    if isinstance(db, PostgresEngine):
        for key in sorted(keys):
            await SignInFailure.raw("SELECT pg_advisory_xact_lock(hashtext({}))", key)


async def attempt(email: str, source: str) -> int:
    """Write the attempt down as a failure and check both limits; answers the failure's id, to
    take back when the password was right. Over a limit: TooManyRequests (the attempt stays a
    failure, so hammering on does not shorten the wait)."""
    settings = get_settings()
    now = _now()
    since = now - timedelta(seconds=settings.sign_in_window_seconds)
    async with transaction():
        await _lock(f"sign-in:{email}", f"sign-in-source:{source}")
        await SignInFailure.delete().where(SignInFailure.at <= since)
        row = SignInFailure(email=email, source=source, at=now)
        await row.save()
        usual = await Employee.select(Employee.usual_sources).where(Employee.email == email).first()
        same_account = (SignInFailure.email == email) & (SignInFailure.at > since)
        if usual is not None and source in usual["usual_sources"]:
            same_account = same_account & (SignInFailure.source == source)
        account = await SignInFailure.select(SignInFailure.at).where(same_account)
        from_source = await SignInFailure.select(SignInFailure.at).where(
            (SignInFailure.source == source) & (SignInFailure.at > since)
        )
    if len(account) > settings.sign_in_attempts:
        raise _wait(account, settings.sign_in_attempts, since, "for this address")
    if len(from_source) > settings.sign_in_source_attempts:
        raise _wait(from_source, settings.sign_in_source_attempts, since, "from your network")
    return int(row.id)


def _wait(failures: list[dict[str, Any]], limit: int, since: datetime, what: str) -> Exception:
    times = sorted(f["at"] for f in failures)
    wait = int((times[-limit - 1] - since).total_seconds()) + 1
    return TooManyRequests(
        f"Too many failed sign-ins {what}. Try again in {wait // 60 + 1} minutes "
        "or ask back-office to reset your password.",
        code=Code.TOO_MANY_SIGN_INS,
        params={"minutes": wait // 60 + 1},
        retry_after=wait,
    )


async def succeeded(failure_id: int, employee_id: int, email: str, source: str) -> None:
    """The password was right: this attempt and the earlier failures from this source go, and
    the source becomes one of the employee's usual ones."""
    async with transaction():
        await SignInFailure.delete().where(
            (SignInFailure.id == failure_id)
            | ((SignInFailure.email == email) & (SignInFailure.source == source))
        )
        row = (
            await Employee.select(Employee.usual_sources).where(Employee.id == employee_id).first()
        )
        usual = [s for s in (row["usual_sources"] if row else []) if s != source]
        await Employee.update({Employee.usual_sources: [source, *usual][:USUAL_SOURCES]}).where(
            Employee.id == employee_id
        )
