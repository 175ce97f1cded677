"""Many rows into one table, straight through the driver: COPY on PostgreSQL, multi-row INSERTs
on SQLite.

An import of 10,000 orders is 40,000 rows. Through Piccolo's query strings, turning the values
into SQL cost more than the database took to store them (half of a batch's time, in
`QueryString.bundle`); here the values go to the driver as they are. New rows' ids are taken
before the rows are written, so that they come back in the order of the rows (neither
PostgreSQL's COPY nor SQLite's RETURNING promises an order). Only inside a write transaction
(`core.db.transaction()`): the rows commit with the change that made them.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from organisatrice.core.db import engine

# A statement takes at most this many values (SQLite's limit is 32,766).
MAX_VALUES = 30_000


@functools.lru_cache(maxsize=64)
def _statement(table: str, columns: tuple[str, ...], rows: int) -> str:
    names = ", ".join(f'"{c}"' for c in columns)
    row = "(" + ", ".join("?" for _ in columns) + ")"
    # Names are our tables' and columns', never input; every value is a bound parameter.
    return f'INSERT INTO "{table}" ({names}) VALUES {", ".join([row] * rows)}'  # noqa: S608


async def insert_rows(
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    new_ids: bool = False,
) -> list[int]:
    """INSERT `rows` (each in the order of `columns`) into `table`. With `new_ids`, each row
    gets the next id of the table's `id` column, and the ids are answered in row order."""
    db = engine()
    current = db.current_transaction.get()
    if current is None:
        raise RuntimeError("insert_rows runs inside transaction(): the rows commit with it")
    if not rows:
        return []
    # Piccolo's transaction objects keep their driver connection as `.connection` (Piccolo
    # 1.x: asyncpg's on PostgreSQL, aiosqlite's on SQLite).
    connection = current.connection
    ids: list[int] = []
    if isinstance(db, PostgresEngine):
        if new_ids:
            # The id column's own sequence, as its default would take them.
            ids = [
                r[0]
                for r in await connection.fetch(
                    "SELECT nextval(pg_get_serial_sequence($1, 'id')) FROM generate_series(1, $2)",
                    f'"{table}"',
                    len(rows),
                )
            ]
            rows = [(i, *row) for i, row in zip(ids, rows, strict=True)]
            columns = ["id", *columns]
        await connection.copy_records_to_table(table, records=rows, columns=list(columns))
        return ids
    if new_ids:
        # SQLite gives a new row the largest id plus one; the write transaction holds the
        # database's lock, so no one else takes these meanwhile.
        cursor = await connection.execute(f'SELECT coalesce(max(id), 0) FROM "{table}"')  # noqa: S608
        (largest,) = await cursor.fetchone()
        await cursor.close()
        ids = list(range(largest + 1, largest + 1 + len(rows)))
        rows = [(i, *row) for i, row in zip(ids, rows, strict=True)]
        columns = ["id", *columns]
    per_statement = max(1, MAX_VALUES // len(columns))
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        sql = _statement(table, tuple(columns), len(part))
        await connection.execute(sql, list(itertools.chain.from_iterable(part)))
    return ids
