"""What operators ask the app: `/api/health` (is it up), `/api/health/ready` (may it take
traffic: database reachable, migrations applied, blob store reachable) and `/metrics`."""

from __future__ import annotations

import logging

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec

from organisatrice.core.blobs import blob_store
from organisatrice.core.db import MigrationState, migration_state
from organisatrice.core.metrics import CONTENT_TYPE, OutboxState, exposition
from organisatrice.core.structs import Out
from organisatrice.settings import get_settings

log = logging.getLogger("organisatrice.health")

# A key no blob has (not a SHA-256 of anything stored): asking for it reaches the store and
# finds nothing.
_PROBE = "0" * 64


class HealthOut(Out):
    status: str
    database: str
    migrations: MigrationState


class ReadinessOut(Out):
    ready: bool
    database: str
    # Each check: "ok", or what is wrong.
    checks: dict[str, str]


@get("/api/health", opt={"needs": "public"}, operation_id="GetHealth", tags=["Health"])
async def health() -> HealthOut:
    """ "ok" when the database answers and every migration ran; "migrations pending" otherwise."""
    state = await migration_state()
    return HealthOut(
        status="ok" if not state.pending else "migrations pending",
        database=get_settings().database_kind,
        migrations=state,
    )


@get(
    "/api/health/ready",
    opt={"needs": "public"},
    operation_id="GetReadiness",
    tags=["Health"],
    responses={503: ResponseSpec(data_container=ReadinessOut, description="Not ready")},
)
async def readiness() -> Response[ReadinessOut]:
    """200 when this process may take traffic; 503 with the failing checks while the database
    or the blob store cannot be reached or migrations are pending (a load balancer then sends
    requests elsewhere)."""
    checks: dict[str, str] = {}
    try:
        state = await migration_state()
        checks["database"] = "ok"
        checks["migrations"] = (
            "ok" if not state.pending else f"{len(state.pending)} pending: run `migrate`"
        )
    except Exception as error:
        log.warning("readiness: the database does not answer: %s", error)
        checks["database"] = f"unreachable ({type(error).__name__})"
        checks["migrations"] = "unknown"
    try:
        await blob_store().modified(_PROBE)
        checks["blob_store"] = "ok"
    except Exception as error:
        log.warning("readiness: the blob store does not answer: %s", error)
        checks["blob_store"] = f"unreachable ({type(error).__name__})"
    ready = all(value == "ok" for value in checks.values())
    return Response(
        ReadinessOut(ready=ready, database=get_settings().database_kind, checks=checks),
        status_code=200 if ready else 503,
    )


@get(
    "/metrics",
    opt={"needs": "operator"},
    operation_id="GetMetrics",
    tags=["Health"],
    media_type=CONTENT_TYPE,
)
async def metrics(outbox: NamedDependency[OutboxState]) -> Response[bytes]:
    """Prometheus metrics: request latency, email states, reports received, the outbox (its
    reader is the app's dependency `outbox`: the mail room knows its queue)."""
    return Response(exposition(outbox), media_type=CONTENT_TYPE)
