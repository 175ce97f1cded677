"""Tables of the imports room: the import log. Every row carries its company."""

from __future__ import annotations

from piccolo.columns import (
    ForeignKey,
    Integer,
    OnDelete,
    Serial,
    Text,
    Timestamptz,
    Varchar,
)
from piccolo.columns.defaults.timestamptz import TimestamptzNow
from piccolo.table import Table

from organisatrice.roles.tables import Company, Employee


class ImportJob(Table):
    """One uploaded spreadsheet and what became of it: the file (in the blob store, written
    before this row), how its columns map to fields, and the last check's and the import's
    counts and row errors. Listed newest first, it is the import log."""

    id = Serial(primary_key=True)
    company = ForeignKey(references=Company, on_delete=OnDelete.cascade, index=True)
    employee = ForeignKey(references=Employee, on_delete=OnDelete.set_null, null=True)
    kind = Varchar(length=20)
    filename = Varchar(length=255)
    size = Integer()
    blob_sha256 = Varchar(length=64)
    # How the file reads (reading.Layout): csv or xlsx, a CSV's encoding and delimiter.
    file_type = Varchar(length=10)
    encoding = Varchar(length=20, default="")
    delimiter = Varchar(length=1, default="")
    # JSON: the header row's names, the first rows, and per column the field it fills or null.
    headers = Text(default="[]")
    preview = Text(default="[]")
    mapping = Text(default="[]")
    mode = Varchar(length=10)
    status = Varchar(length=20)
    # What was last asked: "check" or "import" ("" before either).
    action = Varchar(length=10, default="")
    rows_total = Integer(default=0)
    rows_done = Integer(default=0)
    # What the import wrote, counted in the transaction of each part it wrote: after a crash
    # they still say exactly what is in the database.
    created = Integer(default=0)
    updated = Integer(default=0)
    unchanged = Integer(default=0)
    failed = Integer(default=0)
    # JSON: the last check's counts (the dry run), or null.
    check_result = Text(null=True, default=None)
    # JSON: the first row errors of the last run (capped), and how many there were.
    errors = Text(default="[]")
    error_count = Integer(default=0)
    # Why the job failed as a whole: a stable code and a message.
    problem_code = Varchar(length=40, default="")
    problem = Text(default="")
    uploaded_at = Timestamptz(default=TimestamptzNow())
    started_at = Timestamptz(null=True, default=None)
    finished_at = Timestamptz(null=True, default=None)
    # Touched with every part while a job runs; a running job whose heartbeat is old lost
    # its process (a restart, a crash) and is shown failed.
    heartbeat_at = Timestamptz(null=True, default=None)
