"""What the imports room answers and takes: import jobs, their columns, counts and row errors."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

import msgspec

from organisatrice.core.structs import In, Out
from organisatrice.imports.reading import MAX_COLUMNS
from organisatrice.orders.schemas import BatchMode, EmployeeRef
from organisatrice.orders.writes import RecordKind

FieldName = Annotated[str, msgspec.Meta(max_length=50)]
# Per column of the file, in order: the field it fills, or None to leave it out.
Mapping = Annotated[list[FieldName | None], msgspec.Meta(max_length=MAX_COLUMNS)]


class ImportStatus(StrEnum):
    UPLOADED = "uploaded"
    # Reading the file and checking each row; nothing is written.
    CHECKING = "checking"
    CHECKED = "checked"
    IMPORTING = "importing"
    DONE = "done"
    FAILED = "failed"


RUNNING = frozenset({ImportStatus.CHECKING, ImportStatus.IMPORTING})


class ImportAction(StrEnum):
    """What was last asked of the job: a check (a dry run) or the import itself."""

    CHECK = "check"
    IMPORT = "import"


class ImportRowError(Out):
    """Why one row was refused: its number as Excel shows it (the header is row 1), its
    external id, the column (its header) and field, a stable code and a plain message."""

    row: int
    external_id: str | None
    column: str | None
    field: str | None
    code: str
    message: str
    # The message in parts, for the screen to word (orders/row_reasons.py).
    reason: str = ""
    params: dict[str, str] = msgspec.field(default_factory=dict)


class ImportCounts(Out):
    created: int
    updated: int
    unchanged: int
    failed: int


class ImportColumn(Out):
    index: int
    header: str
    # The field the column fills, or None: the column is left out.
    field: str | None


class ImportField(Out):
    """A field a column can fill; `required`: the file must have a column for it."""

    name: str
    required: bool


class ImportSummary(Out):
    """One line of the import log."""

    id: int
    kind: RecordKind
    filename: str
    size: int
    mode: BatchMode
    status: ImportStatus
    action: ImportAction | None
    uploaded_by: EmployeeRef | None
    uploaded_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    rows_total: int
    rows_done: int
    # What the last check found (would be created, …), and what the import wrote.
    check: ImportCounts | None
    result: ImportCounts | None
    error_count: int
    # Why the job failed as a whole (a stable code and a message), when it did.
    problem_code: str | None
    problem: str | None


class ImportDetail(ImportSummary, kw_only=True):
    file_type: str
    encoding: str | None
    delimiter: str | None
    columns: list[ImportColumn]
    fields: list[ImportField]
    # Required fields no column fills yet: the job cannot run until they are mapped.
    missing: list[str]
    preview: list[list[str]]
    # The first rows' errors (at most a thousand are kept; `error_count` counts them all).
    errors: list[ImportRowError]


class ImportPatch(In):
    """A new column mapping (one entry per column of the file, in order: the field it
    fills, or null to leave it out) and/or mode, before the job runs."""

    mapping: Mapping | msgspec.UnsetType = msgspec.UNSET
    mode: BatchMode | msgspec.UnsetType = msgspec.UNSET
