"""Safe file names: what a person typed, made harmless for a filesystem and a mail header."""

from __future__ import annotations

import re
import unicodedata

# C0 and C1 controls (U+009B starts a terminal escape, and mail headers refuse it), and the
# characters filesystems reserve.
_UNSAFE = re.compile(r'[\x00-\x1f\x7f-\x9f/\\:*?"<>|]+')
MAX_LENGTH = 120


def safe_filename(name: str, *, extension: str) -> str:
    """`name` without path parts, control, format or reserved characters, trimmed, ending in
    `extension` (".pdf"); an empty result becomes "file.pdf"."""
    name = unicodedata.normalize("NFC", name).replace("\\", "/").rsplit("/", 1)[-1]
    stem = name[: -len(extension)] if name.lower().endswith(extension.lower()) else name
    stem = _UNSAFE.sub(" ", stem)
    # Format characters (U+202E reverses text, zero-width spaces hide) can disguise a name.
    stem = "".join(c for c in stem if unicodedata.category(c) != "Cf")
    stem = re.sub(r"\s+", " ", stem).strip(" .")[: MAX_LENGTH - len(extension)]
    return f"{stem or 'file'}{extension}"
