"""The record of permission changes: roles, switches and responsibilities, before and after;
employees' languages too, so nobody wonders who switched a tablet to Italian.

Written inside the same transaction as the change it records, so neither exists without the
other.
"""

from __future__ import annotations

from typing import Any

import msgspec

from organisatrice.core.structs import Page
from organisatrice.roles.policy import Actor
from organisatrice.roles.schemas import PermissionChangeOut
from organisatrice.roles.tables import PermissionChange


async def record_change(
    actor: Actor,
    *,
    subject: str,
    subject_id: int,
    subject_label: str,
    field: str,
    before: Any,
    after: Any,
) -> None:
    await PermissionChange.insert(
        PermissionChange(
            company=actor.company_id,
            changed_by=actor.employee_id,
            subject=subject,
            subject_id=subject_id,
            subject_label=subject_label,
            field=field,
            before=msgspec.json.encode(before).decode(),
            after=msgspec.json.encode(after).decode(),
        )
    )


async def list_changes(actor: Actor, *, page: int, per_page: int) -> Page[PermissionChangeOut]:
    where = PermissionChange.company == actor.company_id
    total = await PermissionChange.count().where(where)
    rows = (
        await PermissionChange.select(
            *PermissionChange.all_columns(exclude=[PermissionChange.changed_by]),
            PermissionChange.changed_by.id,
            PermissionChange.changed_by.first_name,
            PermissionChange.changed_by.last_name,
        )
        .where(where)
        .order_by(PermissionChange.id, ascending=False)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    items = [
        PermissionChangeOut(
            id=r["id"],
            at=r["at"],
            changed_by_id=r["changed_by.id"],
            changed_by_name=" ".join(
                p for p in (r["changed_by.first_name"], r["changed_by.last_name"]) if p
            ),
            subject=r["subject"],
            subject_id=r["subject_id"],
            subject_label=r["subject_label"],
            field=r["field"],
            before=msgspec.json.decode(r["before"]),
            after=msgspec.json.decode(r["after"]),
        )
        for r in rows
    ]
    return Page(items=items, total=total, page=page, per_page=per_page)
