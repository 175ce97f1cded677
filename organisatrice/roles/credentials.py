"""Passwords and sessions over an account's life: change your own password, set one through a
single-use link (a reset back-office sent, or an invitation), sign out everywhere.

Changing, resetting or setting a password and deactivating an employee end every session of
that employee (a changed password keeps only the session that changed it), so a stolen cookie
dies with the password it came from.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import Invalid, NotFound
from organisatrice.roles.passwords import (
    MIN_LENGTH,
    hash_password_off_loop,
    verify_password_off_loop,
)
from organisatrice.roles.policy import Actor
from organisatrice.roles.tables import Employee, PasswordLink, SignInFailure, SignInSession

LINK_HOURS = 24


class LinkPurpose:
    RESET = "reset"
    INVITATION = "invitation"


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(UTC)


def checked_new_password(password: str, field: str = "new_password") -> str:
    if len(password) < MIN_LENGTH:
        raise Invalid(
            f"The password must have at least {MIN_LENGTH} characters.",
            code=Code.PASSWORD_TOO_SHORT,
            params={"min": MIN_LENGTH},
            field=field,
        )
    return password


async def end_sessions(employee_id: int, *, keep_token_hash: str | None = None) -> None:
    """End the employee's sessions, all of them or all but one."""
    where: Any = SignInSession.employee == employee_id
    if keep_token_hash is not None:
        where = where & (SignInSession.token_hash != keep_token_hash)
    await SignInSession.delete().where(where)


async def change_password(
    actor: Actor, current: str, new: str, *, session_token_hash: str | None
) -> None:
    """The signed-in employee's own password, the current one required; their other sessions
    end."""
    checked_new_password(new)
    row = await Employee.select(Employee.password_hash).where(Employee.id == actor.employee_id)
    if not row or not await verify_password_off_loop(row[0]["password_hash"], current):
        raise Invalid(
            "The current password is not right.",
            code=Code.WRONG_PASSWORD,
            field="current_password",
        )
    hashed = await hash_password_off_loop(new)
    async with transaction():
        await Employee.update({Employee.password_hash: hashed}).where(
            Employee.id == actor.employee_id
        )
        await end_sessions(actor.employee_id, keep_token_hash=session_token_hash)


async def issue_link(actor: Actor, employee_id: int, purpose: str) -> str:
    """A new single-use link secret for an employee of the actor's company; earlier unused links
    of the employee stop working."""
    employee = await Employee.select(Employee.id, Employee.active).where(
        (Employee.id == employee_id) & (Employee.company == actor.company_id)
    )
    if not employee:
        raise NotFound(
            f"Employee {employee_id} does not exist.",
            code=Code.EMPLOYEE_NOT_FOUND,
            params={"id": employee_id},
        )
    if not employee[0]["active"]:
        raise Invalid(
            "The employee is deactivated; activate them first.",
            code=Code.EMPLOYEE_INACTIVE,
            field="employee_id",
        )
    secret = secrets.token_urlsafe(32)
    async with transaction():
        await PasswordLink.delete().where(
            (PasswordLink.employee == employee_id) & PasswordLink.used_at.is_null()
        )
        await PasswordLink.insert(
            PasswordLink(
                employee=employee_id,
                token_hash=_hash(secret),
                purpose=purpose,
                created_by=actor.employee_id or None,
                expires_at=_now() + timedelta(hours=LINK_HOURS),
            )
        )
    return secret


async def withdraw_link(secret: str) -> None:
    """The link could not be sent: it must not stay usable."""
    await PasswordLink.delete().where(PasswordLink.token_hash == _hash(secret))


async def set_password_with_link(secret: str, new: str) -> None:
    """Set the password of the link's employee; the link is used up and every session ends."""
    checked_new_password(new)
    hashed = await hash_password_off_loop(new)
    async with transaction():
        link = await PasswordLink.select(
            PasswordLink.id, PasswordLink.employee, PasswordLink.employee.email
        ).where(
            (PasswordLink.token_hash == _hash(secret[:200]))
            & PasswordLink.used_at.is_null()
            & (PasswordLink.expires_at > _now())
            & (PasswordLink.employee.active == True)  # noqa: E712
        )
        if not link:
            raise Invalid(
                "This link is used up or has expired. Ask back-office to send a new one.",
                code=Code.LINK_EXPIRED,
                field="token",
            )
        employee_id = link[0]["employee"]
        await PasswordLink.update({PasswordLink.used_at: _now()}).where(
            PasswordLink.id == link[0]["id"]
        )
        await Employee.update({Employee.password_hash: hashed}).where(Employee.id == employee_id)
        await end_sessions(employee_id)
        # A lockout from guessing ends with a password set through a link sent to the person.
        await SignInFailure.delete().where(SignInFailure.email == link[0]["employee.email"])
