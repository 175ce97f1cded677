"""Queries that run on every request, built once.

Piccolo builds a query's SQL anew every time it runs. For a select with joined columns that
costs 0.1 to 0.6 ms of Python (a foreign key copies itself, and lists its attributes, for every
attribute asked of it): more than SQLite takes to answer, and a quarter of a send request's
time. A `Statement` builds its Piccolo query once, with markers where the values go, and keeps
the SQL; each run puts that run's values where the markers were.

Only values compared with `==`, `<` and the like can be markers: a list given to `is_in` changes
the SQL with its length, so such a query stays a plain Piccolo query.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from piccolo.querystring import QueryString

from organisatrice.core.db import engine


class _Value:
    """Stands where the run's value number `index` goes."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index


class Statement:
    """`Statement(lambda company, order: Draft.select().where(...))`; then
    `await statement.rows(company_id, order_id)` or `.first(...)`: rows as dicts, as Piccolo
    answers them."""

    def __init__(self, build: Callable[..., Any]) -> None:
        # A Piccolo query (Select, or the proxy that `.first()` answers): its querystrings.
        self._build = build
        self._arity = len(inspect.signature(build).parameters)
        self._template: str | None = None
        self._args: list[Any] = []

    def _compile(self) -> str:
        # On first use, not at import: Piccolo resolves foreign keys once every table exists.
        if self._template is None:
            query = self._build(*(_Value(n) for n in range(self._arity)))
            built: QueryString = query.querystrings[0]
            _, fragments, args = built.bundle(bundled=[], combined_args=[])
            self._args = args
            self._template = "".join(
                f.prefix.replace("{", "{{").replace("}", "}}") + ("" if f.no_arg else "{}")
                for f in fragments
            )
            used = {a.index for a in args if isinstance(a, _Value)}
            if used != set(range(self._arity)):
                raise ValueError(f"a value of {self._build} does not reach its SQL")
        return self._template

    def query(self, *values: Any) -> QueryString:
        template = self._compile()
        if len(values) != self._arity:
            raise TypeError(f"{self._arity} values expected, {len(values)} given")
        return QueryString(
            template, *(values[a.index] if isinstance(a, _Value) else a for a in self._args)
        )

    async def rows(self, *values: Any) -> list[dict[str, Any]]:
        db = engine()
        return db.transform_response_to_dicts(await db.run_querystring(self.query(*values)))

    async def first(self, *values: Any) -> dict[str, Any] | None:
        rows = await self.rows(*values)
        return rows[0] if rows else None
