"""What the orders room answers: Structs for orders, clients, contacts, photos and documents."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from organisatrice.core.structs import LINES, ONE_LINE, DbId, In, Out
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
    external_id: str | None = None
    active: bool = True


class BuildingOut(Out):
    id: int
    client_id: int
    name: str
    street: str
    postal_code: str
    city: str
    address: str
    external_id: str | None = None
    active: bool = True


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
    external_id: str | None = None
    active: bool = True


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
    external_id: str | None = None
    active: bool = True


class ClientDetail(ClientOut, kw_only=True):
    buildings: list[BuildingOut]
    contacts: list[ContactOut]


class ResponsibleIn(In):
    employee_ids: Annotated[list[DbId], msgspec.Meta(max_length=100)]


# What the write side takes: one Struct per record, for the screens (one record), the API
# (batches by the company's own keys) and the spreadsheet import (rows read into these).
# Absent fields keep their value on an update and take the default on creation.


def _line(max_length: int, *, min_length: int = 0) -> object:
    return msgspec.Meta(min_length=min_length, max_length=max_length, pattern=ONE_LINE)


ExternalId = Annotated[str, _line(100, min_length=1)]
Language = Annotated[str, msgspec.Meta(pattern="^(de|fr|it|en)$")]
EmailField = Annotated[str, _line(254)]
Lines = Annotated[str, msgspec.Meta(max_length=10_000, pattern=LINES)]
MAX_BATCH = 10_000


class ClientIn(In):
    external_id: ExternalId | msgspec.UnsetType | None = msgspec.UNSET
    name: Annotated[str, _line(200)] | msgspec.UnsetType = msgspec.UNSET
    number: Annotated[str, _line(20)] | msgspec.UnsetType = msgspec.UNSET
    street: Annotated[str, _line(200)] | msgspec.UnsetType = msgspec.UNSET
    postal_code: Annotated[str, _line(20)] | msgspec.UnsetType = msgspec.UNSET
    city: Annotated[str, _line(100)] | msgspec.UnsetType = msgspec.UNSET
    phone: Annotated[str, _line(50)] | msgspec.UnsetType = msgspec.UNSET
    email: EmailField | msgspec.UnsetType = msgspec.UNSET
    language: Language | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class BuildingIn(In):
    """A building of a client: the client by its external id (`client`) or by id."""

    external_id: ExternalId | msgspec.UnsetType | None = msgspec.UNSET
    client: ExternalId | msgspec.UnsetType = msgspec.UNSET
    client_id: DbId | msgspec.UnsetType = msgspec.UNSET
    name: Annotated[str, _line(200)] | msgspec.UnsetType = msgspec.UNSET
    street: Annotated[str, _line(200)] | msgspec.UnsetType = msgspec.UNSET
    postal_code: Annotated[str, _line(20)] | msgspec.UnsetType = msgspec.UNSET
    city: Annotated[str, _line(100)] | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class ContactIn(In):
    """A person at a client or at one of its buildings: exactly one of the two, each by its
    external id (`client`, `building`) or by id."""

    external_id: ExternalId | msgspec.UnsetType | None = msgspec.UNSET
    client: ExternalId | msgspec.UnsetType = msgspec.UNSET
    client_id: DbId | msgspec.UnsetType = msgspec.UNSET
    building: ExternalId | msgspec.UnsetType = msgspec.UNSET
    building_id: DbId | msgspec.UnsetType = msgspec.UNSET
    salutation: Salutation | msgspec.UnsetType = msgspec.UNSET
    first_name: Annotated[str, _line(100)] | msgspec.UnsetType = msgspec.UNSET
    last_name: Annotated[str, _line(100)] | msgspec.UnsetType = msgspec.UNSET
    function: Annotated[str, _line(100)] | msgspec.UnsetType = msgspec.UNSET
    email: EmailField | msgspec.UnsetType = msgspec.UNSET
    phone: Annotated[str, _line(50)] | msgspec.UnsetType = msgspec.UNSET
    language: Language | msgspec.UnsetType = msgspec.UNSET
    active: bool | msgspec.UnsetType = msgspec.UNSET


class WorkItemIn(In):
    """Work done on the order: the technician is an employee of the company, by email."""

    date: date
    technician: EmailField
    hours: Annotated[float, msgspec.Meta(ge=0, le=24)]
    description: Lines = ""


class MaterialIn(In):
    article: Annotated[str, _line(200, min_length=1)]
    quantity: Annotated[float, msgspec.Meta(ge=-1_000_000, le=1_000_000)]
    unit: Annotated[str, _line(20)] = "pc"


class OrderIn(In):
    """An order with its work. Lists (buildings, responsible employees, work items,
    materials) replace what the order had when given; absent, they stay."""

    external_id: ExternalId | msgspec.UnsetType | None = msgspec.UNSET
    number: Annotated[str, _line(30)] | msgspec.UnsetType = msgspec.UNSET
    title: Annotated[str, _line(200)] | msgspec.UnsetType = msgspec.UNSET
    description: Lines | msgspec.UnsetType = msgspec.UNSET
    status: OrderStatus | msgspec.UnsetType = msgspec.UNSET
    client: ExternalId | msgspec.UnsetType = msgspec.UNSET
    client_id: DbId | msgspec.UnsetType = msgspec.UNSET
    buildings: Annotated[list[ExternalId], msgspec.Meta(max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    building_ids: Annotated[list[DbId], msgspec.Meta(max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    start_date: date | msgspec.UnsetType | None = msgspec.UNSET
    end_date: date | msgspec.UnsetType | None = msgspec.UNSET
    remarks: Lines | msgspec.UnsetType = msgspec.UNSET
    responsible: Annotated[list[EmailField], msgspec.Meta(max_length=50)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    work_items: Annotated[list[WorkItemIn], msgspec.Meta(max_length=500)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    materials: Annotated[list[MaterialIn], msgspec.Meta(max_length=500)] | msgspec.UnsetType = (
        msgspec.UNSET
    )
    active: bool | msgspec.UnsetType = msgspec.UNSET


class BatchMode(StrEnum):
    # Every row is written or none: one bad row stops the batch.
    ATOMIC = "atomic"
    # Good rows are written, bad rows reported.
    PER_ROW = "per_row"


class ClientBatch(In):
    rows: Annotated[list[ClientIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    mode: BatchMode = BatchMode.ATOMIC


class BuildingBatch(In):
    rows: Annotated[list[BuildingIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    mode: BatchMode = BatchMode.ATOMIC


class ContactBatch(In):
    rows: Annotated[list[ContactIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    mode: BatchMode = BatchMode.ATOMIC


class OrderBatch(In):
    rows: Annotated[list[OrderIn], msgspec.Meta(min_length=1, max_length=MAX_BATCH)]
    mode: BatchMode = BatchMode.ATOMIC


class RowOutcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


class RowError(Out):
    """Why one row was refused: its place in the batch (from 0), its key, the field and a
    stable code with a message a person can act on; `reason` and `params` say the message in
    parts, for a screen to word it in its reader's language (orders/row_reasons.py)."""

    row: int
    external_id: str | None
    field: str | None
    code: str
    message: str
    reason: str = ""
    params: dict[str, str] = msgspec.field(default_factory=dict)


class RowResult(Out):
    row: int
    external_id: str | None
    id: int | None
    outcome: RowOutcome


class BatchResult(Out):
    """What a batch did (or, on a dry run or a refused atomic batch, would have done)."""

    written: bool
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[RowError]
    rows: list[RowResult]
