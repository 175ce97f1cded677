"""Columns to fields and cells to values: a spreadsheet's rows as the Structs the API takes.

Pure, no database. Headers are matched with the names in vocabulary.toml; each row becomes a
ClientIn, BuildingIn, ContactIn or OrderIn (the same Structs the API's batches take, so the
same upsert checks them), or errors that name the row, the column and what to do. An empty cell
gives nothing: the field keeps what is stored (or its default on creation).
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Iterator
from datetime import date
from enum import StrEnum
from pathlib import Path
from typing import Any

import msgspec

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid
from organisatrice.imports.reading import Line
from organisatrice.imports.schemas import ImportField, ImportRowError
from organisatrice.orders.row_reasons import row_message
from organisatrice.orders.schemas import BuildingIn, ClientIn, ContactIn, OrderIn, RowError
from organisatrice.orders.writes import RecordIn, RecordKind


class Parse(StrEnum):
    """How a cell's text becomes a field's value."""

    TEXT = "text"
    # Text that may hold line breaks (descriptions, remarks).
    LINES = "lines"
    BOOL = "bool"
    DATE = "date"
    # A word out of the vocabulary's [values.<field>].
    WORD = "word"
    # Several values in one cell, separated by commas or line breaks.
    LIST = "list"


FIELDS: dict[RecordKind, dict[str, Parse]] = {
    RecordKind.CLIENT: {
        "external_id": Parse.TEXT,
        "name": Parse.TEXT,
        "number": Parse.TEXT,
        "street": Parse.TEXT,
        "postal_code": Parse.TEXT,
        "city": Parse.TEXT,
        "phone": Parse.TEXT,
        "email": Parse.TEXT,
        "language": Parse.WORD,
        "active": Parse.BOOL,
    },
    RecordKind.BUILDING: {
        "external_id": Parse.TEXT,
        "client": Parse.TEXT,
        "name": Parse.TEXT,
        "street": Parse.TEXT,
        "postal_code": Parse.TEXT,
        "city": Parse.TEXT,
        "active": Parse.BOOL,
    },
    RecordKind.CONTACT: {
        "external_id": Parse.TEXT,
        "client": Parse.TEXT,
        "building": Parse.TEXT,
        "salutation": Parse.WORD,
        "first_name": Parse.TEXT,
        "last_name": Parse.TEXT,
        "function": Parse.TEXT,
        "email": Parse.TEXT,
        "phone": Parse.TEXT,
        "language": Parse.WORD,
        "active": Parse.BOOL,
    },
    # One row per order with its flat fields; its work and materials come through the API.
    RecordKind.ORDER: {
        "external_id": Parse.TEXT,
        "number": Parse.TEXT,
        "title": Parse.TEXT,
        "description": Parse.LINES,
        "status": Parse.WORD,
        "client": Parse.TEXT,
        "buildings": Parse.LIST,
        "start_date": Parse.DATE,
        "end_date": Parse.DATE,
        "remarks": Parse.LINES,
        "responsible": Parse.LIST,
        "active": Parse.BOOL,
    },
}

# The columns a file needs so that each of its rows can be found again (the external id) and
# created: what upsert requires of a new record of the kind.
REQUIRED: dict[RecordKind, tuple[str, ...]] = {
    RecordKind.CLIENT: ("external_id", "name"),
    RecordKind.BUILDING: ("external_id", "client", "street"),
    # And a client or a building column (below).
    RecordKind.CONTACT: ("external_id",),
    RecordKind.ORDER: ("external_id", "number", "title", "client"),
}
_CONTACT_OWNERS = ("client", "building")

# Fields of orders that a row of a spreadsheet cannot hold.
API_ONLY = frozenset({"work_items", "materials"})

_STRUCTS: dict[RecordKind, type[RecordIn]] = {
    RecordKind.CLIENT: ClientIn,
    RecordKind.BUILDING: BuildingIn,
    RecordKind.CONTACT: ContactIn,
    RecordKind.ORDER: OrderIn,
}

# A cell that starts like a formula runs as one when the file is opened in a spreadsheet
# program (formula injection); numbers and phone numbers may start with + or -.
_FORMULA_START = ("=", "+", "-", "@")
_NUMBER_LIKE = re.compile(r"[+-][\d\s'.,/()+-]*")
_SWISS_DATE = re.compile(r"(\d{1,2})[./](\d{1,2})[./](\d{4}|\d{2})")
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T][\d:.]*)?")
_LIST_SEPARATOR = re.compile(r"[,\n]")


def normalize(text: str) -> str:
    """How names and words are compared: no case, accents, blanks or punctuation."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if c.isalnum())


class _Vocabulary(msgspec.Struct, forbid_unknown_fields=True):
    names: dict[str, list[str]]
    kinds: dict[RecordKind, dict[str, list[str]]]
    values: dict[str, dict[str, list[str]]]


@functools.cache
def _vocabulary() -> _Vocabulary:
    source = (Path(__file__).parent / "vocabulary.toml").read_bytes()
    return msgspec.toml.decode(source, type=_Vocabulary)


@functools.cache
def header_names(kind: RecordKind) -> dict[str, str]:
    """Normalized header → field, for the fields of `kind`: a field's own name first, then
    the kind's names, then the names common to every kind. A name that two fields claim on
    one level is a mistake in the vocabulary (the unit tests read every kind)."""
    vocabulary = _vocabulary()
    fields = FIELDS[kind]
    unknown = (set(vocabulary.kinds.get(kind, {})) | set(vocabulary.names)) - {
        f for k in FIELDS.values() for f in k
    }
    if unknown:
        raise RuntimeError(f"vocabulary.toml names unknown fields: {sorted(unknown)}")
    levels = [
        {field: [field] for field in fields},
        vocabulary.kinds.get(kind, {}),
        {f: names for f, names in vocabulary.names.items() if f in fields},
    ]
    found: dict[str, str] = {}
    for level in levels:
        claimed: dict[str, str] = {}
        for field, names in level.items():
            for name in names:
                key = normalize(name)
                if claimed.setdefault(key, field) != field:
                    raise RuntimeError(f"vocabulary.toml: {name!r} names two {kind} fields")
        for key, field in claimed.items():
            found.setdefault(key, field)
    return found


@functools.cache
def _words(field: str) -> dict[str, str]:
    """Normalized word → the value it stands for (the value itself is a word for it too)."""
    by_value = _vocabulary().values[field]
    words = {normalize(value): value for value in by_value}
    for value, names in by_value.items():
        for name in names:
            words[normalize(name)] = value
    # And each word as written, so that most cells are found without normalizing them.
    for value, names in by_value.items():
        for name in (value, *names):
            words.setdefault(name, value)
    return words


def importable(kind: RecordKind) -> list[ImportField]:
    required = set(REQUIRED[kind])
    return [ImportField(name=name, required=name in required) for name in FIELDS[kind]]


def auto_mapping(kind: RecordKind, header: list[str]) -> list[str | None]:
    """The field each column fills, by its header; a field is filled by its first column."""
    names = header_names(kind)
    taken: set[str] = set()
    mapping: list[str | None] = []
    for name in header:
        field = names.get(normalize(name))
        if field is None or field in taken:
            mapping.append(None)
            continue
        taken.add(field)
        mapping.append(field)
    return mapping


def check_mapping(kind: RecordKind, header: list[str], mapping: list[str | None]) -> None:
    """A mapping from a person: one entry per column, fields of the kind, each at most once."""
    if len(mapping) != len(header):
        raise Invalid(
            f"The file has {len(header)} columns; give one entry for each (a field, or null "
            f"to leave the column out), not {len(mapping)}.",
            field="mapping",
            code=Code.INVALID_MAPPING,
            params={"columns": len(header), "given": len(mapping)},
        )
    seen: set[str] = set()
    for index, field in enumerate(mapping):
        if field is None:
            continue
        if kind is RecordKind.ORDER and field in API_ONLY:
            raise Invalid(
                f"Column {index + 1} ({header[index]!r}): {field.replace('_', ' ')} come "
                "through the API only (POST /api/orders/batch); a spreadsheet holds one row "
                "per order with its own fields. Leave the column out.",
                field="mapping",
                code=Code.API_ONLY,
                params={"column": index + 1, "header": header[index], "name": field},
            )
        if field not in FIELDS[kind]:
            raise Invalid(
                f"Column {index + 1} ({header[index]!r}): {kind.value}s have no field "
                f"{field!r}. Fields: {', '.join(FIELDS[kind])}.",
                field="mapping",
                code=Code.INVALID_MAPPING,
                params={"column": index + 1, "header": header[index], "name": field},
            )
        if field in seen:
            raise Invalid(
                f"Two columns fill the field {field!r}; leave one of them out.",
                field="mapping",
                code=Code.INVALID_MAPPING,
                params={"name": field},
            )
        seen.add(field)


def missing(kind: RecordKind, mapping: list[str | None]) -> list[str]:
    """The required fields that no column fills."""
    mapped = set(mapping)
    absent = [field for field in REQUIRED[kind] if field not in mapped]
    if kind is RecordKind.CONTACT and mapped.isdisjoint(_CONTACT_OWNERS):
        absent.append(_CONTACT_OWNERS[0])
    return absent


def missing_message(kind: RecordKind, header: list[str], absent: list[str]) -> str:
    named = ", ".join(_label(field) for field in absent)
    if kind is RecordKind.CONTACT and _CONTACT_OWNERS[0] in absent:
        named += " (or the building)"
    return (
        f"A file of {kind.value}s needs a column for: {named}. Found: "
        f"{', '.join(repr(h) for h in header if h) or 'no column names'}. Name the columns "
        "in the file, or map them by hand."
    )


def _label(field: str) -> str:
    return field.replace("_", " ")


class Chunk(msgspec.Struct, kw_only=True):
    """Some rows of a file: the records to hand to upsert, each with its row number, and the
    rows refused before (with their errors)."""

    records: list[RecordIn]
    rows: list[int]
    errors: list[ImportRowError]
    refused: int
    read: int


class RowReader:
    """Reads the rows of one file into records of its kind, remembering the external ids it
    has seen: the same id twice in a file is an error, however far apart the rows are."""

    def __init__(self, kind: RecordKind, header: list[str], mapping: list[str | None]) -> None:
        self.kind = kind
        self.struct = _STRUCTS[kind]
        self.columns = [
            (index, field, header[index] if index < len(header) else f"{index + 1}")
            for index, field in enumerate(mapping)
            if field is not None
        ]
        self.header_of = {field: name for _, field, name in self.columns}
        self.seen: dict[str, int] = {}
        self.key_index = next((i for i, f, _ in self.columns if f == "external_id"), None)
        # Per column, the function that turns its cell's text into the field's value: chosen
        # once, not per cell (a 100,000-row file has a million cells).
        self.parsers = [
            (index, field, column, self._parser(field, column))
            for index, field, column in self.columns
        ]
        self.width = max((index + 1 for index, _, _ in self.columns), default=0)

    def chunk(self, lines: Iterator[Line], size: int) -> Chunk:
        """The next `size` rows (fewer at the end of the file; none when it is read)."""
        chunk = Chunk(records=[], rows=[], errors=[], refused=0, read=0)
        for line in lines:
            chunk.read += 1
            record, errors = self.read(line)
            if record is None:
                chunk.refused += 1
                chunk.errors.extend(errors)
            else:
                chunk.records.append(record)
                chunk.rows.append(line.number)
            if chunk.read >= size:
                break
        return chunk

    def read(self, line: Line) -> tuple[RecordIn | None, list[ImportRowError]]:
        values: dict[str, Any] = {}
        errors: list[ImportRowError] = []
        cells = line.cells
        if len(cells) < self.width:
            cells = cells + [""] * (self.width - len(cells))
        key = cells[self.key_index].strip() if self.key_index is not None else ""
        external_id = key or None

        def refuse(field: str | None, code: str, reason: str, /, **params: object) -> None:
            words = {name: str(value) for name, value in params.items()}
            errors.append(
                ImportRowError(
                    row=line.number,
                    external_id=external_id,
                    column=self.header_of.get(field) if field else None,
                    field=field,
                    code=code,
                    message=row_message(reason, words),
                    reason=reason,
                    params=words,
                )
            )

        for index, field, column, parse in self.parsers:
            text = cells[index].strip()
            if not text:
                continue
            if text[0] in _FORMULA_START and not _NUMBER_LIKE.fullmatch(text):
                refuse(field, "formula", "formula", column=column, char=text[0])
                continue
            if parse is None:
                values[field] = text
                continue
            try:
                values[field] = parse(text)
            except CellRefused as error:
                refuse(field, "invalid_value", error.reason, **error.params)
        if external_id is None:
            refuse(
                "external_id",
                "missing_field",
                "external_id_missing_in_file",
                column=self.header_of.get("external_id"),
            )
        elif external_id in self.seen:
            refuse(
                "external_id",
                "duplicate_external_id",
                "duplicate",
                external_id=external_id,
                row=self.seen[external_id],
            )
        else:
            self.seen[external_id] = line.number
        if errors:
            return None, errors
        try:
            return msgspec.convert(values, type=self.struct), []
        except msgspec.ValidationError:
            # Which fields, each with a plain message (msgspec names the first one only).
            for field, value in values.items():
                try:
                    msgspec.convert({field: value}, type=self.struct)
                except msgspec.ValidationError as error:
                    reason, params = self._plain(field, str(error))
                    refuse(field, "invalid_value", reason, **params)
            return None, errors

    def row_error(self, rows: list[int], error: RowError) -> ImportRowError:
        """An error of upsert (its row: the place in the chunk) as the file's row."""
        field = error.field.split("[", 1)[0] if error.field else None
        return ImportRowError(
            row=rows[error.row],
            external_id=error.external_id,
            column=self.header_of.get(field) if field else None,
            field=error.field,
            code=error.code,
            message=error.message,
            reason=error.reason,
            params=error.params,
        )

    def _parser(self, field: str, column: str) -> Callable[[str], Any] | None:
        """How a cell of `column` becomes a value of `field` (ValueError says why not); None
        for text, which is taken as it is."""
        parse = FIELDS[self.kind][field]
        if parse is Parse.BOOL:
            return lambda text: _word("active", text, column) == "true"
        if parse is Parse.WORD:
            return functools.partial(_word, field, column=column)
        if parse is Parse.DATE:
            return functools.partial(_date, column=column)
        if parse is Parse.LIST:
            return lambda text: [p.strip() for p in _LIST_SEPARATOR.split(text) if p.strip()]
        return None

    def _plain(self, field: str, error: str) -> tuple[str, dict[str, str]]:
        """msgspec's message for a field as a row reason a person reads, and its params."""
        column = {"column": self.header_of.get(field, field)}
        longest = re.search(r"length <= (\d+)", error)
        if longest and "`array`" in error:
            return "too_many_entries", column | {"max": longest.group(1)}
        if longest:
            return "too_long", column | {"max": longest.group(1)}
        if "regex" in error and FIELDS[self.kind].get(field) is Parse.LINES:
            return "control_characters", column
        if "regex" in error:
            return "one_line", column
        if "length >= 1" in error:
            return "empty_entry", column
        return "not_accepted", column


class CellRefused(ValueError):
    """A cell whose text is not a value of its field: a row reason and its params."""

    def __init__(self, reason: str, **params: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


def _word(field: str, text: str, column: str) -> str:
    found = _words(field).get(text) or _words(field).get(normalize(text))
    if found is None:
        examples = ", ".join(names[0] for names in _vocabulary().values[field].values())
        raise CellRefused(
            "word_unknown",
            text=text,
            column=column,
            field=field,
            words=_label(field),
            choices=", ".join(_vocabulary().values[field]),
            examples=examples,
        )
    return found


def _date(text: str, column: str) -> date:
    swiss = _SWISS_DATE.fullmatch(text)
    iso = _ISO_DATE.fullmatch(text)
    try:
        if swiss:
            day, month, year = (int(part) for part in swiss.groups())
            return date(year + 2000 if year < 100 else year, month, day)
        if iso:
            year, month, day = (int(part) for part in iso.groups())
            return date(year, month, day)
    except ValueError:
        pass
    raise CellRefused("date_invalid", text=text, column=column)
