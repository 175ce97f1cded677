"""Spreadsheets made in the tests: CSV as Excel writes it in each encoding and delimiter, and
XLSX through a maintained writer."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import xlsxwriter


def csv_bytes(
    rows: list[list[str]], *, delimiter: str = ";", encoding: str = "utf-8", newline: str = "\r\n"
) -> bytes:
    """Rows as Excel saves them: cells quoted when they need it, CRLF line ends."""

    def cell(value: str) -> str:
        if any(c in value for c in (delimiter, '"', "\n", "\r")):
            return '"' + value.replace('"', '""') + '"'
        return value

    text = "".join(delimiter.join(cell(v) for v in row) + newline for row in rows)
    return text.encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, first_row: int = 0, sheet: str = "Daten") -> bytes:
    """A workbook whose first sheet holds `rows` from `first_row` (0: Excel's row 1); dates
    get a date format, as Excel gives them."""
    out = io.BytesIO()
    workbook = xlsxwriter.Workbook(out, {"in_memory": True})
    worksheet = workbook.add_worksheet(sheet)
    dated = workbook.add_format({"num_format": "dd.mm.yyyy"})
    for r, row in enumerate(rows, start=first_row):
        for c, value in enumerate(row):
            if isinstance(value, date):
                worksheet.write_datetime(r, c, value, dated)
            elif isinstance(value, str):
                # write_string: a text starting with "=" stays text, as typed with a quote.
                worksheet.write_string(r, c, value)
            else:
                worksheet.write(r, c, value)
    workbook.close()
    return out.getvalue()
