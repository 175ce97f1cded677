"""PostgreSQL: no index on sent_email's company alone.

Written by hand. The archive's keyset index (company, queued_at, id) serves every lookup by
company. With many companies in the table, a generic plan (PostgreSQL's plan for all values of
a prepared statement) estimated few emails per company and took the lone company index, read a
company's whole archive and sorted it, instead of reading a filter's own index
(company, kind, queued_at, id) in order and stopping after a page. SQLite keeps it: it plans
each statement for its values, and its billing lookups read through it.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-06T06:50:00:000000"
VERSION = "1.38.0"
DESCRIPTION = "PostgreSQL: drop sent_email's lone company index, which generic plans misused"


async def _run(statement: str) -> None:
    engine = engine_finder()
    assert engine is not None
    if engine.engine_type == "postgres":
        await engine.run_ddl(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="archive", description=DESCRIPTION)

    async def drop() -> None:
        await _run("DROP INDEX IF EXISTS sent_email_company")

    async def create() -> None:
        await _run("CREATE INDEX IF NOT EXISTS sent_email_company ON sent_email (company)")

    manager.add_raw(drop)
    manager.add_raw_backwards(create)
    return manager
