"""Searches (core/reads.py) go where the engine runs them: on SQLite to the reader threads, not
the event loop's own connection; on PostgreSQL to the pool that plans each execution with its
values. Other reads stay quick and planned once."""

from __future__ import annotations

import pytest
from piccolo.querystring import QueryString

from organisatrice.core.db import engine, is_sqlite, transaction
from organisatrice.core.reads import long_reads
from organisatrice.core.sqlite import KeptSQLiteEngine

# A per-connection setting that marks the loop's own connection.
_MARK = -1234


async def _value(sql: str) -> object:
    rows = await engine().run_querystring(QueryString(sql))
    return next(iter(dict(rows[0]).values()))


@pytest.mark.skipif(not is_sqlite(), reason="the event loop's own connection is SQLite's")
async def test_sqlite_runs_quick_reads_on_the_loop_and_searches_in_reader_threads() -> None:
    db = engine()
    assert isinstance(db, KeptSQLiteEngine)
    db.connections().quick_reader().execute(f"PRAGMA cache_size = {_MARK}")
    try:
        assert await _value("SELECT cache_size FROM pragma_cache_size()") == _MARK
        with long_reads():
            assert await _value("SELECT cache_size FROM pragma_cache_size()") != _MARK
    finally:
        db.connections().quick_reader().execute("PRAGMA cache_size = -2000")


@pytest.mark.skipif(is_sqlite(), reason="plan caching is PostgreSQL's")
async def test_postgres_plans_searches_with_their_values_and_keeps_other_plans() -> None:
    assert await _value("SHOW plan_cache_mode") == "auto"
    with long_reads():
        assert await _value("SHOW plan_cache_mode") == "force_custom_plan"
        # Inside a transaction a search reads what the transaction sees: its own connection.
        async with transaction():
            assert await _value("SHOW plan_cache_mode") == "auto"
    assert await _value("SHOW plan_cache_mode") == "auto"
