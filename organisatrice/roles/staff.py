"""Back-office work on people: list and create employees, set their roles, switches and language,
switch company email; and an employee's own language. Every change is recorded with before and
after."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import msgspec

from organisatrice.core.addresses import valid_address
from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import Conflict, Invalid, NotFound
from organisatrice.roles.accounts import checked_locale, create_employee, parse_roles
from organisatrice.roles.audit import record_change
from organisatrice.roles.credentials import end_sessions
from organisatrice.roles.policy import Actor, Role
from organisatrice.roles.schemas import (
    CompanyOut,
    CompanyPatch,
    EmployeeIn,
    EmployeeOut,
    EmployeePatch,
)
from organisatrice.roles.tables import Company, Employee

_EMPLOYEE_COLUMNS = (
    Employee.id,
    Employee.first_name,
    Employee.last_name,
    Employee.email,
    Employee.phone,
    Employee.locale,
    Employee.time_zone,
    Employee.roles,
    Employee.may_email,
    Employee.active,
)


async def list_employees(actor: Actor) -> list[EmployeeOut]:
    rows = (
        await Employee.select(*_EMPLOYEE_COLUMNS)
        .where(Employee.company == actor.company_id)
        .order_by(Employee.last_name)
        .order_by(Employee.first_name)
    )
    return msgspec.convert(rows, list[EmployeeOut])


async def employee_of_company(actor: Actor, employee_id: int) -> EmployeeOut:
    row = (
        await Employee.select(*_EMPLOYEE_COLUMNS)
        .where((Employee.id == employee_id) & (Employee.company == actor.company_id))
        .first()
    )
    if row is None:
        raise NotFound(
            f"Employee {employee_id} does not exist.",
            code=Code.EMPLOYEE_NOT_FOUND,
            params={"id": employee_id},
        )
    return msgspec.convert(row, EmployeeOut)


def _checked_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise Invalid(
            f"Unknown time zone {name!r}; use e.g. Europe/Zurich.",
            code=Code.TIME_ZONE_UNKNOWN,
            params={"time_zone": name},
            field="time_zone",
        ) from None
    return name


async def add_employee(actor: Actor, data: EmployeeIn) -> EmployeeOut:
    roles = parse_roles(data.roles)
    time_zone = _checked_time_zone(data.time_zone)
    async with transaction():
        employee_id = await create_employee(
            company_id=actor.company_id,
            first_name=data.first_name,
            last_name=data.last_name,
            email=data.email,
            roles=roles,
            password=data.password,
            phone=data.phone,
            locale=checked_locale(data.locale),
            time_zone=time_zone,
            may_email=data.may_email,
        )
        created = await employee_of_company(actor, employee_id)
        await record_change(
            actor,
            subject="employee",
            subject_id=employee_id,
            subject_label=_label(created),
            field="created",
            before=None,
            after={"roles": created.roles, "may_email": created.may_email, "active": True},
        )
    return created


def _label(employee: EmployeeOut) -> str:
    return f"{employee.first_name} {employee.last_name} <{employee.email}>"


async def _other_active_backoffice(actor: Actor, employee_id: int) -> bool:
    rows = await Employee.select(Employee.roles).where(
        (Employee.company == actor.company_id)
        & (Employee.id != employee_id)
        & (Employee.active == True)  # noqa: E712
    )
    return any(Role.BACKOFFICE.value in r["roles"] for r in rows)


async def change_employee(actor: Actor, employee_id: int, patch: EmployeePatch) -> EmployeeOut:
    new_roles = None if patch.roles is msgspec.UNSET else parse_roles(patch.roles)
    new_locale = None if patch.locale is msgspec.UNSET else checked_locale(patch.locale)
    async with transaction():
        before = await employee_of_company(actor, employee_id)
        changes: dict[str, tuple[Any, Any]] = {}
        if new_roles is not None and sorted(new_roles) != sorted(before.roles):
            changes["roles"] = (before.roles, sorted(new_roles))
        if patch.may_email is not msgspec.UNSET and patch.may_email != before.may_email:
            changes["may_email"] = (before.may_email, patch.may_email)
        if patch.active is not msgspec.UNSET and patch.active != before.active:
            changes["active"] = (before.active, patch.active)
        if new_locale is not None and new_locale != before.locale:
            changes["locale"] = (before.locale, new_locale)
        loses_backoffice = (
            Role.BACKOFFICE in before.roles
            and before.active
            and (
                ("roles" in changes and Role.BACKOFFICE not in changes["roles"][1])
                or ("active" in changes and not changes["active"][1])
            )
        )
        if loses_backoffice and not await _other_active_backoffice(actor, employee_id):
            raise Conflict(
                f"{before.first_name} {before.last_name} is the last active back-office "
                "employee; give another employee the back-office role first.",
                code=Code.LAST_BACKOFFICE,
                params={"name": f"{before.first_name} {before.last_name}"},
                field="roles",
            )
        # Checked after the last back-office, so the sole back-office hears the deeper reason.
        if employee_id == actor.employee_id and ("roles" in changes or "active" in changes):
            raise Conflict(
                "You cannot change your own roles or deactivate yourself; ask another "
                "back-office employee.",
                code=Code.OWN_ROLES,
                field="roles" if "roles" in changes else "active",
            )
        if not changes:
            return before
        await _write_changes(actor, before, changes)
        if "active" in changes and not changes["active"][1]:
            # Reactivation must not revive the sessions of before.
            await end_sessions(employee_id)
        return await employee_of_company(actor, employee_id)


async def change_own_locale(actor: Actor, locale: str) -> Actor:
    """The signed-in employee's own language, whatever their roles; recorded as back-office's
    changes of it are, so the log tells who set an employee's language last."""
    locale = checked_locale(locale)
    async with transaction():
        before = await employee_of_company(actor, actor.employee_id)
        if locale != before.locale:
            await _write_changes(actor, before, {"locale": (before.locale, locale)})
    return msgspec.structs.replace(actor, locale=locale)


async def own_signature(actor: Actor) -> str:
    row = await Employee.select(Employee.signature).where(Employee.id == actor.employee_id).first()
    return row["signature"] if row else ""


async def change_own_signature(actor: Actor, text: str) -> None:
    """The signed-in employee's own signature block (checked by the compose room, whose
    renderer fills it in)."""
    await Employee.update({Employee.signature: text}).where(Employee.id == actor.employee_id)


async def _write_changes(
    actor: Actor, before: EmployeeOut, changes: dict[str, tuple[Any, Any]]
) -> None:
    """Set the changed fields and record each with before and after (inside a transaction)."""
    await Employee.update({getattr(Employee, f): after for f, (_, after) in changes.items()}).where(
        Employee.id == before.id
    )
    for field, (old, new) in changes.items():
        await record_change(
            actor,
            subject="employee",
            subject_id=before.id,
            subject_label=_label(before),
            field=field,
            before=old,
            after=new,
        )


_COMPANY_FIELDS = tuple(f for f in CompanyOut.__struct_fields__ if f != "logo_url")


async def company_settings(actor: Actor) -> CompanyOut:
    row = (
        await Company.select(*[getattr(Company, f) for f in _COMPANY_FIELDS], Company.logo_sha256)
        .where(Company.id == actor.company_id)
        .first()
    )
    if row is None:
        raise NotFound("Your company no longer exists.", code=Code.COMPANY_GONE)
    sha = row.pop("logo_sha256")
    # The logo's address changes with the logo, so no browser shows the one it cached before.
    logo_url = f"/api/company/logo?v={sha[:16]}" if sha else None
    return msgspec.convert({**row, "logo_url": logo_url}, CompanyOut)


def _checked_company(patch: CompanyPatch) -> dict[str, Any]:
    """The fields the patch sets, each made safe: one line, valid addresses."""
    values = {
        f: getattr(patch, f)
        for f in CompanyPatch.__struct_fields__
        if getattr(patch, f) is not msgspec.UNSET
    }
    for field, value in values.items():
        if isinstance(value, str):
            refuse_line_breaks(value, field)
            values[field] = value.strip()
    for field in ("email", "sender_address"):
        if values.get(field):
            values[field] = valid_address(
                values[field], label=f"The {field.replace('_', ' ')}", field=field
            ).email
    return values


async def change_company(actor: Actor, patch: CompanyPatch) -> CompanyOut:
    values = _checked_company(patch)
    async with transaction():
        before = await company_settings(actor)
        changed = {f: v for f, v in values.items() if getattr(before, f) != v}
        if changed:
            await Company.update({getattr(Company, f): v for f, v in changed.items()}).where(
                Company.id == actor.company_id
            )
        for field, value in changed.items():
            await record_change(
                actor,
                subject="company",
                subject_id=actor.company_id,
                subject_label=before.name,
                field=field,
                before=getattr(before, field),
                after=value,
            )
        return await company_settings(actor)


def refuse_line_breaks(value: str, field: str) -> None:
    """Company details go into headers' display names and signatures: one line each."""
    if any(c in value for c in "\r\n\x00\u2028\u2029"):
        raise Invalid(
            f"The {field.replace('_', ' ')} must be one line.", code=Code.ONE_LINE, field=field
        )


async def sender_address(company_id: int) -> str:
    """The address the company's emails go out from: its sending address, else its email."""
    row = (
        await Company.select(Company.sender_address, Company.email)
        .where(Company.id == company_id)
        .first()
    )
    return str(row["sender_address"] or row["email"]) if row else ""
