"""Our English sentences read back as what filled them in: a sentence stored in English (an
email's history, why a webhook was paused) keeps its meaning as parameters, so the UI can word
it in the reader's language from the same parameters."""

from __future__ import annotations

import functools
import re


@functools.cache
def _pattern(template: str) -> re.Pattern[str]:
    parts = re.split(r"\{(\w+)\}", template)
    # Even parts are our words, odd ones the names of what fills them in.
    return re.compile(
        "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.*)" for i, p in enumerate(parts)),
        re.DOTALL,
    )


def read_back(template: str, sentence: str) -> dict[str, str] | None:
    """The parameters `template.format(...)` was given to write `sentence`; None when the
    sentence was not written from it."""
    found = _pattern(template).fullmatch(sentence)
    return found.groupdict() if found else None
