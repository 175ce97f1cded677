"""The orders room's services: what an employee may see of orders, clients and contacts.

Every query is scoped to the actor's company; technicians see only their own orders. Anything
outside that scope answers NotFound, so ids of other companies reveal nothing.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import msgspec
from piccolo.columns import Column
from piccolo.columns.combination import Where
from piccolo.columns.operators.comparison import ComparisonOperator

from organisatrice.core.codes import Code
from organisatrice.core.db import is_sqlite
from organisatrice.core.errors import NotFound
from organisatrice.core.reads import long_reads
from organisatrice.core.statements import Statement
from organisatrice.core.structs import Page
from organisatrice.orders.schemas import (
    BuildingOut,
    ClientDetail,
    ClientOut,
    ClientRef,
    ContactOut,
    DocumentOut,
    EmployeeRef,
    MaterialOut,
    OrderDetail,
    OrderStatus,
    OrderSummary,
    PhotoOut,
    RecipientOut,
    Salutation,
    WorkItemOut,
)
from organisatrice.orders.tables import (
    Building,
    Client,
    Contact,
    Document,
    Material,
    Order,
    OrderBuilding,
    OrderResponsible,
    Photo,
    WorkItem,
)
from organisatrice.roles.policy import Actor, may_email_on_order, sees_all_orders

MAX_SEARCH_WORDS = 6


def visible_orders(actor: Actor) -> Any:
    """The where-clause of the orders `actor` may see."""
    return _visible(actor.company_id, actor.employee_id, all_orders=sees_all_orders(actor))


def _visible(company: Any, employee: Any, *, all_orders: bool) -> Any:
    clause = Order.company == company
    if all_orders:
        return clause
    mine = OrderResponsible.select(OrderResponsible.order).where(
        OrderResponsible.employee == employee
    )
    worked_on = WorkItem.select(WorkItem.order).where(WorkItem.technician == employee)
    return clause & (Order.id.is_in(mine) | Order.id.is_in(worked_on))


class _ILikeLiteral(ComparisonOperator):
    template = "{name} ILIKE {value} ESCAPE '\\'"


class _LikeLiteral(ComparisonOperator):
    template = "{name} LIKE {value} ESCAPE '\\'"


_LIKE_SPECIAL = re.compile(r"([\\%_])")


def _contains(column: Column, word: str) -> Any:
    """`column` contains `word`, whatever the case; `%`, `_` and `\\` in `word` mean themselves
    (a search for "X_1" must not find "XY1")."""
    literal = _LIKE_SPECIAL.sub(r"\\\1", word)
    if not is_sqlite():
        return Where(column, value=f"%{literal}%", operator=_ILikeLiteral)
    # SQLite's LIKE ignores the case of ASCII letters only, so "überbauung" would miss
    # "Überbauung": the word in lower and in upper case is tried as well.
    clause: Any = None
    for variant in dict.fromkeys((literal, literal.lower(), literal.upper())):
        where = Where(column, value=f"%{variant}%", operator=_LikeLiteral)
        clause = where if clause is None else clause | where
    return clause


def _matches_word(actor: Actor, word: str) -> Any:
    company = actor.company_id
    contact_named = (Contact.company == company) & (
        _contains(Contact.first_name, word) | _contains(Contact.last_name, word)
    )
    building_matches = (OrderBuilding.company == company) & (
        _contains(OrderBuilding.building.street, word)
        | _contains(OrderBuilding.building.city, word)
        | _contains(OrderBuilding.building.postal_code, word)
        | _contains(OrderBuilding.building.name, word)
        | OrderBuilding.building.is_in(
            Contact.select(Contact.building).where(contact_named & Contact.building.is_not_null())
        )
    )
    return (
        _contains(Order.number, word)
        | _contains(Order.title, word)
        | _contains(Order.client.name, word)
        | Order.client.is_in(
            Contact.select(Contact.client).where(contact_named & Contact.client.is_not_null())
        )
        | Order.id.is_in(OrderBuilding.select(OrderBuilding.order).where(building_matches))
    )


def _address(street: str, postal_code: str, city: str) -> str:
    return ", ".join(p for p in (street, f"{postal_code} {city}".strip()) if p)


def _employee_name(row: dict[str, Any], prefix: str) -> EmployeeRef | None:
    if row.get(f"{prefix}.id") is None:
        return None
    return EmployeeRef(
        id=row[f"{prefix}.id"],
        name=f"{row[f'{prefix}.first_name']} {row[f'{prefix}.last_name']}",
    )


async def list_orders(
    actor: Actor,
    *,
    search: str = "",
    status: OrderStatus | None = None,
    page: int = 1,
    per_page: int = 25,
) -> Page[OrderSummary]:
    """Orders the actor may see, newest first, filtered by words (each must match the number,
    title, client, a building's address or a contact's name) and by status."""
    where = visible_orders(actor)
    for word in search.split()[:MAX_SEARCH_WORDS]:
        where = where & _matches_word(actor, word)
    if status is not None:
        where = where & (Order.status == status.value)
    # A count over every visible order, and words searched in several tables: milliseconds.
    with long_reads():
        total = await Order.count().where(where)
        rows = await (
            Order.select(
                Order.id,
                Order.number,
                Order.title,
                Order.status,
                Order.start_date,
                Order.end_date,
                Order.client.id,
                Order.client.name,
            )
            .where(where)
            .order_by(Order.created_at, Order.id, ascending=False)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
    addresses = await _first_addresses([r["id"] for r in rows])
    items = [
        OrderSummary(
            id=r["id"],
            number=r["number"],
            title=r["title"],
            status=OrderStatus(r["status"]),
            client=ClientRef(id=r["client.id"], name=r["client.name"]),
            address=addresses.get(r["id"], ""),
            start_date=r["start_date"],
            end_date=r["end_date"],
        )
        for r in rows
    ]
    return Page(items=items, total=total, page=page, per_page=per_page)


async def _first_addresses(order_ids: list[int]) -> dict[int, str]:
    if not order_ids:
        return {}
    rows = (
        await OrderBuilding.select(
            OrderBuilding.order,
            OrderBuilding.building.street,
            OrderBuilding.building.postal_code,
            OrderBuilding.building.city,
        )
        .where(OrderBuilding.order.is_in(order_ids))
        .order_by(OrderBuilding.id)
    )
    found: dict[int, str] = {}
    for r in rows:
        found.setdefault(
            r["order"],
            _address(r["building.street"], r["building.postal_code"], r["building.city"]),
        )
    return found


# Every request about one order asks first whether its employee may see it.
_ORDER_OF_COMPANY = Statement(
    lambda company, order: (
        Order.select().where(_visible(company, None, all_orders=True) & (Order.id == order)).first()
    )
)
_ORDER_OF_TECHNICIAN = Statement(
    lambda company, employee, order: (
        Order.select()
        .where(_visible(company, employee, all_orders=False) & (Order.id == order))
        .first()
    )
)


async def visible_order(actor: Actor, order_id: int) -> dict[str, Any]:
    """The order's own row if the actor may see it; NotFound otherwise (other companies too)."""
    if sees_all_orders(actor):
        row = await _ORDER_OF_COMPANY.first(actor.company_id, order_id)
    else:
        row = await _ORDER_OF_TECHNICIAN.first(actor.company_id, actor.employee_id, order_id)
    if row is None:
        raise NotFound(
            f"Order {order_id} does not exist or is not visible to you.",
            code=Code.ORDER_NOT_FOUND,
            params={"id": order_id},
        )
    return dict(row)


def _building(row: dict[str, Any], prefix: str = "") -> BuildingOut:
    def get(name: str) -> Any:
        return row[f"{prefix}{name}"]

    return BuildingOut(
        id=get("id"),
        client_id=get("client"),
        name=get("name"),
        street=get("street"),
        postal_code=get("postal_code"),
        city=get("city"),
        address=_address(get("street"), get("postal_code"), get("city")),
        external_id=get("external_id"),
        active=get("active"),
    )


def _contact_name(row: dict[str, Any]) -> str:
    return f"{row['first_name']} {row['last_name']}".strip()


async def order_detail(actor: Actor, order_id: int) -> OrderDetail:
    order = await visible_order(actor, order_id)
    # The parts are independent reads: asked at once, their round trips overlap.
    async with asyncio.TaskGroup() as group:
        client = group.create_task(_client(order["client"]))
        buildings = group.create_task(_buildings(order_id))
        recipients = group.create_task(_recipients(order["client"], order_id))
        responsible_task = group.create_task(responsible_of(order_id))
        work_task = group.create_task(_work_items(order_id))
        materials = group.create_task(_materials(order_id))
        photos = group.create_task(order_photos(order_id))
        documents = group.create_task(order_documents(order_id))
    responsible = responsible_task.result()
    work_items = work_task.result()
    return OrderDetail(
        id=order["id"],
        number=order["number"],
        title=order["title"],
        description=order["description"],
        status=OrderStatus(order["status"]),
        remarks=order["remarks"],
        start_date=order["start_date"],
        end_date=order["end_date"],
        client=client.result(),
        buildings=buildings.result(),
        responsible=responsible,
        email=may_email_on_order(
            actor, responsible=any(e.id == actor.employee_id for e in responsible)
        ),
        work_items=work_items,
        total_hours=round(sum(w.hours for w in work_items), 2),
        materials=materials.result(),
        photos=photos.result(),
        documents=documents.result(),
        recipients=recipients.result(),
        external_id=order["external_id"],
        active=order["active"],
    )


_CLIENT = Statement(lambda client: Client.select().where(Client.id == client).first())


async def _client(client_id: int) -> ClientOut:
    client = await _CLIENT.first(client_id)
    assert client is not None  # a foreign key with ON DELETE RESTRICT
    return msgspec.convert(client, ClientOut)


_BUILDINGS = Statement(
    lambda order: (
        OrderBuilding.select(*OrderBuilding.building.all_columns())
        .where(OrderBuilding.order == order)
        .order_by(OrderBuilding.id)
    )
)


async def _buildings(order_id: int) -> list[BuildingOut]:
    return [_building(r, "building.") for r in await _BUILDINGS.rows(order_id)]


_WORK_ITEMS = Statement(
    lambda order: (
        WorkItem.select(
            WorkItem.id,
            WorkItem.date,
            WorkItem.hours,
            WorkItem.description,
            WorkItem.technician.id,
            WorkItem.technician.first_name,
            WorkItem.technician.last_name,
        )
        .where(WorkItem.order == order)
        .order_by(WorkItem.date)
        .order_by(WorkItem.id)
    )
)


async def _work_items(order_id: int) -> list[WorkItemOut]:
    return [
        WorkItemOut(
            id=r["id"],
            date=r["date"],
            technician=EmployeeRef(
                id=r["technician.id"],
                name=f"{r['technician.first_name']} {r['technician.last_name']}",
            ),
            hours=r["hours"],
            description=r["description"],
        )
        for r in await _WORK_ITEMS.rows(order_id)
    ]


_MATERIALS = Statement(
    lambda order: (
        Material.select(Material.id, Material.article, Material.quantity, Material.unit)
        .where(Material.order == order)
        .order_by(Material.id)
    )
)


async def _materials(order_id: int) -> list[MaterialOut]:
    return msgspec.convert(await _MATERIALS.rows(order_id), list[MaterialOut])


_RESPONSIBLE = Statement(
    lambda order: (
        OrderResponsible.select(
            OrderResponsible.employee.id,
            OrderResponsible.employee.first_name,
            OrderResponsible.employee.last_name,
        )
        .where(OrderResponsible.order == order)
        .order_by(OrderResponsible.id)
    )
)


async def responsible_of(order_id: int) -> list[EmployeeRef]:
    return [
        EmployeeRef(
            id=r["employee.id"], name=f"{r['employee.first_name']} {r['employee.last_name']}"
        )
        for r in await _RESPONSIBLE.rows(order_id)
    ]


_PHOTOS = Statement(
    lambda order: (
        Photo.select(
            *Photo.all_columns(exclude=[Photo.taken_by]),
            Photo.taken_by.id,
            Photo.taken_by.first_name,
            Photo.taken_by.last_name,
        )
        .where(Photo.order == order)
        .order_by(Photo.id)
    )
)


async def order_photos(order_id: int) -> list[PhotoOut]:
    rows = await _PHOTOS.rows(order_id)
    base = f"/api/orders/{order_id}/photos"
    return [
        PhotoOut(
            id=r["id"],
            caption=r["caption"],
            content_type=r["content_type"],
            width=r["width"],
            height=r["height"],
            size=r["size"],
            original_filename=r["original_filename"],
            taken_at=r["taken_at"],
            taken_by=_employee_name(r, "taken_by"),
            uploaded_at=r["uploaded_at"],
            image_url=f"{base}/{r['id']}/image",
            thumbnail_url=f"{base}/{r['id']}/thumbnail",
        )
        for r in rows
    ]


_DOCUMENTS = Statement(
    lambda order: (
        Document.select(
            *Document.all_columns(exclude=[Document.uploaded_by]),
            Document.uploaded_by.id,
            Document.uploaded_by.first_name,
            Document.uploaded_by.last_name,
        )
        .where(Document.order == order)
        .order_by(Document.id)
    )
)


async def order_documents(order_id: int) -> list[DocumentOut]:
    rows = await _DOCUMENTS.rows(order_id)
    return [
        DocumentOut(
            id=r["id"],
            filename=r["filename"],
            content_type=r["content_type"],
            size=r["size"],
            kind=r["kind"],
            uploaded_by=_employee_name(r, "uploaded_by"),
            uploaded_at=r["uploaded_at"],
            download_url=f"/api/orders/{order_id}/documents/{r['id']}/file",
        )
        for r in rows
    ]


_CONTACTS_OF_ORDER = Statement(
    lambda client, order: (
        Contact.select()
        .where(
            (
                (Contact.client == client)
                | Contact.building.is_in(
                    OrderBuilding.select(OrderBuilding.building).where(OrderBuilding.order == order)
                )
            )
            & (Contact.email != "")
            & (Contact.active == True)  # noqa: E712
        )
        .order_by(Contact.id)
    )
)


async def _recipients(client_id: int, order_id: int) -> list[RecipientOut]:
    """Contacts of the client and of the order's buildings that have an email address."""
    rows = await _CONTACTS_OF_ORDER.rows(client_id, order_id)
    return [
        RecipientOut(
            contact_id=r["id"],
            name=_contact_name(r),
            email=r["email"],
            function=r["function"],
            language=r["language"],
            source="client" if r["client"] is not None else "building",
            building_id=r["building"],
        )
        for r in rows
    ]


async def order_recipients(actor: Actor, order_id: int) -> list[RecipientOut]:
    order = await visible_order(actor, order_id)
    return await _recipients(order["client"], order_id)


def _clients_visible(actor: Actor) -> Any:
    """The company's clients; for technicians only the clients of orders they may see."""
    where: Any = Client.company == actor.company_id
    if not sees_all_orders(actor):
        where = where & Client.id.is_in(Order.select(Order.client).where(visible_orders(actor)))
    return where


async def _visible_client(actor: Actor, client_id: int) -> dict[str, Any]:
    client = await Client.select().where(_clients_visible(actor) & (Client.id == client_id)).first()
    if client is None:
        raise NotFound(
            f"Client {client_id} does not exist.",
            code=Code.CLIENT_NOT_FOUND,
            params={"id": client_id},
        )
    return client


async def list_clients(
    actor: Actor, *, search: str = "", include_inactive: bool = False, limit: int = 200
) -> list[ClientOut]:
    where = _clients_visible(actor)
    for word in search.split()[:MAX_SEARCH_WORDS]:
        where = where & (
            _contains(Client.name, word)
            | _contains(Client.city, word)
            | _contains(Client.number, word)
            | _contains(Client.external_id, word)
        )
    if not include_inactive:
        where = where & (Client.active == True)  # noqa: E712
    with long_reads():
        rows = await Client.select().where(where).order_by(Client.name).limit(limit)
    return msgspec.convert(rows, list[ClientOut])


async def client_detail(actor: Actor, client_id: int) -> ClientDetail:
    client = await _visible_client(actor, client_id)
    buildings = [
        _building(r)
        for r in await Building.select().where(Building.client == client_id).order_by(Building.id)
    ]
    contact_where: Any = Contact.client == client_id
    if buildings:
        contact_where = contact_where | Contact.building.is_in([b.id for b in buildings])
    contacts = await Contact.select().where(contact_where).order_by(Contact.id)
    return ClientDetail(
        **msgspec.structs.asdict(msgspec.convert(client, ClientOut)),
        buildings=buildings,
        contacts=[_contact_out(c) for c in contacts],
    )


async def building_detail(actor: Actor, building_id: int) -> BuildingOut:
    row = (
        await Building.select()
        .where(
            (Building.company == actor.company_id)
            & (Building.id == building_id)
            & Building.client.is_in(Client.select(Client.id).where(_clients_visible(actor)))
        )
        .first()
    )
    if row is None:
        raise NotFound(
            f"Building {building_id} does not exist.",
            code=Code.BUILDING_NOT_FOUND,
            params={"id": building_id},
        )
    return _building(row)


def _contacts_visible(actor: Actor) -> Any:
    where: Any = Contact.company == actor.company_id
    if not sees_all_orders(actor):
        clients = Client.select(Client.id).where(_clients_visible(actor))
        where = where & (
            Contact.client.is_in(clients)
            | Contact.building.is_in(
                Building.select(Building.id).where(Building.client.is_in(clients))
            )
        )
    return where


async def list_contacts(
    actor: Actor, *, search: str = "", include_inactive: bool = False, limit: int = 200
) -> list[ContactOut]:
    """Contacts whose name, email, function or external id contain every word."""
    where = _contacts_visible(actor)
    for word in search.split()[:MAX_SEARCH_WORDS]:
        where = where & (
            _contains(Contact.first_name, word)
            | _contains(Contact.last_name, word)
            | _contains(Contact.email, word)
            | _contains(Contact.function, word)
            | _contains(Contact.external_id, word)
        )
    if not include_inactive:
        where = where & (Contact.active == True)  # noqa: E712
    with long_reads():
        rows = (
            await Contact.select()
            .where(where)
            .order_by(Contact.last_name)
            .order_by(Contact.first_name)
            .limit(limit)
        )
    return [_contact_out(r) for r in rows]


def _contact_out(row: dict[str, Any]) -> ContactOut:
    return ContactOut(
        id=row["id"],
        client_id=row["client"],
        building_id=row["building"],
        salutation=Salutation(row["salutation"]),
        first_name=row["first_name"],
        last_name=row["last_name"],
        function=row["function"],
        email=row["email"],
        phone=row["phone"],
        language=row["language"],
        external_id=row["external_id"],
        active=row["active"],
    )


async def contact_detail(actor: Actor, contact_id: int) -> ContactOut:
    row = (
        await Contact.select().where(_contacts_visible(actor) & (Contact.id == contact_id)).first()
    )
    if row is None:
        raise NotFound(
            f"Contact {contact_id} does not exist.",
            code=Code.CONTACT_NOT_FOUND,
            params={"id": contact_id},
        )
    return _contact_out(row)
