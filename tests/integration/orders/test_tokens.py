"""API tokens: back-office makes one with scopes and sees its secret once; a machine acts with
it for the company, with exactly those scopes, without CSRF; revoked or expired it is refused."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from litestar import Litestar

from organisatrice.orders.tables import RecordChange
from organisatrice.roles.policy import Role
from organisatrice.roles.tables import ApiToken
from tests.client import ApiClient
from tests.factories import make_company, make_employee


async def _token(app: Litestar, company_id: int, *scopes: str, **extra: object) -> str:
    admin = await make_employee(company_id, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as office:
        made = await office.post(
            "/api/tokens", json={"name": "ERP", "scopes": list(scopes), **extra}
        )
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


async def test_backoffice_sees_the_secret_once_and_the_list_shows_only_its_prefix(
    app: Litestar,
) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as office:
        made = (
            await office.post("/api/tokens", json={"name": "Abacus", "scopes": ["orders:write"]})
        ).json()
        listed = (await office.get("/api/tokens")).json()
    secret = made["secret"]
    assert secret.startswith("org_") and len(secret) > 40
    assert [t["name"] for t in listed] == ["Abacus"]
    assert secret not in str(listed)
    assert secret.startswith(listed[0]["prefix"])
    assert listed[0]["last_used_at"] is None and listed[0]["active"] is True
    stored = await ApiToken.select(ApiToken.token_hash).where(ApiToken.id == made["token"]["id"])
    assert secret not in str(stored)


async def test_a_token_acts_for_its_company_without_csrf_and_its_use_is_recorded(
    app: Litestar,
) -> None:
    company = await make_company()
    secret = await _token(app, company, "contacts:write")
    async with ApiClient.with_token(app, secret) as erp:
        made = await erp.http.post("/api/clients", json={"name": "Müller AG", "city": "Bern"})
    assert made.status_code == 201, made.text
    change = await RecordChange.select().where(RecordChange.subject_id == made.json()["id"])
    assert len(change) == 1
    assert change[0]["token"] is not None and change[0]["employee"] is None
    used = await ApiToken.select(ApiToken.last_used_at).where(ApiToken.company == company)
    assert used[0]["last_used_at"] is not None


async def test_a_token_without_the_scope_gets_403_naming_the_scope(app: Litestar) -> None:
    company = await make_company()
    secret = await _token(app, company, "archive:read")
    async with ApiClient.with_token(app, secret) as erp:
        refused = await erp.http.post("/api/clients", json={"name": "X"})
        people = await erp.http.get("/api/employees")
        me = await erp.http.get("/api/me")
    assert refused.status_code == 403
    assert "contacts:write" in refused.json()["detail"]
    assert people.status_code == 403
    assert me.status_code == 403


async def test_revoked_and_expired_tokens_get_401(app: Litestar) -> None:
    company = await make_company()
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    revoked = await _token(app, company, "orders:read")
    expiring = await _token(
        app, company, "orders:read", expires_at=(datetime.now(UTC) + timedelta(hours=1)).isoformat()
    )
    async with ApiClient.signed_in(app, admin.email) as office:
        tokens = (await office.get("/api/tokens")).json()
        first = next(t for t in tokens if revoked.startswith(t["prefix"]))
        answer = await office.post(f"/api/tokens/{first['id']}/revoke")
        assert answer.status_code == 200 and answer.json()["active"] is False
    await ApiToken.update({ApiToken.expires_at: datetime.now(UTC) - timedelta(seconds=1)}).where(
        ApiToken.prefix == expiring[:10]
    )
    for secret in (revoked, expiring, "org_made-up", "not-even-ours"):
        async with ApiClient.with_token(app, secret) as erp:
            answer = await erp.http.get("/api/orders")
        assert answer.status_code == 401, secret
        assert "token" in answer.json()["detail"]


async def test_a_token_cannot_be_made_by_a_dispatcher_or_with_a_past_expiry(
    app: Litestar,
) -> None:
    company = await make_company()
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        refused = await client.post("/api/tokens", json={"name": "x", "scopes": ["orders:read"]})
    assert refused.status_code == 403
    async with ApiClient.signed_in(app, admin.email) as office:
        past = await office.post(
            "/api/tokens",
            json={"name": "x", "scopes": ["orders:read"], "expires_at": "2020-01-01T00:00:00Z"},
        )
        unknown = await office.post("/api/tokens", json={"name": "x", "scopes": ["root"]})
    assert past.status_code == 422 and past.json()["field"] == "expires_at"
    assert unknown.status_code == 400
    assert await ApiToken.count().where(ApiToken.company == company) == 0
