"""Schemathesis over the whole OpenAPI document of the running app, signed in as a demo
employee: any 5xx, or any answer that does not match the documented schema, fails. Endpoints
added later are covered without new code."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from organisatrice.app import create_app
from organisatrice.demo import load_demo_data

pytestmark = pytest.mark.schema

DEMO_EMAIL = "backoffice@meier.example"
DEMO_PASSWORD = "organisatrice-demo"
# Signing out (here or everywhere) would end the session the rest of the run uses.
SKIPPED = {"SignOut", "SignOutEverywhere"}


@pytest.fixture(scope="module")
async def demo_data(database: None) -> None:
    await load_demo_data(if_empty=False, orders_per_company=12)


@pytest.fixture(scope="module")
def signed_in(live_server: str, demo_data: None) -> Iterator[requests.Session]:
    session = requests.Session()
    session.get(f"{live_server}/api/health")
    answer = session.post(
        f"{live_server}/api/session",
        json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD},
        headers={"x-csrftoken": session.cookies["csrftoken"]},
    )
    assert answer.status_code == 200, answer.text
    yield session


def _one_csrf_cookie(session: requests.Session) -> str:
    """The session's CSRF token, kept as one cookie: a generated case may send cookies of its
    own (the schema documents the session cookie), and the app then hands out another token,
    which the jar may keep beside the first under another path."""
    kept = next(c for c in session.cookies if c.name == "csrftoken")
    for cookie in [c for c in session.cookies if c.name == "csrftoken"]:
        session.cookies.clear(cookie.domain, cookie.path, cookie.name)
    session.cookies.set("csrftoken", kept.value, domain=kept.domain, path="/")
    return str(kept.value)


# The document the running app serves at /schema/openapi.json, read from the same factory.
schema = schemathesis.openapi.from_dict(create_app().openapi_schema.to_schema())


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_without_5xx_and_as_documented(
    case: schemathesis.Case, signed_in: requests.Session, live_server: str
) -> None:
    if case.operation.definition.raw.get("operationId") in SKIPPED:
        return
    token = _one_csrf_cookie(signed_in)
    case.call_and_validate(
        base_url=live_server,
        session=signed_in,
        headers={"x-csrftoken": token},
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
            response_headers_conformance,
        ],
    )


def test_the_served_schema_is_the_one_tested(live_server: str) -> None:
    document = httpx.get(f"{live_server}/schema/openapi.json").json()
    assert document == create_app().openapi_schema.to_schema()
    assert "/api/orders" in document["paths"]
