"""Document intake: an uploaded file is accepted by what its bytes are and whether it opens as
that, not by its name; pictures lose their location and other personal metadata.

A document goes out to clients exactly as stored, so what it carries matters: a phone's JPEG
knows where it was taken. JPEG, PNG and WebP lose their metadata without being decoded again
(the picture stays bit for bit; a JPEG keeps only its orientation). A PDF must open with a page,
an office file must be a sound package of its kind. Reading someone's file is work whose size
they choose, so `inspect_document` runs in a bounded worker (core/bounded.py).
"""

from __future__ import annotations

import io
import struct
import zipfile

import filetype
import msgspec
from PIL import Image

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid, TooLarge, UnsupportedType
from organisatrice.core.filenames import safe_filename
from organisatrice.core.images import check_pixels, reading_upload

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
_ACCEPTED_TEXT = (
    "Upload a PDF, an image (JPEG, PNG, WebP) or an office document (docx, xlsx, odt, ods)."
)
# The part each office package must have to be what it says.
_PACKAGE_PARTS = {
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (
        "[Content_Types].xml",
        "word/document.xml",
    ),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (
        "[Content_Types].xml",
        "xl/workbook.xml",
    ),
    "application/vnd.oasis.opendocument.text": ("mimetype", "content.xml"),
    "application/vnd.oasis.opendocument.spreadsheet": ("mimetype", "content.xml"),
}
# An office file unpacks to far more than it weighs, but not to a zip bomb.
MAX_UNPACKED = 200 * 1024 * 1024
MAX_PARTS = 5_000


class CheckedDocument(msgspec.Struct, frozen=True):
    filename: str
    content_type: str
    # The bytes to store: the upload, or the picture without its metadata.
    data: bytes


def inspect_document(
    data: bytes, filename: str, max_bytes: int, max_pixels: int
) -> CheckedDocument:
    """Check an upload and make it safe to keep and send; refusals name the file field."""
    if not data:
        raise Invalid(
            "The file is empty. Choose a document and upload it again.",
            code=Code.EMPTY_FILE,
            field="file",
        )
    if len(data) > max_bytes:
        raise TooLarge(
            f"The document is {len(data) / 1e6:.1f} MB; at most {max_bytes / 1e6:.0f} MB are "
            "accepted.",
            code=Code.FILE_TOO_LARGE,
            params={"size_mb": round(len(data) / 1e6, 1), "max_mb": round(max_bytes / 1e6)},
            field="file",
        )
    kind = filetype.guess(data)
    if kind is None or kind.mime not in ACCEPTED:
        raise UnsupportedType(
            f"This kind of file is not accepted. {_ACCEPTED_TEXT}",
            code=Code.DOCUMENT_TYPE_NOT_ACCEPTED,
            field="file",
        )
    mime = kind.mime
    if mime == "application/pdf":
        _check_pdf(data)
    elif mime in _PACKAGE_PARTS:
        _check_package(data, mime)
    else:
        _check_picture(data, max_pixels)
        data = _without_metadata(data, mime)
    return CheckedDocument(
        filename=safe_filename(filename, extension=ACCEPTED[mime]), content_type=mime, data=data
    )


def _damaged(what: str) -> UnsupportedType:
    return UnsupportedType(
        f"The {what} cannot be opened: it is damaged or not what its name says.",
        code=Code.DOCUMENT_DAMAGED,
        params={"kind": what},
        field="file",
    )


def _check_pdf(data: bytes) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise UnsupportedType(
                "The PDF is protected by a password; the client could not open it. Upload it "
                "without the password.",
                code=Code.PDF_PASSWORD_PROTECTED,
                field="file",
            )
        pages = len(reader.pages)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AttributeError):
        raise _damaged("PDF") from None
    if pages < 1:
        raise _damaged("PDF")


def _check_package(data: bytes, mime: str) -> None:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as package:
            parts = package.infolist()
            if len(parts) > MAX_PARTS or sum(p.file_size for p in parts) > MAX_UNPACKED:
                raise UnsupportedType(
                    "The office file unpacks to far more than an office file holds; it is not "
                    "accepted.",
                    code=Code.OFFICE_FILE_TOO_BIG_UNPACKED,
                    field="file",
                )
            names = {p.filename for p in parts}
            if not all(part in names for part in _PACKAGE_PARTS[mime]):
                raise _damaged("office file")
            if "mimetype" in names and package.read("mimetype").decode(errors="replace") != mime:
                raise _damaged("office file")
            if package.testzip() is not None:
                raise _damaged("office file")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, OSError):
        raise _damaged("office file") from None


def _check_picture(data: bytes, max_pixels: int) -> None:
    with (
        reading_upload(max_pixels=max_pixels, accepted=_ACCEPTED_TEXT),
        Image.open(io.BytesIO(data)) as probe,
    ):
        check_pixels(*probe.size, max_pixels)
        probe.verify()


def _without_metadata(data: bytes, mime: str) -> bytes:
    try:
        if mime == "image/jpeg":
            return _jpeg_without_metadata(data)
        if mime == "image/png":
            return _png_without_metadata(data)
        return _webp_without_metadata(data)
    except (ValueError, IndexError, struct.error):
        raise _damaged("picture") from None


# JPEG segments kept as they are: the JFIF header, the colour profile, Adobe's colour transform.
_JPEG_KEPT = {0xE0, 0xE2, 0xEE}
_EXIF_ORIENTATION = 0x0112


def _jpeg_without_metadata(data: bytes) -> bytes:
    """The JPEG without EXIF (location, camera, times), XMP, IPTC and comments; the EXIF
    orientation stays, so the picture is shown upright. The image data are not touched."""
    if data[:2] != b"\xff\xd8":
        raise ValueError("no JPEG")
    out = bytearray(data[:2])
    at = 2
    while at < len(data):
        if data[at] != 0xFF:
            raise ValueError("not a marker")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker == 0xDA or marker == 0xD9:  # start of scan: the image data follow
            out += data[at:]
            return bytes(out)
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        segment = data[at : at + 2 + length]
        payload = segment[4:]
        if marker == 0xE1 and payload.startswith(b"Exif\x00\x00"):
            out += _orientation_only(payload)
        elif (0xE0 <= marker <= 0xEF and marker not in _JPEG_KEPT) or marker == 0xFE:
            pass  # XMP, IPTC, maker notes, comments
        else:
            out += segment
        at += 2 + length
    raise ValueError("no image data")


def _orientation_only(exif_payload: bytes) -> bytes:
    exif = Image.Exif()
    try:
        exif.load(exif_payload)
        orientation = exif.get(_EXIF_ORIENTATION)
    except (ValueError, KeyError, TypeError, SyntaxError, OSError, struct.error):
        return b""  # unreadable EXIF: nothing of it is kept
    if orientation is None:
        return b""
    kept = Image.Exif()
    kept[_EXIF_ORIENTATION] = orientation
    payload = kept.tobytes()
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


# PNG chunks that carry text, EXIF (with location) or the time of the last change.
_PNG_DROPPED = {b"eXIf", b"tEXt", b"zTXt", b"iTXt", b"tIME"}


def _png_without_metadata(data: bytes) -> bytes:
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("no PNG")
    out = bytearray(data[:8])
    at = 8
    while at < len(data):
        (length,) = struct.unpack(">I", data[at : at + 4])
        kind = data[at + 4 : at + 8]
        end = at + 12 + length
        if kind not in _PNG_DROPPED:
            out += data[at:end]
        at = end
        if kind == b"IEND":
            return bytes(out)
    raise ValueError("no PNG end")


_WEBP_DROPPED = {b"EXIF", b"XMP "}
_VP8X_EXIF_AND_XMP = 0x08 | 0x04


def _webp_without_metadata(data: bytes) -> bytes:
    if data[:4] != b"RIFF" or data[8:12] != b"WEBP":
        raise ValueError("no WebP")
    chunks = bytearray()
    at = 12
    while at + 8 <= len(data):
        kind = data[at : at + 4]
        (size,) = struct.unpack("<I", data[at + 4 : at + 8])
        end = at + 8 + size + (size & 1)
        chunk = bytearray(data[at:end])
        if kind == b"VP8X":
            chunk[8] &= ~_VP8X_EXIF_AND_XMP & 0xFF
        if kind not in _WEBP_DROPPED:
            chunks += chunk
        at = end
    return b"RIFF" + struct.pack("<I", len(chunks) + 4) + b"WEBP" + bytes(chunks)
