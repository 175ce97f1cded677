"""Sign-in that an attacker cannot turn against the user: failures from elsewhere do not lock an
employee out where they usually sign in; one source trying many addresses is throttled;
attempts at once check no more passwords than allowed; failures age out; argon2 runs off the
event loop; the client address comes from a trusted proxy only."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from litestar import Litestar

from organisatrice.roles import throttle
from organisatrice.roles.tables import SignInFailure
from organisatrice.settings import get_settings
from tests.client import ApiClient
from tests.factories import DEFAULT_PASSWORD, make_company, make_employee

OFFICE = "198.51.100.7"
ATTACKER = "203.0.113.66"


async def _sign_in(app: Litestar, email: str, password: str, source: str) -> int:
    async with ApiClient.open(app, source) as client:
        answer = await client.post("/api/session", json={"email": email, "password": password})
    return int(answer.status_code)


async def test_failures_from_elsewhere_do_not_lock_the_employee_out_at_the_office(
    app: Litestar,
) -> None:
    employee = await make_employee(await make_company())
    assert await _sign_in(app, employee.email, DEFAULT_PASSWORD, OFFICE) == 200
    for _ in range(6):
        assert await _sign_in(app, employee.email, "guess-guess", ATTACKER) in (401, 429)
    assert await _sign_in(app, employee.email, DEFAULT_PASSWORD, ATTACKER) == 429
    assert await _sign_in(app, employee.email, DEFAULT_PASSWORD, OFFICE) == 200


async def test_one_source_trying_many_addresses_is_throttled(app: Litestar) -> None:
    source = "192.0.2.40"
    limit = get_settings().sign_in_source_attempts
    answers = [
        await _sign_in(app, f"nobody{n}@test.example", "guess-guess", source)
        for n in range(limit + 3)
    ]
    assert answers[:limit] == [401] * limit
    assert answers[limit:] == [429] * 3
    async with ApiClient.open(app, source) as client:
        refused = await client.post(
            "/api/session", json={"email": "x@test.example", "password": "guess-guess"}
        )
    assert "from your network" in refused.json()["detail"]


async def test_thirty_attempts_at_once_check_at_most_the_allowed_number(app: Litestar) -> None:
    employee = await make_employee(await make_company())
    answers = await asyncio.gather(
        *(_sign_in(app, employee.email, "guess-guess", "192.0.2.77") for _ in range(30))
    )
    assert answers.count(401) == get_settings().sign_in_attempts
    assert answers.count(429) == 30 - get_settings().sign_in_attempts


async def test_old_failures_age_out_whoever_they_were_for(app: Litestar) -> None:
    old = datetime.now(UTC) - timedelta(seconds=get_settings().sign_in_window_seconds + 5)
    await SignInFailure.insert(
        *(
            SignInFailure(email=f"gone{n}@test.example", source="192.0.2.9", at=old)
            for n in range(5)
        )
    )
    await _sign_in(app, "someone@test.example", "guess-guess", "192.0.2.10")
    assert await SignInFailure.count().where(SignInFailure.at <= old) == 0


async def test_sign_ins_hash_off_the_event_loop_while_others_are_served(app: Litestar) -> None:
    company = await make_company()
    people = [await make_employee(company) for _ in range(8)]
    other = await make_employee(await make_company())
    async with ApiClient.signed_in(app, other.email) as working:
        signing_in = [
            asyncio.create_task(_sign_in(app, person.email, DEFAULT_PASSWORD, "192.0.2.100"))
            for person in people
        ]
        await asyncio.sleep(0)
        served = 0
        for _ in range(20):
            assert (await working.get("/api/me")).status_code == 200
            served += 1
        still_hashing = sum(not task.done() for task in signing_in)
        results = await asyncio.gather(*signing_in)
    assert served == 20 and still_hashing > 0
    assert results == [200] * 8


def test_forwarded_for_counts_only_behind_a_trusted_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    scope = {
        "client": ("10.0.0.2", 443),
        "headers": [(b"x-forwarded-for", b"203.0.113.5, 198.51.100.7")],
    }
    assert throttle.client_address(scope) == "10.0.0.2"
    behind_proxy = msgspec.structs.replace(get_settings(), trusted_proxies=("10.0.0.0/8",))
    monkeypatch.setattr(throttle, "get_settings", lambda: behind_proxy)
    assert throttle.client_address(scope) == "198.51.100.7"
