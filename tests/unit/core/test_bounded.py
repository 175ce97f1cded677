"""The pool of bounded work: over its time or memory budget a call is stopped and says which
step it was in; errors of the rules cross back as they were; the pool keeps working after."""

from __future__ import annotations

import time

import pytest

from organisatrice.core.bounded import BoundedPool, Budget, OverBudget, note
from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid


def _sleep(seconds: float) -> str:
    note("sleeping")
    time.sleep(seconds)
    return "woke"


def _hog(megabytes: int) -> int:
    note("allocating")
    return len(bytearray(megabytes * 1024 * 1024))


def _refuse(field: str) -> None:
    raise Invalid(
        "That will not do.",
        code=Code.TEMPLATE_SYNTAX,
        params={"block": field, "line": 2},
        field=field,
    )


@pytest.fixture(scope="module")
def pool() -> BoundedPool:
    made = BoundedPool(size=1, memory_mb=512)
    yield made  # type: ignore[misc]
    made.close()


async def test_work_within_its_budget_answers(pool: BoundedPool) -> None:
    assert await pool.run(Budget(seconds=5, memory_mb=512), _sleep, 0.01) == "woke"


async def test_work_over_its_time_is_stopped_and_names_its_step(pool: BoundedPool) -> None:
    with pytest.raises(OverBudget) as over:
        await pool.run(Budget(seconds=0.3, memory_mb=512), _sleep, 30)
    assert (over.value.reason, over.value.step) == ("time", "sleeping")
    assert await pool.run(Budget(seconds=5, memory_mb=512), _sleep, 0) == "woke"


async def test_work_over_its_memory_is_refused_and_the_pool_goes_on(pool: BoundedPool) -> None:
    with pytest.raises(OverBudget) as over:
        await pool.run(Budget(seconds=10, memory_mb=512), _hog, 2048)
    assert (over.value.reason, over.value.step) == ("memory", "allocating")
    assert await pool.run(Budget(seconds=5, memory_mb=512), _hog, 10) == 10 * 1024 * 1024


async def test_a_rules_error_crosses_back_with_its_field_code_and_params(pool: BoundedPool) -> None:
    with pytest.raises(Invalid) as refused:
        await pool.run(Budget(seconds=5, memory_mb=512), _refuse, "subject")
    error = refused.value
    assert (error.detail, error.field, error.code) == (
        "That will not do.",
        "subject",
        "template_syntax",
    )
    assert error.params == {"block": "subject", "line": 2}


def _large(megabytes: int) -> bytes:
    return b"x" * (megabytes * 1024 * 1024)


def test_a_large_answer_arrives_whole_on_the_servers_event_loop() -> None:
    # The served app runs on uvloop, which makes a watched pipe non-blocking: an answer larger
    # than the pipe's buffer (a checked 20 MB document) arrives in parts and must be waited for.
    import uvloop

    async def twice() -> list[int]:
        pool = BoundedPool(size=1, memory_mb=512)
        try:
            return [
                len(await pool.run(Budget(seconds=10, memory_mb=512), _large, 20)) for _ in "ab"
            ]
        finally:
            pool.close()

    assert uvloop.run(twice()) == [20 * 1024 * 1024] * 2
