"""Who is responsible for an order: set by back-office, recorded in the change log."""

from __future__ import annotations

from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import Invalid, NotFound
from organisatrice.orders.schemas import EmployeeRef, ResponsibleIn
from organisatrice.orders.services import responsible_of, visible_order
from organisatrice.orders.tables import OrderResponsible
from organisatrice.roles.audit import record_change
from organisatrice.roles.policy import Actor
from organisatrice.roles.tables import Employee

MAX_RESPONSIBLE = 20


async def set_responsible(actor: Actor, order_id: int, data: ResponsibleIn) -> list[EmployeeRef]:
    wanted = list(dict.fromkeys(data.employee_ids))
    if len(wanted) > MAX_RESPONSIBLE:
        raise Invalid(
            f"At most {MAX_RESPONSIBLE} employees can be responsible for an order.",
            code=Code.TOO_MANY_RESPONSIBLE,
            params={"max": MAX_RESPONSIBLE},
            field="employee_ids",
        )
    async with transaction():
        order = await visible_order(actor, order_id)
        if wanted:
            found = {
                r["id"]
                for r in await Employee.select(Employee.id).where(
                    Employee.id.is_in(wanted)
                    & (Employee.company == actor.company_id)
                    & (Employee.active == True)  # noqa: E712
                )
            }
            missing = [i for i in wanted if i not in found]
            if missing:
                raise NotFound(
                    f"Employee {missing[0]} does not exist or is not active.",
                    code=Code.EMPLOYEE_NOT_ACTIVE,
                    params={"id": missing[0]},
                    field="employee_ids",
                )
        before = await responsible_of(order_id)
        if [e.id for e in before] == wanted:
            return before
        await OrderResponsible.delete().where(OrderResponsible.order == order_id)
        if wanted:
            await OrderResponsible.insert(
                *[
                    OrderResponsible(company=actor.company_id, order=order_id, employee=i)
                    for i in wanted
                ]
            )
        after = await responsible_of(order_id)
        await record_change(
            actor,
            subject="order",
            subject_id=order_id,
            subject_label=f"{order['number']} {order['title']}",
            field="responsible",
            before=[e.name for e in before],
            after=[e.name for e in after],
        )
        return after
