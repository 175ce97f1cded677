"""Many rows into one table in few statements, straight through the driver.

An import of 10,000 orders is 40,000 rows. Through Piccolo's query strings, turning the values
into SQL cost more than the database took to store them (half of a batch's time, in
`QueryString.bundle`); here the SQL of a multi-row INSERT is written once per shape with the
driver's own placeholders and the values go to the driver as they are. Only inside a write
transaction (`core.db.transaction()`): the rows commit with the change that made them.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from typing import Any

from piccolo.engine.postgres import PostgresEngine

from organisatrice.core.db import engine

# A statement takes at most this many values (SQLite's limit is 32,766, asyncpg's 32,767).
MAX_VALUES = 30_000


@functools.lru_cache(maxsize=64)
def _statement(table: str, columns: tuple[str, ...], rows: int, returning: str, pg: bool) -> str:
    numbers = itertools.count(1)
    width = len(columns)

    def row() -> str:
        marks = (f"${next(numbers)}" if pg else "?" for _ in range(width))
        return "(" + ", ".join(marks) + ")"

    names = ", ".join(f'"{c}"' for c in columns)
    values = ", ".join(row() for _ in range(rows))
    tail = f" RETURNING {returning}" if returning else ""
    # Names are our tables' and columns', never input; every value is a bound parameter.
    return f'INSERT INTO "{table}" ({names}) VALUES {values}{tail}'  # noqa: S608


async def insert_rows(
    table: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    returning: str = "",
) -> list[dict[str, Any]]:
    """INSERT `rows` (each in the order of `columns`) into `table`; answers the `returning`
    columns of every inserted row, as dicts."""
    db = engine()
    current = db.current_transaction.get()
    if current is None:
        raise RuntimeError("insert_rows runs inside transaction(): the rows commit with it")
    # Piccolo's transaction objects keep their driver connection as `.connection` (Piccolo
    # 1.x: asyncpg's on PostgreSQL, aiosqlite's on SQLite).
    connection = current.connection
    pg = isinstance(db, PostgresEngine)
    per_statement = max(1, MAX_VALUES // len(columns))
    answered: list[dict[str, Any]] = []
    for start in range(0, len(rows), per_statement):
        part = rows[start : start + per_statement]
        sql = _statement(table, tuple(columns), len(part), returning, pg)
        values = list(itertools.chain.from_iterable(part))
        if pg:
            found = await connection.fetch(sql, *values)
            answered.extend(dict(r) for r in found)
        else:
            cursor = await connection.execute(sql, values)
            names = [d[0] for d in cursor.description or ()]
            answered.extend(dict(zip(names, r, strict=True)) for r in await cursor.fetchall())
            await cursor.close()
    return answered
