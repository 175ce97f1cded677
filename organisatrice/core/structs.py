"""Base Structs: what crosses a boundary. Input forbids unknown fields; output is plain."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec

T = TypeVar("T")


class In(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body: unknown fields are refused, so a typo never passes silently."""


class Out(msgspec.Struct, kw_only=True):
    """A response body or a service result."""


class Page(Out, Generic[T]):
    """One page of a listing, with the total so the UI can show "41–60 of 212"."""

    items: list[T]
    total: int
    page: int
    per_page: int


# Row ids are 32-bit serials on PostgreSQL; bigger numbers cannot name a row and are refused
# as bad input instead of reaching the database.
MAX_ID = 2**31 - 1
DbId = Annotated[int, msgspec.Meta(ge=1, le=MAX_ID)]


# Text on one line: no line breaks or other control characters (C0, DEL, C1), which would break
# a mail header or a CSV row. Several lines: line breaks and tabs, no other control characters.
ONE_LINE = r"^[^\x00-\x1f\x7f-\x9f]*$"
LINES = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$"
