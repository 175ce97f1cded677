"""Each recipient's return-address token is unique (the inbound receiver finds the recipient by
it). An index, not a column constraint: SQLite cannot add a UNIQUE column; rows archived before
recipients had tokens (NULL) are not constrained."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-05T08:21:33:000000"
VERSION = "1.38.0"
DESCRIPTION = "Recipient tokens unique"


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="mail", description=DESCRIPTION)

    async def create() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl(
            "CREATE UNIQUE INDEX email_recipient_token ON email_recipient (token) "
            "WHERE token IS NOT NULL"
        )

    async def drop() -> None:
        engine = engine_finder()
        assert engine is not None
        await engine.run_ddl("DROP INDEX email_recipient_token")

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
