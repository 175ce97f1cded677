"""Why a row of a batch or an import file was refused, in one table: the English message a
row error carries (for API clients, as it always read) and the reason and parameters the
import screen words in the reader's language (`rowReason.<reason>` in the UI catalogues).

Parameters named `field` hold a field's name and `kind` a record kind: the UI words those
too; the others (columns, values, keys, rows) are the file's own and shown as they are."""

from __future__ import annotations

ROW_REASONS: dict[str, str] = {
    # Batches (orders/writes.py)
    "external_id_missing": (
        "Each row of a batch needs its external_id: the key that finds it again."
    ),
    "responsible_backoffice_only": "Only back-office may choose who is responsible for an order.",
    "duplicate": (
        'The external id "{external_id}" is also in row {row}; each record may appear once.'
    ),
    "external_id_taken": '{label} {holder} already has the external id "{external_id}".',
    "two_references": "Give the {field} by external id or by id.",
    "unknown_id": "There is no {field} {id}.",
    "unknown_key": 'No {field} has the external id "{key}". Send the {field} first.',
    "unknown_employee": 'No employee of the company has the email address "{email}".',
    "contact_owner": "A contact belongs to a client or a building.",
    "required_empty": "{label} needs {words}: it is empty.",
    "end_before_start": "The order cannot end before it starts.",
    # Files (imports/fields.py)
    "formula": (
        'The cell in column "{column}" starts with "{char}": a spreadsheet program would run it '
        "as a formula. Remove or rephrase the first character and upload the file again."
    ),
    "external_id_missing_in_file": (
        'The row has no external id (column "{column}"): it is the key that finds the record '
        "again on the next import."
    ),
    "word_unknown": (
        '"{text}" in column "{column}" is not a {words} we know; write one of {choices} or a '
        "word for it such as {examples}."
    ),
    "date_invalid": (
        '"{text}" in column "{column}" is not a date; write it as 31.12.2026 or 2026-12-31.'
    ),
    "too_many_entries": 'The column "{column}" lists more than {max} entries.',
    "too_long": 'The value in column "{column}" is longer than {max} characters.',
    "control_characters": 'The value in column "{column}" holds control characters; remove them.',
    "one_line": (
        'The value in column "{column}" holds a line break or a control character; it takes one '
        "line."
    ),
    "empty_entry": 'The column "{column}" holds an empty entry.',
    "not_accepted": 'The value in column "{column}" is not accepted here.',
}


def row_message(reason: str, params: dict[str, str]) -> str:
    """The English message of `reason` with its parameters."""
    return ROW_REASONS[reason].format(**params)
