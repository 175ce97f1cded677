"""Running imports: upload, column mapping, check (a dry run) and import, in the background.

An upload is read once in a worker process with a budget (reading.inspect: what the file is,
its columns, a preview, its rows), stored in the blob store, and logged as an ImportJob. A
check or an import then runs as an asyncio task in this process: it reads the stored file in
parts of CHUNK_ROWS rows (read and converted in a thread, so the event loop serves others
meanwhile) and hands each part to orders.writes.upsert, the same checks and writes as the API's
batches, as a dry run or for real.

Atomic mode promises nothing or everything: the import first checks the whole file (a dry run;
the person's own check, when it is current and clean) and writes only when no row has an
error. Each part is then written in its own transaction; a change by someone else between the
check and the write (a client deleted, a key taken) is caught by upsert's own checks of that
part, and the import stops there and says which rows were written. Each part's counts are
written in the part's transaction, so the job always says what is in the database, even after
a crash: a running job whose heartbeat stops is shown failed with those counts. Importing the
same file again finds every row unchanged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

import anyio
import msgspec

from organisatrice.core.blobs import blob_store
from organisatrice.core.bounded import Budget, OverBudget, run_bounded
from organisatrice.core.codes import Code
from organisatrice.core.db import refresh_statistics, transaction
from organisatrice.core.errors import (
    Conflict,
    DomainError,
    Invalid,
    NotFound,
    TooLarge,
    UnsupportedType,
)
from organisatrice.core.filenames import safe_filename
from organisatrice.core.structs import Page
from organisatrice.imports import fields, reading
from organisatrice.imports.schemas import (
    RUNNING,
    ImportAction,
    ImportColumn,
    ImportCounts,
    ImportDetail,
    ImportPatch,
    ImportRowError,
    ImportStatus,
    ImportSummary,
    Mapping,
)
from organisatrice.imports.tables import ImportJob
from organisatrice.orders.schemas import BatchMode, BatchResult, EmployeeRef
from organisatrice.orders.writes import RecordKind, upsert, upsert_table
from organisatrice.roles.policy import Actor
from organisatrice.settings import get_settings

log = logging.getLogger("organisatrice.imports")
Choice = TypeVar("Choice", bound=StrEnum)

# Rows per part: one upsert call, one transaction, one progress step.
CHUNK_ROWS = 2_000
# Row errors kept with a job; `error_count` counts them all.
MAX_STORED_ERRORS = 1_000
# A running job touches its heartbeat this often; one silent for STALE_AFTER lost its process.
HEARTBEAT_SECONDS = 15
STALE_AFTER = timedelta(minutes=2)
# The first read of an upload, in a worker process: time for 50 MB of CSV or an XLSX.
INSPECT_SECONDS = 120

# The jobs this process runs, kept so the loop does not drop them, and stopped at shutdown.
_tasks: dict[int, asyncio.Task[None]] = {}

_FILE_ERRORS: dict[Code, type[DomainError]] = {
    Code.TOO_LARGE: TooLarge,
    Code.UNSUPPORTED_TYPE: UnsupportedType,
}

_SUMMARY_COLUMNS = (
    ImportJob.id,
    ImportJob.kind,
    ImportJob.filename,
    ImportJob.size,
    ImportJob.mode,
    ImportJob.status,
    ImportJob.action,
    ImportJob.employee.id,
    ImportJob.employee.first_name,
    ImportJob.employee.last_name,
    ImportJob.uploaded_at,
    ImportJob.started_at,
    ImportJob.finished_at,
    ImportJob.rows_total,
    ImportJob.rows_done,
    ImportJob.created,
    ImportJob.updated,
    ImportJob.unchanged,
    ImportJob.failed,
    ImportJob.check_result,
    ImportJob.error_count,
    ImportJob.problem_code,
    ImportJob.problem,
)


def _now() -> datetime:
    return datetime.now(UTC)


# ---------------------------------------------------------------------------- upload


async def upload(
    actor: Actor, *, data: bytes, filename: str, kind: str, mode: str, mapping: str
) -> ImportDetail:
    """Take a spreadsheet: check what it is, store it, log the job with its columns mapped
    automatically (or as `mapping` says) and a preview. Nothing is imported yet."""
    record_kind = _choice(RecordKind, kind, "kind")
    batch_mode = _choice(BatchMode, mode or BatchMode.ATOMIC, "mode")
    given = _mapping(mapping) if mapping.strip() else None
    limit = get_settings().max_import_bytes
    if not data:
        raise Invalid("The file is empty.", field="file", code=Code.EMPTY_FILE)
    if len(data) > limit:
        raise TooLarge(
            f"The file is {_size(len(data))}; at most {_size(limit)} can be imported at "
            "once. Split it into several files.",
            field="file",
            code=Code.TOO_LARGE,
            params={"size": _size(len(data)), "max": _size(limit)},
        )
    store = blob_store()
    ref, created = await store.put(data)
    try:
        async with store.local_file(ref.sha256) as path:
            layout = await _inspect(str(path))
        columns = given if given is not None else fields.auto_mapping(record_kind, layout.header)
        fields.check_mapping(record_kind, layout.header, columns)
        async with transaction():
            (row,) = await ImportJob.insert(
                ImportJob(
                    company=actor.company_id,
                    employee=actor.employee_id or None,
                    kind=record_kind.value,
                    filename=safe_filename(filename, extension=f".{layout.file_type.value}"),
                    size=len(data),
                    blob_sha256=ref.sha256,
                    file_type=layout.file_type.value,
                    encoding=layout.encoding,
                    delimiter=layout.delimiter,
                    headers=_json(layout.header),
                    preview=_json(layout.preview),
                    mapping=_json(columns),
                    mode=batch_mode.value,
                    status=ImportStatus.UPLOADED.value,
                    rows_total=layout.rows,
                )
            ).returning(ImportJob.id)
    except BaseException:
        # A refused file leaves nothing behind (a blob others stored before stays theirs).
        if created:
            with anyio.CancelScope(shield=True):
                await store.discard(ref.sha256)
        raise
    return await detail(actor, row["id"])


def _size(size: int) -> str:
    return f"{size / 1e6:.1f} MB" if size >= 100_000 else f"{size / 1e3:.0f} kB"


async def _inspect(path: str) -> reading.Layout:
    budget = Budget(seconds=INSPECT_SECONDS, memory_mb=get_settings().bounded_memory_mb)
    try:
        found = await run_bounded(budget, reading.inspect_stored, path)
    except OverBudget as over:
        raise TooLarge(
            f"The file needs more {'time' if over.reason == 'time' else 'memory'} to read than "
            "an import may take. Split it into several files, or save it as CSV.",
            field="file",
            code=Code.TOO_LARGE,
        ) from None
    if isinstance(found, reading.Refusal):
        error = _FILE_ERRORS.get(found.code, Invalid)
        raise error(found.message, field="file", code=found.code)
    return found


def _choice(kind: type[Choice], value: str, field: str) -> Choice:
    try:
        return kind(value)
    except ValueError:
        raise Invalid(
            f"{field} must be one of {', '.join(k.value for k in kind)}, not {value[:50]!r}.",
            code=Code.CHOICE_UNKNOWN,
            params={"value": value[:50], "choices": ", ".join(k.value for k in kind)},
            field=field,
        ) from None


def _mapping(text: str) -> list[str | None]:
    try:
        return msgspec.json.decode(text, type=Mapping)
    except (msgspec.DecodeError, msgspec.ValidationError):
        raise Invalid(
            "The mapping is a JSON list with one entry per column: a field name or null, as "
            'in ["external_id", "name", null].',
            field="mapping",
            code=Code.INVALID_MAPPING,
        ) from None


def _json(value: Any) -> str:
    return msgspec.json.encode(value).decode()


# ---------------------------------------------------------------------------- reading jobs


class _Job(msgspec.Struct, kw_only=True):
    """A job as the runner needs it."""

    id: int
    kind: RecordKind
    mode: BatchMode
    status: ImportStatus
    blob_sha256: str
    layout: reading.Layout
    mapping: list[str | None]
    # Its import wrote records (and the job stays as the record of that).
    wrote: bool
    # Its last check, of this mapping and mode, found no row with an error.
    checked_clean: bool


async def _row(actor: Actor, job_id: int) -> dict[str, Any]:
    """The company's job, with every column; another company's is not found."""
    await _give_up_stale(actor.company_id, job_id)
    found = (
        await ImportJob.select(
            *ImportJob.all_columns(exclude=[ImportJob.employee]),
            ImportJob.employee.id,
            ImportJob.employee.first_name,
            ImportJob.employee.last_name,
        )
        .where((ImportJob.id == job_id) & (ImportJob.company == actor.company_id))
        .first()
    )
    if found is None:
        raise NotFound(
            f"Import {job_id} does not exist.",
            code=Code.IMPORT_NOT_FOUND,
            params={"id": job_id},
        )
    return found


def _job(row: dict[str, Any]) -> _Job:
    return _Job(
        id=row["id"],
        kind=RecordKind(row["kind"]),
        mode=BatchMode(row["mode"]),
        status=ImportStatus(row["status"]),
        blob_sha256=row["blob_sha256"],
        layout=reading.Layout(
            file_type=reading.FileType(row["file_type"]),
            encoding=row["encoding"],
            delimiter=row["delimiter"],
            header=msgspec.json.decode(row["headers"], type=list[str]),
            rows=row["rows_total"],
            preview=[],
        ),
        mapping=msgspec.json.decode(row["mapping"], type=list[str | None]),
        wrote=row["action"] == ImportAction.IMPORT.value and bool(row["created"] or row["updated"]),
        checked_clean=row["status"] == ImportStatus.CHECKED.value
        and not row["error_count"]
        and row["check_result"] is not None
        and not msgspec.json.decode(row["check_result"], type=ImportCounts).failed,
    )


def _summary(row: dict[str, Any]) -> dict[str, Any]:
    """The fields of ImportSummary from a row (ImportDetail adds to them)."""
    status = ImportStatus(row["status"])
    action = ImportAction(row["action"]) if row["action"] else None
    wrote = action is ImportAction.IMPORT and status not in (
        ImportStatus.UPLOADED,
        ImportStatus.CHECKING,
    )
    employee = (
        EmployeeRef(
            id=row["employee.id"],
            name=f"{row['employee.first_name']} {row['employee.last_name']}",
        )
        if row.get("employee.id") is not None
        else None
    )
    return {
        "id": row["id"],
        "kind": RecordKind(row["kind"]),
        "filename": row["filename"],
        "size": row["size"],
        "mode": BatchMode(row["mode"]),
        "status": status,
        "action": action,
        "uploaded_by": employee,
        "uploaded_at": row["uploaded_at"],
        "started_at": row["started_at"],
        "finished_at": row["finished_at"],
        "rows_total": row["rows_total"],
        "rows_done": row["rows_done"],
        "check": (
            msgspec.json.decode(row["check_result"], type=ImportCounts)
            if row["check_result"]
            else None
        ),
        "result": (
            ImportCounts(
                created=row["created"],
                updated=row["updated"],
                unchanged=row["unchanged"],
                failed=row["failed"],
            )
            if wrote
            else None
        ),
        "error_count": row["error_count"],
        "problem_code": row["problem_code"] or None,
        "problem": row["problem"] or None,
    }


async def detail(actor: Actor, job_id: int) -> ImportDetail:
    row = await _row(actor, job_id)
    job = _job(row)
    return ImportDetail(
        **_summary(row),
        file_type=row["file_type"],
        encoding=row["encoding"] or None,
        delimiter=row["delimiter"] or None,
        columns=[
            ImportColumn(index=index, header=header, field=field)
            for index, (header, field) in enumerate(
                zip(job.layout.header, job.mapping, strict=True)
            )
        ],
        fields=fields.importable(job.kind),
        missing=fields.missing(job.kind, job.mapping),
        preview=msgspec.json.decode(row["preview"], type=list[list[str]]),
        errors=msgspec.json.decode(row["errors"], type=list[ImportRowError]),
    )


async def listing(actor: Actor, *, page: int, per_page: int) -> Page[ImportSummary]:
    """The company's import log, newest first."""
    await _give_up_stale(actor.company_id)
    mine = ImportJob.company == actor.company_id
    total = await ImportJob.count().where(mine)
    rows = (
        await ImportJob.select(*_SUMMARY_COLUMNS)
        .where(mine)
        .order_by(ImportJob.id, ascending=False)
        .limit(per_page)
        .offset((page - 1) * per_page)
    )
    return Page(
        items=[ImportSummary(**_summary(row)) for row in rows],
        total=total,
        page=page,
        per_page=per_page,
    )


# ---------------------------------------------------------------------------- changing


def _refuse_unless_open(job: _Job) -> None:
    """A running job is left alone; one that is done, or whose import wrote records, stays
    in the log as it is: the file is imported again by uploading it again."""
    if job.status in RUNNING:
        raise Conflict(
            "The import is running; wait until it has finished.", code=Code.IMPORT_RUNNING
        )
    if job.status is ImportStatus.DONE or job.wrote:
        raise Conflict(
            "This import has written records and stays in the log as it is. To import the "
            "file again, upload it again: rows already imported will come out unchanged.",
            code=Code.IMPORT_DONE,
        )


async def change(actor: Actor, job_id: int, patch: ImportPatch) -> ImportDetail:
    """A new column mapping or mode; the last check no longer holds."""
    job = _job(await _row(actor, job_id))
    _refuse_unless_open(job)
    values: dict[Any, Any] = {
        ImportJob.status: ImportStatus.UPLOADED.value,
        ImportJob.action: "",
        ImportJob.check_result: None,
        ImportJob.errors: "[]",
        ImportJob.error_count: 0,
        ImportJob.rows_done: 0,
        ImportJob.problem_code: "",
        ImportJob.problem: "",
    }
    if not isinstance(patch.mapping, msgspec.UnsetType):
        fields.check_mapping(job.kind, job.layout.header, patch.mapping)
        values[ImportJob.mapping] = _json(patch.mapping)
    if not isinstance(patch.mode, msgspec.UnsetType):
        values[ImportJob.mode] = patch.mode.value
    changed = (
        await ImportJob.update(values)
        .where((ImportJob.id == job.id) & (ImportJob.status == job.status.value))
        .returning(ImportJob.id)
    )
    if not changed:
        raise Conflict("The import changed meanwhile; look at it again.", code=Code.IMPORT_RUNNING)
    return await detail(actor, job_id)


async def start(actor: Actor, job_id: int, action: ImportAction) -> ImportDetail:
    """Start a check or the import in the background; the job shows its progress."""
    job = _job(await _row(actor, job_id))
    _refuse_unless_open(job)
    absent = fields.missing(job.kind, job.mapping)
    if absent:
        raise Invalid(
            fields.missing_message(job.kind, job.layout.header, absent),
            field="mapping",
            code=Code.MISSING_COLUMN,
        )
    checks_first = _checks_first(job, action)
    status = ImportStatus.CHECKING if checks_first else ImportStatus.IMPORTING
    now = _now()
    values: dict[Any, Any] = {
        ImportJob.status: status.value,
        ImportJob.action: action.value,
        ImportJob.started_at: now,
        ImportJob.finished_at: None,
        ImportJob.heartbeat_at: now,
        ImportJob.rows_done: 0,
        ImportJob.errors: "[]",
        ImportJob.error_count: 0,
        ImportJob.problem_code: "",
        ImportJob.problem: "",
    }
    if action is ImportAction.IMPORT:
        values.update(
            {
                ImportJob.created: 0,
                ImportJob.updated: 0,
                ImportJob.unchanged: 0,
                ImportJob.failed: 0,
            }
        )
    # Taken only from the state it was read in: two clicks (or two servers) start one run.
    claimed = (
        await ImportJob.update(values)
        .where((ImportJob.id == job.id) & (ImportJob.status == job.status.value))
        .returning(ImportJob.id)
    )
    if not claimed:
        raise Conflict("The import has just been started.", code=Code.IMPORT_RUNNING)
    task = asyncio.create_task(_run(actor, job, action), name=f"import-{job.id}")
    _tasks[job.id] = task
    task.add_done_callback(lambda _: _tasks.pop(job.id, None))
    return await detail(actor, job_id)


# ---------------------------------------------------------------------------- running


class _Tally(msgspec.Struct, kw_only=True):
    """A pass's counts so far."""

    rows_done: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[ImportRowError] = msgspec.field(default_factory=list)
    error_count: int = 0

    def plus(
        self, chunk: fields.Chunk, result: BatchResult | None, reader: fields.RowReader
    ) -> _Tally:
        found = list(chunk.errors)
        if result is not None:
            found += [reader.row_error(chunk.rows, error) for error in result.errors]
        found.sort(key=lambda error: error.row)
        room = MAX_STORED_ERRORS - len(self.errors)
        return _Tally(
            rows_done=self.rows_done + chunk.read,
            created=self.created + (result.created if result else 0),
            updated=self.updated + (result.updated if result else 0),
            unchanged=self.unchanged + (result.unchanged if result else 0),
            failed=self.failed + chunk.refused + (result.failed if result else 0),
            errors=self.errors + found[: max(room, 0)],
            error_count=self.error_count + len(found),
        )

    def counts(self) -> ImportCounts:
        return ImportCounts(
            created=self.created,
            updated=self.updated,
            unchanged=self.unchanged,
            failed=self.failed,
        )

    def columns(self, *, written: bool) -> dict[Any, Any]:
        """The job's columns that show this tally: progress, errors, and what was written."""
        values: dict[Any, Any] = {
            ImportJob.rows_done: self.rows_done,
            ImportJob.errors: _json(self.errors),
            ImportJob.error_count: self.error_count,
            ImportJob.heartbeat_at: _now(),
        }
        if written:
            values.update(
                {
                    ImportJob.created: self.created,
                    ImportJob.updated: self.updated,
                    ImportJob.unchanged: self.unchanged,
                    ImportJob.failed: self.failed,
                }
            )
        return values


class _Stopped(Exception):
    """The import stops part-way: a stable code and what to tell the person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _checks_first(job: _Job, action: ImportAction) -> bool:
    """A check checks; an atomic import checks the whole file first, unless the person has
    just checked it clean (a change of mapping or mode since sets the job back to uploaded).
    What changes in the database after the check is caught by upsert's checks of each part."""
    if action is ImportAction.CHECK:
        return True
    return job.mode is BatchMode.ATOMIC and not job.checked_clean


async def _run(actor: Actor, job: _Job, action: ImportAction) -> None:
    """The background task of one check or import, to its end, whatever happens."""
    beat = asyncio.create_task(_heartbeat(job.id))
    writing = False
    try:
        # One local copy for the check and the import (downloaded when the store is a bucket).
        async with blob_store().local_file(job.blob_sha256) as path:
            if _checks_first(job, action):
                checked = await _pass(actor, job, path, write=False)
                if action is ImportAction.CHECK:
                    await _finish(job.id, ImportStatus.CHECKED, checked, check=checked)
                    return
                if checked.failed:
                    await _finish(
                        job.id,
                        ImportStatus.FAILED,
                        checked,
                        check=checked,
                        problem=(
                            "rows_refused",
                            f"Nothing was imported: {checked.failed} of {checked.rows_done} rows "
                            "have errors (listed). Correct them and upload the file again, or "
                            "import in per-row mode to import the other rows.",
                        ),
                    )
                    return
                await ImportJob.update(
                    {ImportJob.status: ImportStatus.IMPORTING.value, ImportJob.rows_done: 0}
                ).where(ImportJob.id == job.id)
                writing = True
                wrote = await _pass(actor, job, path, write=True)
                await _finish(job.id, ImportStatus.DONE, wrote, check=checked)
                return
            writing = True
            wrote = await _pass(actor, job, path, write=True)
            await _finish(job.id, ImportStatus.DONE, wrote)
    except _Stopped as stop:
        await _fail(job.id, stop.code, stop.message, wrote=writing)
    except reading.FileProblem as problem:
        await _fail(job.id, problem.code, problem.message, wrote=writing)
    except DomainError as error:
        await _fail(job.id, error.code or "refused", error.detail, wrote=writing)
    except asyncio.CancelledError:
        with anyio.CancelScope(shield=True):
            await _fail(
                job.id, "interrupted", "The server stopped while the import ran.", wrote=writing
            )
        raise
    except Exception:
        log.exception("import %s failed", job.id)
        await _fail(
            job.id,
            "internal",
            "Something went wrong on our side and was logged.",
            wrote=writing,
        )
    finally:
        beat.cancel()


async def _heartbeat(job_id: int) -> None:
    while True:
        await asyncio.sleep(HEARTBEAT_SECONDS)
        try:
            await ImportJob.update({ImportJob.heartbeat_at: _now()}).where(ImportJob.id == job_id)
        except Exception:
            # The next beat may get through; the job itself reports its own failures.
            log.warning("import %s: heartbeat not written", job_id, exc_info=True)


async def _pass(actor: Actor, job: _Job, path: Path, *, write: bool) -> _Tally:
    """Read the whole file in parts and hand each to upsert: a dry run, or for real."""
    reader = fields.RowReader(job.kind, job.layout.header, job.mapping)
    lines = reading.rows(path, job.layout)
    tally = _Tally()
    analysed_at = 0

    def read_next() -> asyncio.Future[fields.Chunk]:
        return asyncio.ensure_future(asyncio.to_thread(reader.chunk, lines, CHUNK_ROWS))

    ahead = read_next()
    try:
        while True:
            chunk = await ahead
            if not chunk.read:
                return tally
            # The next part is read while this one is checked or written: the database works
            # in its own process (or SQLite's thread) meanwhile.
            ahead = read_next()
            if write:
                tally = await _write_part(actor, job, chunk, reader, tally)
                # Each time the rows this import created have doubled (a few times per file).
                if tally.created >= max(2 * analysed_at, CHUNK_ROWS):
                    await refresh_statistics(upsert_table(job.kind))
                    analysed_at = tally.created
            else:
                result = (
                    await upsert(actor, job.kind, chunk.records, dry_run=True, source="import")
                    if chunk.records
                    else None
                )
                tally = tally.plus(chunk, result, reader)
                await ImportJob.update(tally.columns(written=False)).where(ImportJob.id == job.id)
    finally:
        ahead.cancel()
        # A part still being read in its thread (the pass stopped) holds the file; it is
        # closed when the reader is collected.
        with contextlib.suppress(ValueError):
            lines.close()


async def _write_part(
    actor: Actor,
    job: _Job,
    chunk: fields.Chunk,
    reader: fields.RowReader,
    tally: _Tally,
) -> _Tally:
    """Write one part and its counts in one transaction. Another request creating one of
    the records at the same moment (Conflict) is met by trying the part once more: the
    second time the record is found."""
    atomic = job.mode is BatchMode.ATOMIC
    if atomic and chunk.refused:
        # The check passed, so this cannot come from the file itself.
        raise _Stopped("changed_meanwhile", _stopped_at(tally, chunk, "a row was refused"))
    for attempt in (1, 2):
        try:
            async with transaction():
                result = (
                    await upsert(actor, job.kind, chunk.records, mode=job.mode, source="import")
                    if chunk.records
                    else None
                )
                after = tally.plus(chunk, result, reader)
                if atomic and result is not None and not result.written and result.failed:
                    # Checked clean, refused now: the data changed since the check. Nothing
                    # of this part is written; the parts before it stay.
                    raise _Stopped(
                        "changed_meanwhile",
                        _stopped_at(tally, chunk, result.errors[0].message),
                    )
                await ImportJob.update(after.columns(written=True)).where(ImportJob.id == job.id)
            return after
        except Conflict:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _stopped_at(tally: _Tally, chunk: fields.Chunk, why: str) -> str:
    first = chunk.rows[0] if chunk.rows else tally.rows_done + 2
    return (
        f"The data changed while the file was imported ({why}), so the import stopped at "
        f"row {first}. {_written(tally)} Check the file again to see what differs."
    )


def _written(tally: _Tally | dict[str, Any]) -> str:
    values = tally if isinstance(tally, dict) else msgspec.structs.asdict(tally)
    if not values["created"] and not values["updated"]:
        return "Nothing was written."
    return (
        f"Before that, {values['created']} records were created and {values['updated']} "
        "updated; they stay. Upload the file again and import it to finish: rows already "
        "imported will come out unchanged."
    )


async def _finish(
    job_id: int,
    status: ImportStatus,
    tally: _Tally,
    *,
    check: _Tally | None = None,
    problem: tuple[str, str] | None = None,
) -> None:
    values = tally.columns(written=status is ImportStatus.DONE)
    values.update(
        {
            ImportJob.status: status.value,
            ImportJob.finished_at: _now(),
            ImportJob.heartbeat_at: None,
        }
    )
    if check is not None:
        values[ImportJob.check_result] = _json(check.counts())
    if problem is not None:
        values[ImportJob.problem_code], values[ImportJob.problem] = problem
    await ImportJob.update(values).where(ImportJob.id == job_id)


async def _fail(job_id: int, code: str, why: str, *, wrote: bool) -> None:
    """The job failed as a whole; it says what it had written (its counts, committed with
    each part, say it exactly)."""
    counts = (
        await ImportJob.select(ImportJob.created, ImportJob.updated)
        .where(ImportJob.id == job_id)
        .first()
    )
    written = _written(counts) if wrote and counts else "Nothing was written."
    await ImportJob.update(
        {
            ImportJob.status: ImportStatus.FAILED.value,
            ImportJob.problem_code: code,
            ImportJob.problem: f"{why} {written}",
            ImportJob.finished_at: _now(),
            ImportJob.heartbeat_at: None,
        }
    ).where(ImportJob.id == job_id)


async def _give_up_stale(company_id: int | None = None, job_id: int | None = None) -> None:
    """Jobs left running by a process that ended (a restart, a crash) are failed, with what
    they had written."""
    cutoff = _now() - STALE_AFTER
    where = ImportJob.status.is_in([s.value for s in RUNNING]) & (ImportJob.heartbeat_at < cutoff)
    if company_id is not None:
        where &= ImportJob.company == company_id
    if job_id is not None:
        where &= ImportJob.id == job_id
    for row in await ImportJob.select(
        ImportJob.id, ImportJob.status, ImportJob.created, ImportJob.updated
    ).where(where):
        wrote = row["status"] == ImportStatus.IMPORTING.value
        await ImportJob.update(
            {
                ImportJob.status: ImportStatus.FAILED.value,
                ImportJob.problem_code: "interrupted",
                ImportJob.problem: "The import stopped: the server running it ended. "
                + (_written(row) if wrote else "Nothing was written."),
                ImportJob.finished_at: _now(),
                ImportJob.heartbeat_at: None,
            }
        ).where(
            (ImportJob.id == row["id"])
            & (ImportJob.status == row["status"])
            & (ImportJob.heartbeat_at < cutoff)
        )


async def give_up_stale_jobs() -> None:
    """At start-up: every company's jobs left running by a process that ended. A database
    not yet migrated has none, and the server still starts (health names what is pending)."""
    try:
        await _give_up_stale()
    except Exception:
        log.warning("the import log could not be checked at start-up", exc_info=True)


async def stop_jobs() -> None:
    """At shutdown: this process's running jobs stop and say so, with what they wrote."""
    running = list(_tasks.values())
    for task in running:
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)


async def settle() -> None:
    """Wait until the jobs this process runs have finished (for tests and the CLI)."""
    while _tasks:
        await asyncio.gather(*list(_tasks.values()), return_exceptions=True)
