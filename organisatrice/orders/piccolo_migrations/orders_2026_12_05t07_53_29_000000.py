"""A company's own keys are unique within the company: a second import of the same row must
find the first, and two rows can never claim one key. Partial, so rows without a key (made on
the screens) are not constrained; the same statements work on SQLite and PostgreSQL."""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-12-05T07:53:29:000000"
VERSION = "1.38.0"
DESCRIPTION = "External ids unique per company"

_TABLES = ("client", "building", "contact", "work_order")


async def _run(statements: list[str]) -> None:
    engine = engine_finder()
    assert engine is not None
    for statement in statements:
        await engine.run_ddl(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="orders", description=DESCRIPTION)

    async def create() -> None:
        await _run(
            [
                f"CREATE UNIQUE INDEX {table}_company_external_id ON {table} "
                "(company, external_id) WHERE external_id IS NOT NULL"
                for table in _TABLES
            ]
        )

    async def drop() -> None:
        await _run([f"DROP INDEX {table}_company_external_id" for table in _TABLES])

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
