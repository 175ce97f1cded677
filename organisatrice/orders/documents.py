"""Document intake: an uploaded file is accepted by what its bytes are, not by its name."""

from __future__ import annotations

import filetype
import msgspec

from organisatrice.core.errors import Invalid, TooLarge, UnsupportedType
from organisatrice.core.filenames import safe_filename

# What a field-service office attaches to an order: offers, plans, pictures, office files.
ACCEPTED = {
    "application/pdf": ".pdf",
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/webp": ".webp",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
}


class CheckedDocument(msgspec.Struct, frozen=True):
    filename: str
    content_type: str


def check_document(data: bytes, filename: str, *, max_bytes: int) -> CheckedDocument:
    if not data:
        raise Invalid("The file is empty. Choose a document and upload it again.", field="file")
    if len(data) > max_bytes:
        raise TooLarge(
            f"The document is {len(data) / 1e6:.1f} MB; at most {max_bytes / 1e6:.0f} MB are "
            "accepted.",
            field="file",
        )
    kind = filetype.guess(data)
    if kind is None or kind.mime not in ACCEPTED:
        raise UnsupportedType(
            "This kind of file is not accepted. Upload a PDF, an image (JPEG, PNG, WebP) or an "
            "office document (docx, xlsx, odt, ods).",
            field="file",
        )
    return CheckedDocument(
        filename=safe_filename(filename, extension=ACCEPTED[kind.mime]),
        content_type=kind.mime,
    )
