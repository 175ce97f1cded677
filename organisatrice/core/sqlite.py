"""The SQLite engine: connections kept open, and one writer at a time per process, in turn.

Piccolo's engine opens a connection (a thread, a file, a pragma) for every query and every
transaction. That costs more than most of our queries, and when the last connection to a WAL
database closes, SQLite checkpoints and deletes the WAL: several fsyncs. Writers that find the
database locked wait in SQLite's busy handler, which sleeps in growing steps and serves nobody in
order: under load one send waited seconds while others went by.

Here each event loop keeps a few reader connections and one writer connection, and every
statement is one hand-over to the connection's thread (Piccolo's took three or four). Queries
outside a transaction that only read share the readers (WAL: they never block the writer nor
wait for it). Everything that writes (transactions, and single statements outside one) takes
the writer under an asyncio lock, first come first served. Other processes (a worker, the CLI)
are still kept in order by SQLite's own lock and busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from types import TracebackType
from typing import Any

import aiosqlite
from piccolo.engine.sqlite import (
    SQLiteEngine,
    SQLiteTransaction,
    TransactionType,
)
from piccolo.querystring import QueryString

from organisatrice.core.reads import in_long_reads

# Reads run in the connections' own threads; SQLite lets the GIL go while it works, so a few
# readers use both cores without each one costing a thread per query.
READERS = 4


class _Connections:
    """One event loop's connections, opened when first needed."""

    def __init__(self, engine: KeptSQLiteEngine) -> None:
        self.engine = engine
        self.write_turn = asyncio.Lock()
        self.writer: aiosqlite.Connection | None = None
        self.readers: asyncio.Queue[aiosqlite.Connection] = asyncio.Queue()
        self.opened_readers = 0
        self.all: list[aiosqlite.Connection] = []
        self.quick: sqlite3.Connection | None = None

    async def open(self) -> aiosqlite.Connection:
        connection = aiosqlite.connect(**self.engine.connection_kwargs)
        # A connection left open by a loop that ended must not keep the process alive.
        connection._thread.daemon = True
        await connection
        connection.row_factory = sqlite3.Row
        await connection.execute("PRAGMA foreign_keys = 1")
        self.all.append(connection)
        return connection

    def quick_reader(self) -> sqlite3.Connection:
        if self.quick is None:
            quick = sqlite3.connect(**self.engine.connection_kwargs, check_same_thread=False)
            quick.row_factory = sqlite3.Row
            quick.execute("PRAGMA foreign_keys = 1")
            self.quick = quick
        return self.quick

    async def the_writer(self) -> aiosqlite.Connection:
        if self.writer is None:
            self.writer = await self.open()
        return self.writer

    @asynccontextmanager
    async def reader(self) -> AsyncIterator[aiosqlite.Connection]:
        if self.readers.empty() and self.opened_readers < READERS:
            self.opened_readers += 1
            try:
                connection = await self.open()
            except BaseException:
                self.opened_readers -= 1
                raise
        else:
            connection = await self.readers.get()
        try:
            yield connection
        finally:
            self.readers.put_nowait(connection)

    async def close(self) -> None:
        if self.quick is not None:
            self.quick.close()
            self.quick = None
        for connection in self.all:
            await connection.close()
        self.all.clear()
        self.writer = None
        self.readers = asyncio.Queue()
        self.opened_readers = 0


class KeptTransaction(SQLiteTransaction):
    """A transaction on the loop's writer connection, in its turn; nested ones join the outer."""

    engine: KeptSQLiteEngine

    async def __aenter__(self) -> SQLiteTransaction:
        if self._parent is not None:
            return self._parent
        connections = self.engine.connections()
        await connections.write_turn.acquire()
        try:
            return await super().__aenter__()
        except BaseException:
            connections.write_turn.release()
            raise

    async def get_connection(self) -> aiosqlite.Connection:
        return await self.engine.connections().the_writer()

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if self._parent is not None:
            return error is None
        connection = self.connection
        try:
            if not self._committed and not self._rolled_back:
                if error is None:
                    try:
                        await connection.execute("COMMIT")
                    except Exception:
                        await connection.execute("ROLLBACK")
                        raise
                else:
                    await connection.execute("ROLLBACK")
        finally:
            # The connection stays open for the next writer.
            self.engine.current_transaction.reset(self.context)
            self.engine.connections().write_turn.release()
        return error is None


class KeptSQLiteEngine(SQLiteEngine):
    """Piccolo's SQLite engine with kept connections and writers in turn (see the module)."""

    def __init__(self, path: str, **connection_kwargs: Any) -> None:
        super().__init__(path=path, **connection_kwargs)
        self._by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Connections] = (
            weakref.WeakKeyDictionary()
        )

    def connections(self) -> _Connections:
        loop = asyncio.get_running_loop()
        found = self._by_loop.get(loop)
        if found is None:
            found = self._by_loop[loop] = _Connections(self)
        return found

    async def close_connections(self) -> None:
        """Close this loop's connections (they open again when next needed)."""
        found = self._by_loop.pop(asyncio.get_running_loop(), None)
        if found is not None:
            await found.close()

    def transaction(
        self,
        transaction_type: TransactionType = TransactionType.deferred,
        allow_nested: bool = True,
    ) -> KeptTransaction:
        return KeptTransaction(
            engine=self, transaction_type=transaction_type, allow_nested=allow_nested
        )

    async def _run_in_existing_connection(
        self,
        connection: aiosqlite.Connection,
        query: str,
        args: list[Any] | None = None,
        query_type: str = "generic",
        table: Any = None,
    ) -> Any:
        # Inside a transaction: one hand-over per statement too (foreign keys are on from the
        # connection's start; Piccolo set them again before every statement). SQLite answers
        # RETURNING for inserts, so the inserted key comes with the rows.
        return await _fetch(connection, query, args)

    async def run_querystring(self, querystring: QueryString, in_pool: bool = False) -> Any:
        if self.current_transaction.get() is not None:
            return await super().run_querystring(querystring, in_pool)
        query, args = querystring.compile_string(engine_type=self.engine_type)
        if query.lstrip()[:6].upper() == "SELECT":
            if not in_long_reads():
                # Most reads take SQLite tens of microseconds: less than handing them to a
                # thread and back, which was half of a draft request's time. A WAL reader
                # waits for no lock, so this never stalls the loop behind a writer.
                quick = self.connections().quick_reader()
                return _dicts(quick.execute(query, args or []).fetchall())
            async with self.connections().reader() as connection:
                return await _fetch(connection, query, args)
        async with self._write_turn() as connection:
            return await _fetch(connection, query, args)

    async def run_ddl(self, ddl: str, in_pool: bool = False) -> Any:
        if self.current_transaction.get() is not None:
            return await super().run_ddl(ddl, in_pool)
        async with self._write_turn() as connection:
            return await _fetch(connection, ddl, [])

    @asynccontextmanager
    async def _write_turn(self) -> AsyncIterator[aiosqlite.Connection]:
        """The writer, for one statement that commits by itself (autocommit)."""
        connections = self.connections()
        async with connections.write_turn:
            yield await connections.the_writer()


async def _fetch(connection: aiosqlite.Connection, query: str, args: Any) -> list[dict[str, Any]]:
    """The rows as dicts, as Piccolo answers them. One hand-over to the connection's thread
    (execute, fetch and close together), rows made in C there, dicts made here in one pass:
    Piccolo's own way took three hand-overs and a Python call per row."""
    return _dicts(list(await connection.execute_fetchall(query, args or [])))


def _dicts(rows: list[sqlite3.Row]) -> list[dict[str, Any]]:
    if not rows:
        return []
    columns = rows[0].keys()
    return [dict(zip(columns, row, strict=True)) for row in rows]
