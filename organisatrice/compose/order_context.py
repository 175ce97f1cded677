"""Builds the OrderContext of an order, for one recipient, from the orders and roles rooms."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from organisatrice.compose.context import (
    BuildingContext,
    ClientContext,
    CompanyContext,
    ContactContext,
    EmployeeContext,
    MaterialContext,
    OrderContext,
    OrderFacts,
    WorkItemContext,
)
from organisatrice.compose.greetings import greeting
from organisatrice.core.codes import Code
from organisatrice.core.errors import NotFound
from organisatrice.orders.schemas import BuildingOut, ContactOut, OrderDetail
from organisatrice.roles.policy import Actor
from organisatrice.roles.tables import Company, Employee

_NO_BUILDING = BuildingContext(name="", street="", postal_code="", city="", address="")


def _building(b: BuildingOut) -> BuildingContext:
    return BuildingContext(
        name=b.name, street=b.street, postal_code=b.postal_code, city=b.city, address=b.address
    )


def contact_context(contact: ContactOut | None, language: str) -> ContactContext:
    if contact is None:
        return ContactContext(
            salutation="none",
            first_name="",
            last_name="",
            full_name="",
            function="",
            email="",
            language=language,
        )
    return ContactContext(
        salutation=contact.salutation.value,
        first_name=contact.first_name,
        last_name=contact.last_name,
        full_name=f"{contact.first_name} {contact.last_name}".strip(),
        function=contact.function,
        email=contact.email,
        language=contact.language,
    )


async def company_context(company_id: int) -> CompanyContext:
    row = await Company.select().where(Company.id == company_id).first()
    if row is None:
        raise NotFound("Your company no longer exists.", code=Code.COMPANY_GONE)
    return CompanyContext(
        name=row["name"],
        street=row["street"],
        postal_code=row["postal_code"],
        city=row["city"],
        phone=row["phone"],
        email=row["email"],
        website=row["website"],
        brand_colour=row["brand_colour"],
    )


async def employee_context(actor: Actor) -> EmployeeContext:
    row = (
        await Employee.select(Employee.phone, Employee.signature)
        .where(Employee.id == actor.employee_id)
        .first()
    )
    return EmployeeContext(
        first_name=actor.first_name,
        last_name=actor.last_name,
        full_name=f"{actor.first_name} {actor.last_name}",
        email=actor.email,
        phone=row["phone"] if row else "",
        signature=row["signature"] if row else "",
    )


async def order_context(
    actor: Actor, order: OrderDetail, contact: ContactOut | None, language: str
) -> OrderContext:
    buildings = [_building(b) for b in order.buildings]
    recipient = contact_context(contact, language)
    return OrderContext(
        company=await company_context(actor.company_id),
        client=ClientContext(
            name=order.client.name,
            number=order.client.number,
            street=order.client.street,
            postal_code=order.client.postal_code,
            city=order.client.city,
        ),
        building=buildings[0] if buildings else _NO_BUILDING,
        buildings=buildings,
        contact=recipient,
        employee=await employee_context(actor),
        order=OrderFacts(
            number=order.number,
            title=order.title,
            description=order.description,
            status=order.status.value,
            start_date=order.start_date,
            end_date=order.end_date,
            remarks=order.remarks,
            work_items=[
                WorkItemContext(
                    date=w.date,
                    technician=w.technician.name,
                    hours=w.hours,
                    description=w.description,
                )
                for w in order.work_items
            ],
            materials=[
                MaterialContext(article=m.article, quantity=m.quantity, unit=m.unit)
                for m in order.materials
            ],
            total_hours=order.total_hours,
        ),
        language=language,
        greeting=greeting(
            salutation=recipient.salutation,
            first_name=recipient.first_name,
            last_name=recipient.last_name,
            language=language,
        ),
        # The date as the employee sees it on their wall, not the server's.
        today=datetime.now(ZoneInfo(actor.time_zone)).date(),
    )
