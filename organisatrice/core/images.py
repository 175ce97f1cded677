"""Images in and out, shared by order photos, photo sets and the company logo: reading an
upload without trusting it, and encoding (`encoded`).

The file's own content decides its type, never its name; the pixel count is checked from the
header before anything is decoded, so a decompression bomb is refused without costing memory;
a truncated file is refused instead of being padded with grey; Pillow's many ways of failing
become one refusal a person can act on.
"""

from __future__ import annotations

import os
import tempfile
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, BinaryIO

from PIL import Image, ImageFile, UnidentifiedImageError

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid, TooLarge, UnsupportedType

_DECODING = threading.Lock()


@contextmanager
def _strict_decoding() -> Iterator[None]:
    """Pillow's LOAD_TRUNCATED_IMAGES is one switch for the whole process, and WeasyPrint turns it
    on when imported; with it on, half a JPEG or HEIC decodes "fine", padded with grey. An upload
    is decoded with it off; the lock keeps concurrent intakes from restoring each other's value."""
    with _DECODING:
        before = ImageFile.LOAD_TRUNCATED_IMAGES
        ImageFile.LOAD_TRUNCATED_IMAGES = False
        try:
            yield
        finally:
            ImageFile.LOAD_TRUNCATED_IMAGES = before


def check_upload_size(data: bytes, *, max_bytes: int, what: str) -> None:
    """Refuse an empty file, or one over `max_bytes`, before any decoding."""
    if not data:
        raise Invalid(
            f"The file is empty. Choose a {what} and upload it again.",
            code=Code.EMPTY_FILE,
            field="file",
        )
    if len(data) > max_bytes:
        raise TooLarge(
            f"The {what} is {len(data) / 1e6:.1f} MB; at most {max_bytes / 1e6:.0f} MB are "
            "accepted.",
            code=Code.FILE_TOO_LARGE,
            params={"size_mb": round(len(data) / 1e6, 1), "max_mb": round(max_bytes / 1e6)},
            field="file",
        )


def check_pixels(width: int, height: int, max_pixels: int) -> None:
    """Refuse an image by the size its header announces, before its pixels are decoded."""
    if width * height > max_pixels:
        raise TooLarge(
            f"The image has {width}×{height} pixels ({width * height / 1e6:.0f} megapixels); "
            f"at most {max_pixels / 1e6:.0f} megapixels are accepted.",
            code=Code.IMAGE_TOO_MANY_PIXELS,
            params={"max_megapixels": round(max_pixels / 1e6)},
            field="file",
        )


@contextmanager
def reading_upload(*, max_pixels: int, accepted: str) -> Iterator[None]:
    """Open and decode an uploaded image inside this block: strictly, with Pillow's own bomb
    warning as an error, and any failure to read it as an UnsupportedType that names what
    `accepted` ("Photos must be JPEG, PNG, WebP or HEIC.")."""
    try:
        with _strict_decoding(), warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            yield
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise TooLarge(
            f"The image has too many pixels; at most {max_pixels / 1e6:.0f} megapixels are "
            "accepted.",
            code=Code.IMAGE_TOO_MANY_PIXELS,
            params={"max_megapixels": round(max_pixels / 1e6)},
            field="file",
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise UnsupportedType(
            f"This file is not a readable image. {accepted}",
            code=Code.IMAGE_UNREADABLE,
            field="file",
        ) from exc


def encoded(image: Image.Image, fmt: str, **params: Any) -> bytes:
    """`image` saved as `fmt` (only what `params` name is written: no metadata of the source).

    Into a file in memory that has a descriptor: Pillow encodes into such a file without holding
    the GIL, into a BytesIO it holds it (measured with two threads: 1.00 cores busy into a
    BytesIO, 1.94 into a file), so an encode in a worker thread stopped the event loop and the
    photos of a set were encoded one at a time."""
    with _memory_file() as out:
        image.save(out, fmt, **params)
        out.seek(0)
        return out.read()


def _memory_file() -> BinaryIO:
    if hasattr(os, "memfd_create"):
        return open(os.memfd_create("organisatrice-image"), "w+b")
    return tempfile.TemporaryFile()
