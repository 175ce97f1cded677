"""The write side of clients, buildings, contacts and orders: one upsert behind three doors.

The screens (one record by id), the API (batches of up to 10,000 rows by the company's own key)
and the spreadsheet import all call `upsert`. It reads what exists in a few set-based queries,
works out per row what would change, and writes only that, in one transaction, with one
change-log entry per record it created or changed. A row identical to what is stored changes
nothing and writes no entry, so a sender may repeat a batch as often as it likes.

Nothing here deletes: a record is deactivated (`active: false`); orders with sent emails stay,
and the archive keeps its frozen facts whatever happens to the order later.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, TypeAlias

import msgspec
from piccolo.columns import Column
from piccolo.table import Table

from organisatrice.core.addresses import valid_address
from organisatrice.core.bulk import insert_rows
from organisatrice.core.codes import Code
from organisatrice.core.db import is_sqlite, transaction
from organisatrice.core.errors import Conflict, Invalid, NotFound
from organisatrice.core.reads import long_reads
from organisatrice.orders.row_reasons import row_message
from organisatrice.orders.schemas import (
    BatchMode,
    BatchResult,
    BuildingIn,
    ClientIn,
    ContactIn,
    OrderIn,
    RowError,
    RowOutcome,
    RowResult,
)
from organisatrice.orders.tables import (
    Building,
    Client,
    Contact,
    Material,
    Order,
    OrderBuilding,
    OrderResponsible,
    RecordChange,
    WorkItem,
)
from organisatrice.roles.policy import Actor, Permission, permissions
from organisatrice.roles.tables import Employee

RecordIn: TypeAlias = ClientIn | BuildingIn | ContactIn | OrderIn


class RecordKind(StrEnum):
    CLIENT = "client"
    BUILDING = "building"
    CONTACT = "contact"
    ORDER = "order"


class _Kind(msgspec.Struct, frozen=True):
    """What differs between the four kinds: the table, the plain columns a row may set (with
    their values on creation), and what a new record needs."""

    table: type[Table]
    defaults: dict[str, Any]
    required: tuple[str, ...]
    label: str


_KINDS: dict[RecordKind, _Kind] = {
    RecordKind.CLIENT: _Kind(
        table=Client,
        defaults={
            "external_id": None,
            "name": "",
            "number": "",
            "street": "",
            "postal_code": "",
            "city": "",
            "phone": "",
            "email": "",
            "language": "de",
            "active": True,
        },
        required=("name",),
        label="Client",
    ),
    RecordKind.BUILDING: _Kind(
        table=Building,
        defaults={
            "external_id": None,
            "client": None,
            "name": "",
            "street": "",
            "postal_code": "",
            "city": "",
            "active": True,
        },
        required=("client", "street"),
        label="Building",
    ),
    RecordKind.CONTACT: _Kind(
        table=Contact,
        defaults={
            "external_id": None,
            "client": None,
            "building": None,
            "salutation": "none",
            "first_name": "",
            "last_name": "",
            "function": "",
            "email": "",
            "phone": "",
            "language": "de",
            "active": True,
        },
        required=(),
        label="Contact",
    ),
    RecordKind.ORDER: _Kind(
        table=Order,
        defaults={
            "external_id": None,
            "number": "",
            "title": "",
            "description": "",
            "status": "planned",
            "client": None,
            "start_date": None,
            "end_date": None,
            "remarks": "",
            "active": True,
        },
        required=("number", "title", "client"),
        label="Order",
    ),
}

# Lists given to IN (…) are read in slices of this size.
_IN_SLICE = 1_000

# An order's lists, each replaced as a whole when given and different.
_ORDER_LISTS = ("buildings", "responsible", "work_items", "materials")


class _Row(msgspec.Struct, kw_only=True):
    """One row on its way: what it gives, what it will do, what is wrong with it."""

    index: int
    external_id: str | None
    given: dict[str, Any]
    lists: dict[str, list[Any]] = msgspec.field(default_factory=dict)
    target: int | None = None
    errors: list[RowError] = msgspec.field(default_factory=list)
    outcome: RowOutcome = RowOutcome.UNCHANGED
    values: dict[str, Any] = msgspec.field(default_factory=dict)
    changes: dict[str, list[Any]] = msgspec.field(default_factory=dict)
    id: int | None = None

    def refuse(
        self,
        field: str | None,
        code: Code,
        reason: str,
        params: Mapping[str, object] | None = None,
        *,
        message: str = "",
    ) -> None:
        """`reason`: one of ROW_REASONS, or a problem code with its own `message`."""
        words = {name: str(value) for name, value in (params or {}).items()}
        self.errors.append(
            RowError(
                row=self.index,
                external_id=self.external_id,
                field=field,
                code=code,
                message=message or row_message(reason, words),
                reason=reason,
                params=words,
            )
        )


def _pk(table: type[Table]) -> Column:
    return table._meta.primary_key


def _now() -> datetime:
    return datetime.now(UTC)


def _slices(values: Sequence[Any], size: int = _IN_SLICE) -> Iterable[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def _given(record: RecordIn) -> dict[str, Any]:
    """The fields the row sets, strings without surrounding blanks."""
    given: dict[str, Any] = {}
    for name in record.__struct_fields__:
        value = getattr(record, name)
        if value is msgspec.UNSET:
            continue
        given[name] = value.strip() if isinstance(value, str) else value
    return given


def _read(index: int, record: RecordIn, *, batch: bool) -> _Row:
    given = _given(record)
    external_id = given.get("external_id")
    row = _Row(index=index, external_id=external_id, given=given)
    if batch and external_id is None:
        row.refuse("external_id", Code.MISSING_FIELD, "external_id_missing")
    for list_name in _ORDER_LISTS:
        if list_name in given:
            row.lists[list_name] = given.pop(list_name)
    if given.get("email"):
        try:
            given["email"] = valid_address(given["email"], label="Email", field="email").email
        except Invalid as error:
            row.refuse("email", Code.INVALID_EMAIL, error.code, error.params, message=error.detail)
    return row


async def upsert(
    actor: Actor,
    kind: RecordKind,
    records: Sequence[RecordIn],
    *,
    mode: BatchMode = BatchMode.ATOMIC,
    dry_run: bool = False,
    source: str = "api",
    ids: Sequence[int | None] | None = None,
) -> BatchResult:
    """Create or change `records` of one kind for the actor's company.

    Each record is found by `ids[i]` when given (the screens: NotFound if it is not the
    company's), else by its external_id (the API and the import: then required). In atomic
    mode nothing is written when any row is refused; per row, the good rows are written.
    `dry_run` writes nothing and answers what would happen.
    """
    spec = _KINDS[kind]
    rows = [_read(i, record, batch=ids is None) for i, record in enumerate(records)]
    _refuse_repeated_keys(rows)
    if Permission.ASSIGN_RESPONSIBLE not in permissions(actor):
        for row in rows:
            if "responsible" in row.lists:
                row.refuse("responsible", Code.NOT_ALLOWED, "responsible_backoffice_only")
    with long_reads():
        await _find_targets(actor, spec, rows, ids)
        await _resolve_references(actor, kind, rows)
        existing = await _existing(spec, rows)
        lists = await _existing_lists(rows) if kind is RecordKind.ORDER else {}
    for row in rows:
        if not row.errors:
            _plan(spec, kind, row, existing.get(row.target) if row.target else None, lists)
    refused = any(row.errors for row in rows)
    write = not dry_run and not (refused and mode is BatchMode.ATOMIC)
    if write:
        await _write(actor, kind, spec, [r for r in rows if not r.errors], source)
    return _result(rows, written=write)


def upsert_table(kind: RecordKind) -> str:
    """The table that records of `kind` are written to."""
    return _KINDS[kind].table._meta.tablename


def _refuse_repeated_keys(rows: list[_Row]) -> None:
    first: dict[str, int] = {}
    for row in rows:
        if row.external_id is None:
            continue
        seen = first.setdefault(row.external_id, row.index)
        if seen != row.index:
            row.refuse(
                "external_id",
                Code.DUPLICATE_EXTERNAL_ID,
                "duplicate",
                {"external_id": row.external_id, "row": seen},
            )


async def _find_targets(
    actor: Actor, spec: _Kind, rows: list[_Row], ids: Sequence[int | None] | None
) -> None:
    if ids is not None:
        wanted = {i for i in ids if i is not None}
        found = await _ids_of_company(spec.table, actor.company_id, wanted) if wanted else set()
        for row, wanted_id in zip(rows, ids, strict=True):
            if wanted_id is None:
                continue
            if wanted_id not in found:
                raise NotFound(
                    f"{spec.label} {wanted_id} does not exist.",
                    code=Code.RECORD_NOT_FOUND,
                    params={"kind": spec.label.lower(), "id": wanted_id},
                )
            row.target = wanted_id
    keys = {r.external_id for r in rows if r.external_id is not None}
    by_key = await _ids_by_key(spec.table, actor.company_id, keys) if keys else {}
    for row in rows:
        if row.external_id is None:
            continue
        holder = by_key.get(row.external_id)
        if row.target is None:
            row.target = holder
        elif holder is not None and holder != row.target:
            row.refuse(
                "external_id",
                Code.DUPLICATE_EXTERNAL_ID,
                "external_id_taken",
                {
                    "label": spec.label,
                    "kind": spec.label.lower(),
                    "holder": holder,
                    "external_id": row.external_id,
                },
            )


async def _rows_in(
    table: type[Table],
    columns: Sequence[str],
    key: str,
    values: Iterable[Any],
    company_id: int | None = None,
) -> list[dict[str, Any]]:
    """The `columns` of the rows whose `key` is one of `values` (of the company, when given),
    read in slices of _IN_SLICE. Raw SQL: Piccolo's `is_in` converts each value on its own,
    which cost more than the query in a part of an import."""
    name = table._meta.tablename
    selected = ", ".join(f'"{c}"' for c in columns)
    sqlite = is_sqlite()
    found: list[dict[str, Any]] = []
    # SQLite: IN (…) with a bound value each, in slices. PostgreSQL: all values in one bound
    # array, one statement that it prepares once.
    for part in _slices(sorted(values)) if sqlite else [sorted(values)]:
        test = f'"{key}" IN ({", ".join("{}" for _ in part)})' if sqlite else f'"{key}" = ANY({{}})'
        args: list[Any] = list(part) if sqlite else [list(part)]
        if company_id is not None:
            test = f'"company" = {{}} AND {test}'
            args.insert(0, company_id)
        # Names are our tables' and columns'; every value is a bound parameter.
        found += await table.raw(f'SELECT {selected} FROM "{name}" WHERE {test}', *args)  # noqa: S608
    return found


async def _ids_by_key(table: type[Table], company_id: int, keys: set[str]) -> dict[str, int]:
    rows = await _rows_in(table, ("id", "external_id"), "external_id", keys, company_id)
    return {r["external_id"]: r["id"] for r in rows}


async def _ids_of_company(table: type[Table], company_id: int, ids: set[int]) -> set[int]:
    return {r["id"] for r in await _rows_in(table, ("id",), "id", ids, company_id)}


async def _employees_by_email(company_id: int, emails: set[str]) -> dict[str, int]:
    rows = await _rows_in(Employee, ("id", "email"), "email", emails, company_id)
    return {r["email"]: r["id"] for r in rows}


_REFERENCED = {"client": Client, "building": Building}


async def _resolve_references(actor: Actor, kind: RecordKind, rows: list[_Row]) -> None:
    """Turn references by external id or by id into ids of the company's records, and the
    employees' emails of an order into employee ids; what names nothing is refused."""
    company = actor.company_id
    live = [r for r in rows if not r.errors]
    for name, table in _REFERENCED.items():
        by_key_wanted = {r.given[name] for r in live if name in r.given}
        by_id_wanted = {r.given[f"{name}_id"] for r in live if f"{name}_id" in r.given}
        by_key = await _ids_by_key(table, company, by_key_wanted) if by_key_wanted else {}
        by_id = await _ids_of_company(table, company, by_id_wanted) if by_id_wanted else set()
        for row in live:
            if name in row.given and f"{name}_id" in row.given:
                row.refuse(name, Code.TWO_REFERENCES, "two_references", {"field": name})
                continue
            if f"{name}_id" in row.given:
                wanted_id = row.given.pop(f"{name}_id")
                if wanted_id in by_id:
                    row.given[name] = wanted_id
                else:
                    row.refuse(
                        f"{name}_id",
                        Code.UNKNOWN_REFERENCE,
                        "unknown_id",
                        {"field": name, "id": wanted_id},
                    )
            elif name in row.given:
                key = row.given[name]
                if key in by_key:
                    row.given[name] = by_key[key]
                else:
                    row.refuse(
                        name, Code.UNKNOWN_REFERENCE, "unknown_key", {"field": name, "key": key}
                    )
    if kind is RecordKind.ORDER:
        await _resolve_order_lists(company, [r for r in rows if not r.errors])


async def _resolve_order_lists(company: int, rows: list[_Row]) -> None:
    building_keys = {k for r in rows for k in r.lists.get("buildings", [])}
    building_ids = {i for r in rows for i in r.given.get("building_ids", [])}
    emails = {e.lower() for r in rows for e in r.lists.get("responsible", [])} | {
        w.technician.lower() for r in rows for w in r.lists.get("work_items", [])
    }
    by_key = await _ids_by_key(Building, company, building_keys) if building_keys else {}
    of_company = await _ids_of_company(Building, company, building_ids) if building_ids else set()
    employees = await _employees_by_email(company, emails) if emails else {}
    for row in rows:
        if "building_ids" in row.given:
            wanted = row.given.pop("building_ids")
            if "buildings" in row.lists:
                row.refuse(
                    "buildings", Code.TWO_REFERENCES, "two_references", {"field": "buildings"}
                )
            for building_id in wanted:
                if building_id not in of_company:
                    row.refuse(
                        "building_ids",
                        Code.UNKNOWN_REFERENCE,
                        "unknown_id",
                        {"field": "building", "id": building_id},
                    )
            row.lists["buildings"] = list(dict.fromkeys(wanted))
        elif "buildings" in row.lists:
            resolved = []
            for key in row.lists["buildings"]:
                if key in by_key:
                    resolved.append(by_key[key])
                else:
                    row.refuse(
                        "buildings",
                        Code.UNKNOWN_REFERENCE,
                        "unknown_key",
                        {"field": "building", "key": key},
                    )
            row.lists["buildings"] = list(dict.fromkeys(resolved))
        if "responsible" in row.lists:
            people = []
            for email in row.lists["responsible"]:
                if email.lower() not in employees:
                    row.refuse(
                        "responsible", Code.UNKNOWN_REFERENCE, "unknown_employee", {"email": email}
                    )
                else:
                    people.append(employees[email.lower()])
            row.lists["responsible"] = sorted(set(people))
        if "work_items" in row.lists:
            items = []
            for n, item in enumerate(row.lists["work_items"]):
                technician = employees.get(item.technician.lower())
                if technician is None:
                    row.refuse(
                        f"work_items[{n}].technician",
                        Code.UNKNOWN_REFERENCE,
                        "unknown_employee",
                        {"email": item.technician},
                    )
                    continue
                items.append([item.date, technician, float(item.hours), item.description.strip()])
            row.lists["work_items"] = items
        if "materials" in row.lists:
            row.lists["materials"] = [
                [m.article.strip(), float(m.quantity), m.unit.strip()]
                for m in row.lists["materials"]
            ]


async def _existing(spec: _Kind, rows: list[_Row]) -> dict[int, dict[str, Any]]:
    wanted = {r.target for r in rows if r.target is not None and not r.errors}
    found = await _rows_in(spec.table, ("id", *spec.defaults), "id", wanted)
    return {r["id"]: r for r in found}


async def _existing_lists(rows: list[_Row]) -> dict[tuple[str, int], list[Any]]:
    """The lists of the orders that rows give lists for, as rows would give them."""
    found: dict[tuple[str, int], list[Any]] = defaultdict(list)
    orders = sorted({r.target for r in rows if r.target is not None and r.lists})
    for part in _slices(orders):
        part_ids = list(part)
        for b in (
            await OrderBuilding.select(OrderBuilding.order, OrderBuilding.building)
            .where(OrderBuilding.order.is_in(part_ids))
            .order_by(OrderBuilding.id)
        ):
            found["buildings", b["order"]].append(b["building"])
        for p in await OrderResponsible.select(
            OrderResponsible.order, OrderResponsible.employee
        ).where(OrderResponsible.order.is_in(part_ids)):
            found["responsible", p["order"]].append(p["employee"])
        for w in (
            await WorkItem.select(
                WorkItem.order,
                WorkItem.date,
                WorkItem.technician,
                WorkItem.hours,
                WorkItem.description,
            )
            .where(WorkItem.order.is_in(part_ids))
            .order_by(WorkItem.id)
        ):
            found["work_items", w["order"]].append(
                [w["date"], w["technician"], float(w["hours"]), w["description"]]
            )
        for m in (
            await Material.select(
                Material.order, Material.article, Material.quantity, Material.unit
            )
            .where(Material.order.is_in(part_ids))
            .order_by(Material.id)
        ):
            found["materials", m["order"]].append([m["article"], float(m["quantity"]), m["unit"]])
    for key, people in found.items():
        if key[0] == "responsible":
            people.sort()
    return found


def _plan(
    spec: _Kind,
    kind: RecordKind,
    row: _Row,
    stored: dict[str, Any] | None,
    lists: dict[tuple[str, int], list[Any]],
) -> None:
    """Work out what the row does: create (every column), update (the columns that differ)
    or nothing; and check what a record needs once merged with what is stored."""
    given = row.given
    if kind is RecordKind.CONTACT:
        # A contact belongs to a client or to a building: naming one lets go of the other.
        if "client" in given and "building" in given:
            row.refuse("client", Code.TWO_REFERENCES, "contact_owner")
            return
        if "client" in given:
            given["building"] = None
        elif "building" in given:
            given["client"] = None
    before = stored if stored is not None else spec.defaults

    def after(name: str) -> Any:
        return given.get(name, before[name])

    for name in spec.required:
        if after(name) in (None, ""):
            row.refuse(
                name,
                Code.MISSING_FIELD,
                "required_empty",
                {
                    "label": spec.label,
                    "kind": spec.label.lower(),
                    "field": name,
                    "words": name.replace("_", " "),
                },
            )
    if kind is RecordKind.CONTACT and after("client") is None and after("building") is None:
        row.refuse("client", Code.MISSING_FIELD, "contact_owner")
    if kind is RecordKind.ORDER:
        start, end = after("start_date"), after("end_date")
        if isinstance(start, date) and isinstance(end, date) and end < start:
            row.refuse("end_date", Code.INVALID_VALUE, "end_before_start")
    if row.errors:
        return
    if stored is None:
        # Every column, in the order of spec.defaults (the INSERT's); the change-log entry is
        # made from `given` and `lists` when the row is written.
        row.outcome = RowOutcome.CREATED
        row.values = {**spec.defaults, **given}
        return
    # Only what the row gives can differ from what is stored.
    row.id = row.target
    row.values = {name: value for name, value in given.items() if _differs(stored[name], value)}
    row.changes = {name: [stored[name], value] for name, value in row.values.items()}
    for name, value in row.lists.items():
        was = lists.get((name, row.id or 0), [])
        if was != value:
            row.changes[name] = [was, value]
    row.outcome = RowOutcome.UPDATED if row.changes else RowOutcome.UNCHANGED


def _differs(stored: Any, value: Any) -> bool:
    if isinstance(stored, float) or isinstance(value, float):
        return stored is None or value is None or abs(float(stored) - float(value)) > 1e-9
    return bool(stored != value)


def _result(rows: list[_Row], *, written: bool) -> BatchResult:
    outcomes = [RowOutcome.FAILED if r.errors else r.outcome for r in rows]
    return BatchResult(
        written=written,
        created=outcomes.count(RowOutcome.CREATED),
        updated=outcomes.count(RowOutcome.UPDATED),
        unchanged=outcomes.count(RowOutcome.UNCHANGED),
        failed=outcomes.count(RowOutcome.FAILED),
        errors=[error for r in rows for error in r.errors],
        rows=[
            RowResult(row=r.index, external_id=r.external_id, id=r.id, outcome=outcome)
            for r, outcome in zip(rows, outcomes, strict=True)
        ],
    )


async def _write(
    actor: Actor, kind: RecordKind, spec: _Kind, rows: list[_Row], source: str
) -> None:
    created = [r for r in rows if r.outcome is RowOutcome.CREATED]
    updated = [r for r in rows if r.outcome is RowOutcome.UPDATED]
    if not created and not updated:
        return
    try:
        async with transaction():
            await _insert(actor, spec, created)
            for row in updated:
                if row.values:
                    await spec.table.update(
                        {getattr(spec.table, n): v for n, v in row.values.items()}
                    ).where(_pk(spec.table) == row.id)
            if kind is RecordKind.ORDER:
                await _replace_lists(actor.company_id, created + updated)
            await _log(actor, kind, created + updated, source)
    except Exception as error:
        if _is_unique_violation(error):
            raise Conflict(
                "Another request created one of these records at the same moment; "
                "send the batch again.",
                code=Code.RECORD_CREATED_MEANWHILE,
            ) from None
        raise


def _is_unique_violation(error: Exception) -> bool:
    text = f"{type(error).__name__} {error}".lower()
    return "unique" in text and ("constraint" in text or "violation" in text)


async def _many(
    table: type[Table], columns: Sequence[str], values: list[list[Any]], *, new_ids: bool = False
) -> list[int]:
    return await insert_rows(table._meta.tablename, columns, values, new_ids=new_ids)


async def _insert(actor: Actor, spec: _Kind, rows: list[_Row]) -> None:
    values = [[actor.company_id, *r.values.values()] for r in rows]
    ids = await _many(spec.table, ["company", *spec.defaults], values, new_ids=True)
    for row, new_id in zip(rows, ids, strict=True):
        row.id = new_id


async def _replace_lists(company: int, rows: list[_Row]) -> None:
    """Replace the lists that changed: buildings, responsible employees, work, materials."""
    tables: dict[str, tuple[type[Table], list[str]]] = {
        "buildings": (OrderBuilding, ["building"]),
        "responsible": (OrderResponsible, ["employee"]),
        "work_items": (WorkItem, ["date", "technician", "hours", "description"]),
        "materials": (Material, ["article", "quantity", "unit"]),
    }
    for name, (table, columns) in tables.items():
        changed = [
            r
            for r in rows
            if name in r.lists and (r.outcome is RowOutcome.CREATED or name in r.changes)
        ]
        if not changed:
            continue
        replaced = [r.id for r in changed if r.outcome is RowOutcome.UPDATED]
        for part in _slices(replaced):
            await table.delete().where(table.order.is_in(list(part)))  # type: ignore[attr-defined]
        values = [
            [company, row.id, *(item if isinstance(item, list) else [item])]
            for row in changed
            for item in row.lists[name]
        ]
        if values:
            await _many(table, ["company", "order", *columns], values)


def _changes_json(row: _Row) -> str:
    """The change-log entry's changes: per field [before, after]; a new record's every given
    field and list, from nothing."""
    if row.outcome is RowOutcome.CREATED:
        created = {name: [None, value] for name, value in row.given.items()}
        created.update({name: [None, value] for name, value in row.lists.items()})
        return msgspec.json.encode(created).decode()
    return msgspec.json.encode(row.changes).decode()


async def _log(actor: Actor, kind: RecordKind, rows: list[_Row], source: str) -> None:
    now = _now()
    values = [
        [
            actor.company_id,
            now,
            actor.employee_id or None,
            actor.token_id,
            source,
            kind.value,
            row.id,
            row.outcome.value,
            _changes_json(row),
        ]
        for row in rows
    ]
    columns = [
        "company",
        "at",
        "employee",
        "token",
        "source",
        "subject",
        "subject_id",
        "action",
        "changes",
    ]
    await _many(RecordChange, columns, values)


async def save_one(actor: Actor, kind: RecordKind, record: RecordIn, record_id: int | None) -> int:
    """Create (`record_id` None) or change one record from a screen; a refusal is a 422 that
    names the field. Answers the record's id."""
    result = await upsert(actor, kind, [record], ids=[record_id], source="screen")
    if result.errors:
        first = result.errors[0]
        # The row's code names the problem; the field says where, so the words need no params.
        raise Invalid(first.message, code=Code(first.code), field=first.field)
    found = result.rows[0].id
    assert found is not None
    return found
