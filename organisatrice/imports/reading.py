"""Reading spreadsheets: CSV as Swiss Excel writes it, and XLSX, as rows of text, streamed.

Pure functions, no database. `inspect` looks at an uploaded file once (what it is, its encoding
and delimiter, its header, a preview, how many rows); `rows` then gives its rows one at a time
from the stored file, so a 100,000-row file is never held whole: a CSV is decoded and split as
it is read, an XLSX sheet is held by calamine (compact, outside Python) and turned into Python
values row by row. Row numbers are those a person sees in Excel: the header is row 1.
"""

from __future__ import annotations

import codecs
import csv
import io
import itertools
from collections.abc import Generator, Iterator
from contextlib import closing
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from pathlib import Path
from typing import BinaryIO

import filetype
import msgspec
from python_calamine import CalamineError, CalamineWorkbook

from organisatrice.core.codes import Code

# Swiss Excel writes ";" (its list separator); others "," or a tab.
DELIMITERS = ";,\t"
# Rows shown before the import, and at most this much of each cell.
PREVIEW_ROWS = 5
PREVIEW_CELL = 200
# Columns a file may have: more is not a sheet of records (and each needs a mapping entry).
MAX_COLUMNS = 500
# How much of the file is decoded at a time when the encoding is checked.
_BLOCK = 1024 * 1024
# The largest cell csv accepts (its default, 128 KiB, refuses long descriptions quietly
# mid-file); a cell longer than any field's limit is refused by the field's own rule.
_MAX_CELL = 1024 * 1024
# Bytes no text file of ours contains: NUL and control characters other than tab, line feed,
# carriage return (and the old end-of-file mark 0x1A, which some exports still append).
_CONTROL = frozenset(range(0x20)) - {0x09, 0x0A, 0x0D, 0x1A}
# Windows-1252 leaves these five undefined; a file that has them is not Windows-1252.
_CP1252_HOLES = frozenset({0x81, 0x8D, 0x8F, 0x90, 0x9D})
# Text files that are something else, by how they begin.
_OTHER_TEXT = {
    b"%pdf-": "PDF",
    b"{\\rtf": "RTF",
    b"<?xml": "XML",
    b"<!doctype html": "HTML",
    b"<html": "HTML",
}


class FileType(StrEnum):
    CSV = "csv"
    XLSX = "xlsx"


class FileProblem(Exception):
    """The file as a whole cannot be imported: a stable code and a message a person can act on."""

    def __init__(self, code: Code, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Layout(msgspec.Struct, frozen=True, kw_only=True):
    """What `inspect` found: enough to read the file again without looking."""

    file_type: FileType
    encoding: str = ""
    delimiter: str = ""
    header: list[str]
    rows: int
    preview: list[list[str]]


class Line(msgspec.Struct, frozen=True, array_like=True):
    """One row of data: its number as Excel shows it, and its cells as text."""

    number: int
    cells: list[str]


def inspect(stream: BinaryIO) -> Layout:
    """What the file is and how it reads; FileProblem when it cannot be imported."""
    head = stream.read(8192)
    stream.seek(0)
    if not head:
        raise FileProblem(Code.EMPTY_FILE, "The file is empty.")
    if head.startswith(b"PK\x03\x04"):
        file_type, encoding, delimiter = FileType.XLSX, "", ""
    else:
        try:
            encoding = _encoding(stream)
        except FileProblem:
            _refuse_known_type(head)
            raise
        _refuse_other_text(head)
        file_type, delimiter = FileType.CSV, _delimiter(stream, encoding)
    with closing(_lines(stream, file_type, encoding, delimiter)) as lines:
        header = next(lines, None)
        if header is None:
            raise FileProblem(Code.EMPTY_FILE, "The file has no rows.")
        if len(header.cells) > MAX_COLUMNS:
            raise FileProblem(
                Code.TOO_MANY_COLUMNS,
                f"The first row has {len(header.cells)} columns; at most {MAX_COLUMNS} can be "
                "imported. Is the first row the column names?",
            )
        preview = [
            [cell[:PREVIEW_CELL] for cell in line.cells[:MAX_COLUMNS]]
            for line in itertools.islice(lines, PREVIEW_ROWS)
        ]
        rows = len(preview) + sum(1 for _ in lines)
    if rows == 0:
        raise FileProblem(Code.EMPTY_FILE, "The file has a header row but no rows below it.")
    return Layout(
        file_type=file_type,
        encoding=encoding,
        delimiter=delimiter,
        header=[cell.strip()[:PREVIEW_CELL] for cell in header.cells],
        rows=rows,
        preview=preview,
    )


class Refusal(msgspec.Struct, frozen=True):
    """A FileProblem as a value, as it crosses back from a worker process."""

    code: Code
    message: str


def inspect_stored(path: str) -> Layout | Refusal:
    """`inspect` of a stored file, for a worker process (core/bounded.py): the first full read
    of a file someone uploaded, so an XLSX that unpacks to gigabytes meets the worker's memory
    budget, not the server's."""
    try:
        with open(path, "rb") as stream:
            return inspect(stream)
    except FileProblem as problem:
        return Refusal(problem.code, problem.message)


def rows(path: Path, layout: Layout) -> Generator[Line, None, None]:
    """The data rows of a stored file (the header skipped), read as they are asked for.
    Nothing is opened before the first row is asked for; `close()` closes the file."""
    with path.open("rb") as stream:
        lines = _lines(stream, *_how(layout))
        try:
            next(lines, None)
            yield from lines
        finally:
            lines.close()


def _how(layout: Layout) -> tuple[FileType, str, str]:
    return layout.file_type, layout.encoding, layout.delimiter


def _refuse_known_type(head: bytes) -> None:
    """A file that is not text and plainly something else (PDF, image, an old .xls…) is
    named as such. Asked only of files that are not text: a CSV whose first letters happen
    to look like a signature ("MZ…" is a Windows program's) is still a CSV."""
    kind = filetype.guess(head)
    if kind is not None:
        raise FileProblem(
            Code.UNSUPPORTED_TYPE,
            f"This is a {kind.extension.upper()} file. Upload a CSV file or an Excel "
            "workbook (.xlsx).",
        )


def _refuse_other_text(head: bytes) -> None:
    """Text that is a document of another kind, not rows (a PDF can be plain ASCII; some
    programs save an HTML table under the name .xls)."""
    start = head.removeprefix(codecs.BOM_UTF8).lstrip().lower()
    for signature, name in _OTHER_TEXT.items():
        if start.startswith(signature):
            raise FileProblem(
                Code.UNSUPPORTED_TYPE,
                f"This is a {name} file. Upload a CSV file or an Excel workbook (.xlsx).",
            )


def _encoding(stream: BinaryIO) -> str:
    """UTF-8 (with or without its byte order mark) when every byte decodes as such, else
    Windows-1252 (Excel's 'CSV' on Swiss and Western European Windows); a file that is
    neither, or that holds control characters, is not a text file we can read."""
    start = stream.read(len(codecs.BOM_UTF8))
    if start.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileProblem(
            Code.WRONG_ENCODING,
            "The file is in UTF-16 (Excel's 'Unicode text'). Save it as 'CSV UTF-8' or as "
            "'CSV (semicolon separated)' and upload it again.",
        )
    bom = start == codecs.BOM_UTF8
    if not bom:
        stream.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")()
    utf8 = True
    cp1252 = True
    while block := stream.read(_BLOCK):
        if not _CONTROL.isdisjoint(block):
            raise FileProblem(
                Code.WRONG_ENCODING,
                "The file holds control characters: it is not a text file (CSV). Save it "
                "from Excel as 'CSV UTF-8' and upload it again.",
            )
        if utf8:
            try:
                decoder.decode(block)
            except UnicodeDecodeError:
                utf8 = False
        if cp1252 and not _CP1252_HOLES.isdisjoint(block):
            cp1252 = False
        if not utf8 and not cp1252:
            break
    if utf8:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8 = False
    stream.seek(0)
    if utf8:
        return "utf-8-sig" if bom else "utf-8"
    if cp1252 and not bom:
        return "cp1252"
    raise FileProblem(
        Code.WRONG_ENCODING,
        "The file's characters are neither UTF-8 nor Windows-1252. Save it from Excel as "
        "'CSV UTF-8' and upload it again.",
    )


def _delimiter(stream: BinaryIO, encoding: str) -> str:
    """The separator of the header row: the candidate it holds most often."""
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        first = text.readline()
    finally:
        text.detach()
        stream.seek(0)
    # Quoted names may hold any character; only separators outside quotes count.
    outside = "".join(first.split('"')[::2])
    counts = {d: outside.count(d) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ";"


def _lines(
    stream: BinaryIO, file_type: FileType, encoding: str, delimiter: str
) -> Generator[Line, None, None]:
    """All rows (the header first) without the empty ones, numbered as Excel numbers them."""
    if file_type is FileType.XLSX:
        yield from _workbook_lines(stream)
        return
    text = io.TextIOWrapper(stream, encoding=encoding, newline="")
    try:
        yield from _csv_lines(text, delimiter)
    finally:
        # The stream belongs to the caller: let go of it without closing it.
        text.detach()


def _csv_lines(text: io.TextIOWrapper, delimiter: str) -> Iterator[Line]:
    csv.field_size_limit(_MAX_CELL)
    # A record may span several lines (a quoted cell with line breaks); Excel shows it as
    # one row, so records are counted, not lines.
    reader = csv.reader(text, delimiter=delimiter)
    try:
        for number, cells in enumerate(reader, start=1):
            if _filled(cells):
                yield Line(number, cells)
    except csv.Error as error:
        raise FileProblem(
            Code.UNREADABLE_ROW,
            f"Row {reader.line_num} cannot be read as CSV ({error}). Check its quotes.",
        ) from None


def _workbook_lines(stream: BinaryIO) -> Iterator[Line]:
    try:
        workbook = CalamineWorkbook.from_filelike(stream)
    except CalamineError:
        raise FileProblem(
            Code.UNSUPPORTED_TYPE,
            "This file is an archive but not an Excel workbook. Upload a CSV file or an "
            "Excel workbook (.xlsx).",
        ) from None
    with workbook:
        if not workbook.sheet_names:
            raise FileProblem(Code.EMPTY_FILE, "The workbook has no sheets.")
        try:
            sheet = workbook.get_sheet_by_index(0)
        except CalamineError as error:
            raise FileProblem(
                Code.UNSUPPORTED_TYPE, f"The workbook's first sheet cannot be read ({error})."
            ) from None
        # calamine starts at the sheet's first row, empty or not, so its count is Excel's.
        for number, row in enumerate(sheet.iter_rows(), start=1):
            cells = [_text(value) for value in row]
            if _filled(cells):
                yield Line(number, cells)


def _filled(cells: list[str]) -> bool:
    return any(cell.strip() for cell in cells)


def _text(value: object) -> str:
    """A workbook cell as the text a CSV export of it would hold."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(" ")
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        return str(value)
    return str(value)
