"""What a template and a work report are rendered from: plain Structs built from the order,
never ORM rows. `to_builtins` turns them into the dicts the sandbox sees as placeholders
(`{{ order.number }}`, `{{ contact.last_name }}`)."""

from __future__ import annotations

from datetime import date

import msgspec


class CompanyContext(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    street: str
    postal_code: str
    city: str
    phone: str
    email: str
    website: str
    brand_colour: str


class ClientContext(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    number: str
    street: str
    postal_code: str
    city: str


class BuildingContext(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    street: str
    postal_code: str
    city: str
    address: str


class ContactContext(msgspec.Struct, frozen=True, kw_only=True):
    salutation: str
    first_name: str
    last_name: str
    full_name: str
    function: str
    email: str
    language: str


class EmployeeContext(msgspec.Struct, frozen=True, kw_only=True):
    first_name: str
    last_name: str
    full_name: str
    email: str
    phone: str
    signature: str


class WorkItemContext(msgspec.Struct, frozen=True, kw_only=True):
    date: date
    technician: str
    hours: float
    description: str


class MaterialContext(msgspec.Struct, frozen=True, kw_only=True):
    article: str
    quantity: float
    unit: str


class OrderFacts(msgspec.Struct, frozen=True, kw_only=True):
    number: str
    title: str
    description: str
    status: str
    start_date: date | None
    end_date: date | None
    remarks: str
    work_items: list[WorkItemContext]
    materials: list[MaterialContext]
    total_hours: float


class ReplyContext(msgspec.Struct, frozen=True, kw_only=True):
    """The client's reply a draft answers: `subject` without its "Re:"s, `quote` the text they
    wrote (not the history it quoted) as "> " lines. Empty outside an answer."""

    sender: str
    sender_name: str
    subject: str
    # As the reader writes dates (24.11.2026), like the work report's.
    date: str
    text: str
    quote: str


NO_REPLY = ReplyContext(sender="", sender_name="", subject="", date="", text="", quote="")


class OrderContext(msgspec.Struct, frozen=True, kw_only=True):
    """Everything a template may name. `contact` has empty fields for a typed address, and
    `building` for an order without one, so a template never breaks on a missing person or
    place; `greeting` is the formal greeting for the contact in `language`."""

    company: CompanyContext
    client: ClientContext
    building: BuildingContext
    buildings: list[BuildingContext]
    contact: ContactContext
    employee: EmployeeContext
    order: OrderFacts
    language: str
    greeting: str
    today: date
    # Filled only for an answer to a client's reply.
    reply: ReplyContext = NO_REPLY
