"""`/api/health`: is the app up, which database does it use, are its migrations applied."""

from __future__ import annotations

from litestar import get

from organisatrice.core.db import MigrationState, migration_state
from organisatrice.core.structs import Out
from organisatrice.settings import get_settings


class HealthOut(Out):
    status: str
    database: str
    migrations: MigrationState


@get("/api/health", opt={"needs": "public"}, operation_id="GetHealth", tags=["Health"])
async def health() -> HealthOut:
    """ "ok" when the database answers and every migration ran; "migrations pending" otherwise."""
    state = await migration_state()
    return HealthOut(
        status="ok" if not state.pending else "migrations pending",
        database=get_settings().database_kind,
        migrations=state,
    )
