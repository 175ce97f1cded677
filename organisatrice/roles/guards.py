"""The one guard: every route names what it needs in `opt["needs"]`; the rule book decides."""

from __future__ import annotations

from typing import Any

from litestar import Litestar, Request
from litestar.connection import ASGIConnection
from litestar.handlers import HTTPRouteHandler
from litestar.handlers.base import BaseRouteHandler

from organisatrice.core.codes import Code
from organisatrice.core.errors import Forbidden, Unauthorized
from organisatrice.roles.auth import bearer_secret, operator_asking
from organisatrice.roles.policy import Actor, Permission, decide


def needs_of(handler: BaseRouteHandler) -> Permission | None:
    needs = handler.opt.get("needs")
    if (
        needs is None
        and isinstance(handler, HTTPRouteHandler)
        and handler.http_methods == {"OPTIONS"}
    ):
        # Litestar's own OPTIONS answers: they tell only which methods a path allows.
        return Permission.PUBLIC
    try:
        return Permission(str(needs))
    except ValueError:
        return None


def routes_without_guard(app: Litestar) -> list[str]:
    """Every route handler that names no permission: create_app refuses to start with any."""
    return sorted(
        f"{sorted(handler.http_methods)} {route.path}"
        for route in app.routes
        for handler in getattr(route, "route_handlers", [])
        if isinstance(handler, HTTPRouteHandler) and needs_of(handler) is None
    )


def guard(connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler) -> None:
    needs = needs_of(handler)
    if needs is None:
        # Fail closed: a route that forgot to name its guard is refused, never open.
        raise Forbidden(
            "This endpoint declares no permission and is therefore closed.",
            code=Code.ENDPOINT_CLOSED,
        )
    if needs is Permission.PUBLIC:
        return
    if needs is Permission.OPERATOR:
        if operator_asking(connection.scope):
            return
        raise Forbidden(
            "Only the operator may read this: ask from this machine, or send the metrics token.",
            code=Code.OPERATOR_ONLY,
        )
    actor = connection.scope.get("user")
    if not isinstance(actor, Actor):
        if bearer_secret(connection.scope) is not None:
            raise Unauthorized(
                "The API token is unknown, revoked or expired.", code=Code.TOKEN_INVALID
            )
        raise Unauthorized("Please sign in.", code=Code.SIGN_IN_REQUIRED)
    decision = decide(actor, needs)
    if not decision.allowed:
        raise decision.refusal()


def current_actor(request: Request[Any, Any, Any]) -> Actor:
    """The dependency `actor`: the signed-in employee (the guard already made sure)."""
    actor = request.scope.get("user")
    if not isinstance(actor, Actor):
        raise Unauthorized("Please sign in.", code=Code.SIGN_IN_REQUIRED)
    return actor
