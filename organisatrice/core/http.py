"""What every room's controllers share: parameter types and the input rules of HTTP."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import unquote

from litestar import Request
from litestar.params import PathParameter

from organisatrice.core.errors import Invalid
from organisatrice.core.structs import MAX_ID

PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]


_NUL_DETAIL = "Text may not contain NUL characters (\\u0000); remove them."


async def refuse_nul_characters(request: Request[Any, Any, Any]) -> None:
    """PostgreSQL cannot store NUL in text; refuse it in the query and in JSON bodies as bad
    input, on both databases alike, instead of failing deep inside a query."""
    if "\x00" in unquote(request.scope.get("query_string", b"").decode("latin-1")):
        raise Invalid(_NUL_DETAIL)
    if request.method in ("POST", "PUT", "PATCH") and "json" in request.content_type[0]:
        body = await request.body()
        if b"\\u0000" in body or b"\x00" in body:
            raise Invalid(_NUL_DETAIL)


def refuse_nul_text(value: str, field: str) -> str:
    """The same rule for text that arrives outside JSON (form fields of an upload)."""
    if "\x00" in value:
        raise Invalid(_NUL_DETAIL, field=field)
    return value
