"""Transactions and database facts that differ between SQLite and PostgreSQL.

SQLite allows one writer: write transactions begin IMMEDIATE so that two writers (of two
processes; in one process they take turns, see core/sqlite.py) queue on the lock instead of
failing half-way with "database is locked".
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from typing import Any

import msgspec
from piccolo.apps.migrations.commands.base import BaseMigrationManager
from piccolo.apps.migrations.commands.forwards import run_forwards
from piccolo.apps.migrations.tables import Migration
from piccolo.engine.base import Engine
from piccolo.engine.finder import engine_finder
from piccolo.engine.postgres import PostgresEngine
from piccolo.engine.sqlite import SQLiteEngine, TransactionType
from piccolo.querystring import QueryString
from piccolo.table import Table

from organisatrice.core.sqlite import KeptSQLiteEngine


@functools.cache
def engine() -> Engine[Any]:
    """The process's engine. Piccolo looks its configuration module up on every call (tens of
    microseconds); it does not change while the process runs."""
    found = engine_finder()
    if found is None:
        raise RuntimeError("no Piccolo engine configured (PICCOLO_CONF)")
    return found


def is_sqlite() -> bool:
    return isinstance(engine(), SQLiteEngine)


def bound_list(values: Sequence[object]) -> QueryString:
    """`{}, {}, …` with each value bound, for `IN (…)` in raw SQL."""
    return QueryString(", ".join("{}" for _ in values), *values)


def transaction() -> Any:
    """A write transaction: `async with transaction(): ...` commits or rolls back as one."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        return db.transaction(transaction_type=TransactionType.immediate)
    return db.transaction()


async def lock_row(table: type[Table], row_id: int) -> None:
    """Within a transaction: hold `row_id` of `table` until it ends, so that two requests about
    the same row take turns. SQLite's write transactions (`transaction()`) already do."""
    db = engine()
    if isinstance(db, PostgresEngine):
        key = table._meta.primary_key
        await table.select(key).where(key == row_id).lock_rows()


async def refresh_statistics(table: str) -> None:
    """After a bulk load into `table`: PostgreSQL learns how many rows it now holds. Until its
    autovacuum gets to it (a minute or more), the planner believes the table is as small as at
    its last analysis and looks a company's keys up through the company alone: a growing
    import then reads every row it has written for every part. SQLite plans by its indexes."""
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.run_ddl(f'ANALYZE "{table}"')


async def prepare_engine() -> None:
    """At start-up: WAL mode on SQLite (readers never block the writer), the pool on PostgreSQL."""
    db = engine()
    if isinstance(db, SQLiteEngine):
        await db.run_ddl("PRAGMA journal_mode=WAL")
    elif isinstance(db, PostgresEngine):
        await db.start_connection_pool(min_size=1, max_size=10, reset=_back_to_pool)


async def _back_to_pool(connection: Any) -> None:
    """asyncpg's default undoes LISTEN, advisory locks, SET and cursors with one more round trip
    on every release, a third of an archive page's time; we use none of them (SET LOCAL only).
    A transaction that was interrupted is still rolled back."""
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def release_engine() -> None:
    db = engine()
    if isinstance(db, PostgresEngine):
        await db.close_connection_pool()
    elif isinstance(db, KeptSQLiteEngine):
        await db.close_connections()


class MigrationState(msgspec.Struct, frozen=True):
    applied: int
    pending: list[str]


_migration_table_seen: list[bool] = []


@functools.cache
def _migrations_on_disk() -> tuple[tuple[str, str], ...]:
    """(app, migration id) of every migration file, in dependency order; read once, as the
    files do not change under a running process (health asks for them on every call)."""
    manager = BaseMigrationManager()
    found: list[tuple[str, str]] = []
    for app_name in manager.get_sorted_app_names():
        folder = str(manager.get_app_config(app_name).migrations_folder_path)
        for migration_id in manager.get_migration_ids(manager.get_migration_modules(folder)):
            found.append((app_name, migration_id))
    return tuple(found)


async def migration_state() -> MigrationState:
    """Which migrations of our apps ran, and which wait (compared with the files on disk)."""
    if not _migration_table_seen:
        # Piccolo's CREATE TABLE IF NOT EXISTS is a write: once per process is enough.
        await BaseMigrationManager().create_migration_table()
        _migration_table_seen.append(True)
    ran = set(await Migration.get_migrations_which_ran())
    on_disk = _migrations_on_disk()
    pending = [f"{app}:{migration_id}" for app, migration_id in on_disk if migration_id not in ran]
    return MigrationState(applied=len(on_disk) - len(pending), pending=pending)


async def migrate() -> None:
    """Run every pending migration of every room, in dependency order."""
    result = await run_forwards("all")
    if not result.success:
        raise RuntimeError(f"migration failed: {result.message}")
