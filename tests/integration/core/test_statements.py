"""Statements built once: the same rows as the Piccolo query they were built from, for every
run's values, and refusals for a statement that would not use them."""

from __future__ import annotations

import pytest

from organisatrice.core.statements import Statement
from organisatrice.orders.tables import Client, Order
from tests.factories import make_company, make_order

_ORDER = Statement(
    lambda company, number: (
        Order.select(Order.id, Order.number, Order.client.name)
        .where((Order.company == company) & (Order.number == number))
        .first()
    )
)


async def test_each_run_answers_its_own_values_rows_as_piccolo_would() -> None:
    first, second = await make_company(), await make_company()
    a = await make_order(first, number="2026-0001")
    b = await make_order(second, number="2026-0001")
    for company, made in ((first, a), (second, b)):
        piccolo = (
            await Order.select(Order.id, Order.number, Order.client.name)
            .where((Order.company == company) & (Order.number == "2026-0001"))
            .first()
        )
        ours = await _ORDER.first(company, "2026-0001")
        assert ours == piccolo
        assert ours is not None and ours["id"] == made.id
    assert await _ORDER.first(first, "2026-0002") is None


async def test_a_value_that_looks_like_sql_is_a_value() -> None:
    company = await make_company()
    await make_order(company, number="x' OR '1'='1")
    found = await _ORDER.first(company, "x' OR '1'='1")
    assert found is not None and found["number"] == "x' OR '1'='1"
    assert await _ORDER.first(company, "' OR 1=1 --") is None


async def test_the_wrong_number_of_values_is_refused() -> None:
    with pytest.raises(TypeError, match="2 values expected, 1 given"):
        _ORDER.query(1)


async def test_a_value_that_never_reaches_the_sql_is_refused_when_built() -> None:
    unused = Statement(lambda company: Client.select().where(Client.id == 1))
    with pytest.raises(ValueError, match="does not reach its SQL"):
        unused.query(1)
