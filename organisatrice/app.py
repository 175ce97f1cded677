"""create_app(): the one composition root: routes, guard, sessions, CSRF, errors, lifespan."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from http import HTTPStatus
from pathlib import Path
from typing import Any

import swagger_ui_bundle
from litestar import Litestar, Request, Response, Router
from litestar.config.csrf import CSRFConfig
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.types import ControllerRouterHandler

from organisatrice.archive.controllers import CONTROLLERS as ARCHIVE_CONTROLLERS
from organisatrice.archive.listing_controllers import CONTROLLERS as ARCHIVE_LISTING_CONTROLLERS
from organisatrice.archive.notice_mail import run_notice_mail
from organisatrice.compose.controllers import CONTROLLERS as COMPOSE_CONTROLLERS
from organisatrice.core.bounded import close_bounded_pool
from organisatrice.core.codes import Code, Params
from organisatrice.core.collector import freeze_startup
from organisatrice.core.db import prepare_engine, release_engine
from organisatrice.core.errors import DomainError, TooManyRequests
from organisatrice.core.health import health, metrics, readiness
from organisatrice.core.http import SecurityHeaders, refuse_nul_characters
from organisatrice.core.logs import logging_config
from organisatrice.core.metrics import RequestTimer
from organisatrice.core.problems import Problem, document_problems, problem_response
from organisatrice.events.controllers import CONTROLLERS as EVENT_CONTROLLERS
from organisatrice.events.delivery import run_webhooks
from organisatrice.imports import service as imports
from organisatrice.imports.controllers import CONTROLLERS as IMPORT_CONTROLLERS
from organisatrice.mail.capture import start_capture
from organisatrice.mail.controllers import CONTROLLERS as MAIL_CONTROLLERS
from organisatrice.mail.inbound import start_inbound
from organisatrice.mail.outbox import outbox_state
from organisatrice.mail.worker import run_worker
from organisatrice.orders.controllers import CONTROLLERS as ORDER_CONTROLLERS
from organisatrice.roles.auth import CsrfUnlessBearer, SessionMiddleware
from organisatrice.roles.controllers import CONTROLLERS as ROLE_CONTROLLERS
from organisatrice.roles.guards import current_actor, guard, routes_without_guard
from organisatrice.settings import get_settings

log = logging.getLogger("organisatrice")

STATIC_DIR = Path(__file__).parent / "static"
SWAGGER_ASSETS = "/schema-assets"


def _domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[Problem]:
    return problem_response(
        Problem(
            type="about:blank",
            title=exc.title,
            status=exc.status_code,
            detail=exc.detail,
            code=exc.code,
            params=exc.params,
            field=exc.field,
            retry_after=exc.retry_after if isinstance(exc, TooManyRequests) else None,
        )
    )


_HTTP_PROBLEMS = {
    401: (Code.SIGN_IN_REQUIRED, "Please sign in."),
    403: (Code.NOT_ALLOWED, "You are not allowed to do this."),
    404: (Code.NO_SUCH_ADDRESS, "There is nothing at this address."),
    405: (Code.METHOD_NOT_ALLOWED, "This address does not accept this method."),
    413: (Code.REQUEST_TOO_LARGE, "The request is too large."),
}


def _http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    code, detail = _HTTP_PROBLEMS.get(
        exc.status_code, (Code.REQUEST_REFUSED, "The request was not accepted.")
    )
    detail = exc.detail or detail
    params: Params = {}
    if "CSRF" in detail:
        code = Code.CSRF_FAILED
        detail = "The form has expired or was sent from elsewhere (CSRF check). Reload the page."
    errors = exc.extra if isinstance(exc.extra, list) and exc.extra else None
    if errors and isinstance(errors[0], dict) and errors[0].get("message"):
        # Litestar says "Validation failed for GET /api/orders"; the person needs which field.
        first = errors[0]
        where = " ".join(str(first[k]) for k in ("source", "key") if first.get(k))
        detail = f"{where}: {first['message']}" if where else str(first["message"])
        code = Code.VALIDATION_FAILED
        params = {"name": str(first.get("key") or "")}
    return problem_response(
        Problem(
            type="about:blank",
            title=HTTPStatus(exc.status_code).phrase,
            status=exc.status_code,
            detail=detail,
            code=code,
            params=params,
            errors=errors,
        )
    )


def _too_deep(_: Request[Any, Any, Any], __: RecursionError) -> Response[Problem]:
    # msgspec refuses JSON nested past Python's recursion limit (10,000 `[`, say) this way.
    return problem_response(
        Problem(
            type="about:blank",
            title="Bad request",
            status=400,
            detail="The request is nested too deeply to be read.",
            code=Code.NESTED_TOO_DEEPLY,
            params={},
        )
    )


def _unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.exception("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(
        Problem(
            type="about:blank",
            title="Internal error",
            status=500,
            detail="Something went wrong on our side and was logged. Try again; if it persists, "
            "tell your administrator the time it happened.",
            code=Code.INTERNAL_ERROR,
            params={},
        )
    )


@asynccontextmanager
async def _database(_: Litestar) -> AsyncIterator[None]:
    await prepare_engine()
    try:
        yield
    finally:
        # The workers of bounded work (core/bounded.py) go with the server.
        close_bounded_pool()
        await release_engine()


@asynccontextmanager
async def _imports(_: Litestar) -> AsyncIterator[None]:
    """Imports left running by a server that ended are failed, with what they wrote; this
    server's own running imports stop with it (before the database closes) and say so."""
    await imports.give_up_stale_jobs()
    try:
        yield
    finally:
        await imports.stop_jobs()


@asynccontextmanager
async def _mail(_: Litestar) -> AsyncIterator[None]:
    """The capture relay (for trying the app), the inbound report receiver and the
    in-process sending worker with the webhook delivery beside it, as the settings ask."""
    settings = get_settings()
    capture = (
        start_capture(settings.smtp_host, settings.smtp_port, settings.data_dir / "captured")
        if settings.smtp_capture
        else None
    )
    inbound = (
        start_inbound(settings.inbound_host, settings.inbound_port, asyncio.get_running_loop())
        if settings.inbound_in_app
        else None
    )
    stop = asyncio.Event()
    workers = (
        [
            asyncio.create_task(run_worker(stop)),
            asyncio.create_task(run_webhooks(stop)),
            asyncio.create_task(run_notice_mail(stop)),
        ]
        if settings.worker_in_app
        else []
    )
    try:
        yield
    finally:
        stop.set()
        for worker in workers:
            await worker
        if capture is not None:
            capture.stop()
        if inbound is not None:
            inbound.stop()


def route_handlers() -> Sequence[ControllerRouterHandler]:
    handlers: list[ControllerRouterHandler] = [
        health,
        readiness,
        metrics,
        *ROLE_CONTROLLERS,
        *ORDER_CONTROLLERS,
        *COMPOSE_CONTROLLERS,
        *MAIL_CONTROLLERS,
        *ARCHIVE_CONTROLLERS,
        *ARCHIVE_LISTING_CONTROLLERS,
        *EVENT_CONTROLLERS,
        *IMPORT_CONTROLLERS,
    ]
    handlers.append(
        create_static_files_router(
            path=SWAGGER_ASSETS,
            directories=[Path(swagger_ui_bundle.swagger_ui_path)],
            opt={"needs": "public"},
            include_in_schema=False,
        )
    )
    if (STATIC_DIR / "index.html").exists():
        handlers.append(
            create_static_files_router(
                path="/",
                directories=[STATIC_DIR],
                html_mode=True,
                opt={"needs": "public"},
                include_in_schema=False,
            )
        )
    return handlers


def create_app() -> Litestar:
    settings = get_settings()
    app = Litestar(
        route_handlers=route_handlers(),
        guards=[guard],
        before_request=refuse_nul_characters,
        middleware=[
            RequestTimer,
            SecurityHeaders(hsts=settings.cookie_secure),
            SessionMiddleware(),
            DefineMiddleware(
                CsrfUnlessBearer,
                config=CSRFConfig(
                    secret=settings.secret_key,
                    cookie_secure=settings.cookie_secure,
                    cookie_samesite="strict",
                ),
            ),
        ],
        dependencies={
            "actor": Provide(current_actor, sync_to_thread=False),
            "outbox": Provide(outbox_state),
        },
        exception_handlers={
            DomainError: _domain_error,
            HTTPException: _http_error,
            RecursionError: _too_deep,
            Exception: _unexpected,
        },
        lifespan=[_database, _mail, _imports],
        logging_config=logging_config(),
        openapi_config=OpenAPIConfig(
            title="Organisatrice",
            version="0.1.0",
            description="Compose, send and archive work-order emails. People sign in with a "
            "session cookie (and send the CSRF token with every change); machines send an API "
            "token that back-office made: `Authorization: Bearer org_…`.",
            components=Components(
                security_schemes={
                    "session": SecurityScheme(
                        type="apiKey",
                        name="organisatrice_session",
                        security_scheme_in="cookie",
                        description="The cookie POST /api/session sets; changes also need the "
                        "x-csrftoken header with the csrftoken cookie's value.",
                    ),
                    "bearer": SecurityScheme(
                        type="http",
                        scheme="bearer",
                        description="An API token with scopes (Back-office → API tokens).",
                    ),
                }
            ),
            security=[{"session": []}, {"bearer": []}],
            path="/schema",
            # Swagger UI from the app's own files (swagger-ui-bundle-v2): the page works
            # without internet and loads nothing from elsewhere.
            render_plugins=[
                SwaggerRenderPlugin(
                    js_url=f"{SWAGGER_ASSETS}/swagger-ui-bundle.js",
                    css_url=f"{SWAGGER_ASSETS}/swagger-ui.css",
                    standalone_preset_js_url=f"{SWAGGER_ASSETS}/swagger-ui-standalone-preset.js",
                )
            ],
            # The API description is public, like the sign-in page that uses it.
            openapi_router=Router(
                path="/schema",
                route_handlers=[],
                opt={"needs": "public"},
                include_in_schema=False,
            ),
        ),
        # Uploads are checked against their own limits; this only stops absurd bodies early.
        request_max_body_size=max(
            settings.max_photo_bytes, settings.max_document_bytes, settings.max_import_bytes
        )
        + 1024 * 1024,
        debug=False,
    )
    document_problems(app.openapi_schema)
    unguarded = routes_without_guard(app)
    if unguarded:
        raise RuntimeError(f"routes without a declared permission: {', '.join(unguarded)}")
    return app


def create_served_app() -> Litestar:
    """create_app() for a server process (`organisatrice serve`), its startup frozen (see
    core/collector.py). Tests build many apps in one process and keep create_app()."""
    app = create_app()
    freeze_startup()
    return app
