"""What every room's controllers share: parameter types, the input rules of HTTP, and the
security headers of every answer."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote, unquote

from litestar import Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.middleware import ASGIMiddleware
from litestar.params import PathParameter
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid
from organisatrice.core.structs import MAX_ID

PathId = Annotated[int, PathParameter(ge=1, le=MAX_ID)]


def file_response(
    data: bytes, content_type: str, filename: str, *, inline: bool = False
) -> Response[bytes]:
    """A stored file as the browser gets it: shown (`inline`) or downloaded under `filename`,
    never sniffed into another type, cached only by the person's own browser."""
    disposition = "inline" if inline else "attachment"
    return Response(
        data,
        media_type=content_type,
        headers={
            "Content-Disposition": f"{disposition}; filename*=UTF-8''{quote(filename, safe='')}",
            "Cache-Control": "private, max-age=3600",
            "X-Content-Type-Options": "nosniff",
        },
    )


_NUL_DETAIL = "Text may not contain NUL characters (\\u0000); remove them."


async def refuse_nul_characters(request: Request[Any, Any, Any]) -> None:
    """PostgreSQL cannot store NUL in text; refuse it in the query and in JSON bodies as bad
    input, on both databases alike, instead of failing deep inside a query."""
    if "\x00" in request.scope["path"] or "\x00" in unquote(
        request.scope.get("query_string", b"").decode("latin-1")
    ):
        raise Invalid(_NUL_DETAIL, code=Code.NUL_CHARACTER)
    if request.method in ("POST", "PUT", "PATCH") and "json" in request.content_type[0]:
        body = await request.body()
        if b"\\u0000" in body or b"\x00" in body:
            raise Invalid(_NUL_DETAIL, code=Code.NUL_CHARACTER)


def refuse_nul_text(value: str, field: str) -> str:
    """The same rule for text that arrives outside JSON (form fields of an upload)."""
    if "\x00" in value:
        raise Invalid(_NUL_DETAIL, code=Code.NUL_CHARACTER, field=field)
    return value


# The app's own pages run only the app's own scripts: no inline script, nothing from elsewhere.
# Styles may be inline (style attributes, and the email previews' <style> blocks in a sandboxed
# frame, which inherits this policy); images come from the app, or are data or blob URLs (the
# photos just picked on the tablet). Nobody may frame the app.
_APP_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
# The API description page (Swagger UI, served from the app's own files) starts itself with
# an inline script; it shows no data of anyone's.
_SCHEMA_POLICY = _APP_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'")
_SCHEMA_PAGES = frozenset({"/schema", "/schema/", "/schema/swagger"})


class SecurityHeaders(ASGIMiddleware):
    """The headers every answer carries: a Content-Security-Policy, no framing, no type
    sniffing, no referrer to other sites, no powerful browser features but the camera, and
    HSTS when the app runs behind HTTPS (COOKIE_SECURE=1)."""

    def __init__(self, *, hsts: bool) -> None:
        self.hsts = hsts

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        policy = _SCHEMA_POLICY if scope["path"] in _SCHEMA_PAGES else _APP_POLICY

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("X-Frame-Options", "DENY")
                headers.setdefault("Referrer-Policy", "same-origin")
                headers.setdefault(
                    "Permissions-Policy", "camera=(self), geolocation=(), microphone=(), payment=()"
                )
                if self.hsts:
                    headers.setdefault("Strict-Transport-Security", "max-age=31536000")
            await send(message)

        await next_app(scope, receive, send_with_headers)
