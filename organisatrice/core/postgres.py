"""The PostgreSQL engine: Piccolo's, with a second pool whose connections plan searches with
their values.

asyncpg prepares every statement once per connection and reuses it; after five runs PostgreSQL
may switch to a generic plan, made without the values. For most reads that is the same plan, made
once instead of on every run (planning was a third of an archive page's time). For a search
(core/reads.py) it is not: a generic plan cannot see that "zebrowski" is rare, and walks the
archive by date instead of using the trigram index. Searches therefore run on connections that
plan every execution with its values (`plan_cache_mode = force_custom_plan`).
"""

from __future__ import annotations

from typing import Any

import asyncpg  # type: ignore[import-untyped]
from piccolo.engine.postgres import PostgresEngine
from piccolo.querystring import QueryString

from organisatrice.core.reads import in_long_reads

CUSTOM_PLANS = {"plan_cache_mode": "force_custom_plan"}


class SearchingPostgresEngine(PostgresEngine):
    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config=config)
        self.search_pool: asyncpg.Pool | None = None

    async def start_connection_pool(self, **kwargs: Any) -> None:
        await super().start_connection_pool(**kwargs)
        config = {**self.config, **kwargs}
        config["server_settings"] = {**config.get("server_settings", {}), **CUSTOM_PLANS}
        config["max_size"] = min(config.get("max_size", 10), 4)
        self.search_pool = await asyncpg.create_pool(**config)

    async def close_connection_pool(self) -> None:
        await super().close_connection_pool()
        if self.search_pool is not None:
            await self.search_pool.close()
            self.search_pool = None

    async def run_querystring(self, querystring: QueryString, in_pool: bool = True) -> Any:
        # Inside a transaction a search runs on the transaction's connection.
        if self.search_pool is None or not in_long_reads() or self.current_transaction.get():
            return await super().run_querystring(querystring, in_pool)
        query, args = querystring.compile_string(engine_type=self.engine_type)
        async with self.search_pool.acquire() as connection:
            return await connection.fetch(query, *args)
