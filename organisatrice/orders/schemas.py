"""What the orders room answers: Structs for orders, clients, contacts, photos and documents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from organisatrice.core.structs import DbId, In, Out
from organisatrice.roles.policy import Decision


class OrderStatus(StrEnum):
    PLANNED = "planned"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    INVOICED = "invoiced"
    CANCELLED = "cancelled"


class Salutation(StrEnum):
    MR = "mr"
    MS = "ms"
    NONE = "none"


class ClientRef(Out):
    id: int
    name: str


class ClientOut(ClientRef):
    number: str
    street: str
    postal_code: str
    city: str
    phone: str
    email: str
    language: str


class BuildingOut(Out):
    id: int
    client_id: int
    name: str
    street: str
    postal_code: str
    city: str
    address: str


class ContactOut(Out):
    id: int
    client_id: int | None
    building_id: int | None
    salutation: Salutation
    first_name: str
    last_name: str
    function: str
    email: str
    phone: str
    language: str


class EmployeeRef(Out):
    id: int
    name: str


class OrderSummary(Out):
    id: int
    number: str
    title: str
    status: OrderStatus
    client: ClientRef
    address: str
    start_date: date | None
    end_date: date | None


class WorkItemOut(Out):
    id: int
    date: date
    technician: EmployeeRef
    hours: float
    description: str


class MaterialOut(Out):
    id: int
    article: str
    quantity: float
    unit: str


class PhotoOut(Out):
    id: int
    caption: str
    content_type: str
    width: int
    height: int
    size: int
    original_filename: str
    taken_at: datetime | None
    taken_by: EmployeeRef | None
    uploaded_at: datetime
    image_url: str
    thumbnail_url: str


MAX_CAPTION = 500


class PhotoPatch(In):
    """A photo's caption, changed after the upload; the rules beyond length are in files.py."""

    caption: Annotated[str, msgspec.Meta(max_length=MAX_CAPTION)]


class DocumentOut(Out):
    id: int
    filename: str
    content_type: str
    size: int
    kind: str
    uploaded_by: EmployeeRef | None
    uploaded_at: datetime
    download_url: str


class RecipientOut(Out):
    """A contact who can receive the order's emails: of its client or of one of its buildings."""

    contact_id: int
    name: str
    email: str
    function: str
    language: str
    source: str
    building_id: int | None


class OrderDetail(Out):
    id: int
    number: str
    title: str
    description: str
    status: OrderStatus
    remarks: str
    start_date: date | None
    end_date: date | None
    client: ClientOut
    buildings: list[BuildingOut]
    responsible: list[EmployeeRef]
    email: Decision
    work_items: list[WorkItemOut]
    total_hours: float
    materials: list[MaterialOut]
    photos: list[PhotoOut]
    documents: list[DocumentOut]
    recipients: list[RecipientOut]


class ClientDetail(ClientOut):
    buildings: list[BuildingOut]
    contacts: list[ContactOut]


class ResponsibleIn(In):
    employee_ids: Annotated[list[DbId], msgspec.Meta(max_length=100)]
