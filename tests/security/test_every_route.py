"""Every route of the app, from its own route table, × not signed in, each role, and an
employee of another company. A route added later is checked without new code; one added
without a declared permission makes the app refuse to start (and this file fail)."""

from __future__ import annotations

import io
import itertools
import re
from collections.abc import AsyncIterator
from typing import Any

import msgspec
import pytest
from litestar import Litestar, get
from litestar.handlers import HTTPRouteHandler
from PIL import Image

from organisatrice.core.blobs import blob_store
from organisatrice.mail.tables import ClientReply, InboundReport
from organisatrice.orders.tables import OrderResponsible
from organisatrice.roles.guards import needs_of, routes_without_guard
from organisatrice.roles.policy import Actor, Permission, Role, Scope, decide
from organisatrice.roles.tables import Company
from tests.client import ApiClient
from tests.factories import (
    make_company,
    make_contact,
    make_employee,
    make_order,
    make_pdf,
    make_template,
)
from tests.integration.events.helpers import make_webhook_endpoint

_serial = itertools.count()
PDF = make_pdf()
CSV = b"Externe ID;Name\r\nK1;Neubau AG\r\n"


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), "red").save(out, "PNG")
    return out.getvalue()


# A drawing from the signature field: any PNG with ink on it.
SIGNATURE: dict[str, Any] = {
    "files": {"file": ("signature.png", _png(), "image/png")},
    "data": {"signer_name": "Vreni Huber"},
}


class World(msgspec.Struct):
    company_id: int
    ids: dict[str, int]


async def _world(app: Litestar) -> World:
    """A company with one of everything a route can name by id."""
    company_id = await make_company()
    admin = await make_employee(company_id, roles={Role.BACKOFFICE, Role.DISPATCHER})
    victim = await make_employee(company_id, roles={Role.TECHNICIAN})
    order = await make_order(company_id, technician_id=victim.id)
    contact_id = await make_contact(company_id, client_id=order.client_id)
    template = await make_template(company_id, attachments=[])
    await Company.update({Company.sender_address: "office@firm.example"}).where(
        Company.id == company_id
    )
    async with ApiClient.signed_in(app, admin.email) as client:
        to_send = await client.post(
            f"/api/orders/{order.id}/drafts",
            json={"template_id": template, "contact_id": contact_id},
        )
        email = await client.post(f"/api/orders/{order.id}/drafts/{to_send.json()['id']}/send")
        assert email.status_code == 201, email.text
        draft = await client.post(
            f"/api/orders/{order.id}/drafts",
            json={"template_id": template, "contact_id": contact_id},
        )
        assert draft.status_code == 201, draft.text
        photo = await client.post(
            f"/api/orders/{order.id}/photos", files={"file": ("p.png", _png(), "image/png")}
        )
        document = await client.post(
            f"/api/orders/{order.id}/documents",
            files={"file": ("offer.pdf", PDF, "application/pdf")},
        )
        signature = await client.post(f"/api/orders/{order.id}/signature", **SIGNATURE)
        building = await client.post(
            "/api/buildings", json={"client_id": order.client_id, "street": "Weg 1"}
        )
        token = await client.post("/api/tokens", json={"name": "ERP", "scopes": ["orders:read"]})
        spreadsheet = await client.post(
            "/api/imports", files={"file": ("k.csv", CSV, "text/csv")}, data={"kind": "client"}
        )
    assert photo.status_code == 201, photo.text
    assert document.status_code == 201, document.text
    assert signature.status_code == 201, signature.text
    assert building.status_code == 201, building.text
    assert token.status_code == 201, token.text
    assert spreadsheet.status_code == 201, spreadsheet.text
    endpoint_id, delivery_id = await make_webhook_endpoint(company_id)
    ref, _ = await blob_store().put(b"From: MAILER-DAEMON@relay.example\r\n\r\nunreadable\r\n")
    report = InboundReport(
        company=company_id, kind="unknown", blob_sha256=ref.sha256, problem="unreadable"
    )
    await report.save()
    reply = ClientReply(
        company=company_id,
        sent_email=email.json()["id"],
        order=order.id,
        sender="client@client.example",
        text="Einverstanden.",
        blob_sha256=ref.sha256,
    )
    await reply.save()
    return World(
        company_id=company_id,
        ids={
            "order_id": order.id,
            "photo_id": photo.json()["id"],
            "document_id": document.json()["id"],
            "signature_id": signature.json()["id"],
            "client_id": order.client_id,
            "contact_id": contact_id,
            "employee_id": victim.id,
            "template_id": template,
            "draft_id": draft.json()["id"],
            "email_id": email.json()["id"],
            "building_id": building.json()["id"],
            "token_id": token.json()["token"]["id"],
            "import_id": spreadsheet.json()["id"],
            "index": 0,
            "endpoint_id": endpoint_id,
            "delivery_id": delivery_id,
            "report_id": int(report.id),
            "reply_id": int(reply.id),
        },
    )


def _request_body(operation_id: str) -> dict[str, Any]:
    """A valid body per write route, so that a refusal comes from the rules, not from parsing."""
    bodies: dict[str, dict[str, Any]] = {
        "SignIn": {"json": {"email": "nobody@test.example", "password": "x"}},
        "CreateEmployee": {
            "json": {
                "first_name": "New",
                "last_name": "Person",
                "email": f"new.{next(_serial)}@test.example",
                "password": "a long enough password",
                "roles": ["technician"],
            }
        },
        "ChangeEmployee": {"json": {"may_email": False, "locale": "fr"}},
        "ChangeCompanySettings": {"json": {"email_enabled": True}},
        "UploadCompanyLogo": {"files": {"file": ("logo.png", _png(), "image/png")}},
        "SetOrderResponsible": {"json": {"employee_ids": []}},
        "UploadPhoto": {"files": {"file": ("p.png", _png(), "image/png")}},
        "ChangePhoto": {"json": {"caption": "Nach der Reparatur"}},
        "UploadDocument": {"files": {"file": ("o.pdf", PDF, "application/pdf")}},
        "SignReport": SIGNATURE,
        "CreateTemplate": {
            "json": {"kind": "general", "language": "de", "name": "T", "subject": "S"}
        },
        "ChangeTemplate": {"json": {"name": "Renamed"}},
        "DuplicateTemplate": {},
        "PreviewTemplate": {"json": {"kind": "general", "language": "de", "subject": "S"}},
        "CreateDraft": {"json": {"template_id": 1, "address": "a@client.example"}},
        "AnswerReply": {"json": {}},
        "ChangeDraft": {"json": {"version": 1}},
        "PreviewDraft": {},
        "SendDraft": {},
        "SendDraftProof": {},
        "SetMailRelay": {"json": {"host": "127.0.0.1", "port": 1, "tls_mode": "none"}},
        "TestMailRelay": {},
        "ConnectMailRelayAccount": {},
        "VerifyTracking": {},
        "SetTracking": {"json": {"daily": False}},
        "ResendEmail": {"json": {"to": [{"email": "fixed@client.example"}]}},
        "AddArchiveNote": {"json": {"text": "Called the client."}},
        "MarkReplyHandled": {},
        "RecordHandover": {"json": {"kind": "work_report", "handed_over_on": "2026-11-20"}},
        "CreateClient": {"json": {"name": "Neubau AG"}},
        "ChangeClient": {"json": {"city": "Bern"}},
        "UpsertClients": {"json": {"rows": [{"external_id": "C1", "name": "Neubau AG"}]}},
        "CreateBuilding": {"json": {"client_id": 1, "street": "Weg 1"}},
        "ChangeBuilding": {"json": {"city": "Bern"}},
        "UpsertBuildings": {"json": {"rows": [{"external_id": "B1", "client": "C1"}]}},
        "CreateContact": {"json": {"client_id": 1, "last_name": "Huber"}},
        "ChangeContact": {"json": {"phone": "+41 44 000 00 00"}},
        "UpsertContacts": {"json": {"rows": [{"external_id": "P1", "client": "C1"}]}},
        "CreateOrder": {"json": {"number": "1", "title": "Service", "client_id": 1}},
        "ChangeOrder": {"json": {"status": "completed"}},
        "UpsertOrders": {"json": {"rows": [{"external_id": "O1", "number": "1"}]}},
        "ChangeMyPassword": {
            "json": {"current_password": "not the password", "new_password": "long enough 123"}
        },
        "ChangeMyLocale": {"json": {"locale": "it"}},
        "ChangeMySignature": {"json": {"text": "{{ employee.full_name }}"}},
        "ChangeMyNoticeChoices": {
            "json": {"choices": [{"kind": "client_reply", "shown": True, "emailed": True}]}
        },
        "SetPasswordWithLink": {"json": {"token": "no-such-link", "new_password": "long enough"}},
        "SendPasswordLink": {"json": {"purpose": "reset"}},
        "CreateApiToken": {"json": {"name": "ERP", "scopes": ["orders:read"]}},
        "RevokeApiToken": {},
        "UploadImport": {
            "files": {"file": ("k.csv", CSV, "text/csv")},
            "data": {"kind": "client"},
        },
        "ChangeImportMapping": {"json": {"mode": "per_row"}},
        "CheckImport": {},
        "RunImport": {},
        # Loopback: the outbound guard refuses it (422), so no test ever sends anywhere else.
        "CreateWebhookEndpoint": {
            "json": {"url": "https://127.0.0.1:9/hooks", "event_types": ["email.sent"]}
        },
        "ChangeWebhookEndpoint": {"json": {"description": "ERP"}},
        "SendWebhookTest": {},
        "ResendWebhookEvent": {},
        "DeleteOldArchivedEmails": {
            "json": {"older_than": "2000-01-01T00:00:00+00:00", "confirm_count": 0}
        },
    }
    if operation_id not in bodies:
        raise AssertionError(f"add a valid example body for the write route {operation_id}")
    return bodies[operation_id]


class Route(msgspec.Struct):
    method: str
    path: str
    operation_id: str
    needs: Permission


def _routes(app: Litestar) -> list[Route]:
    found = []
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if not isinstance(handler, HTTPRouteHandler) or not route.path.startswith("/api/"):
                continue
            needs = needs_of(handler)
            assert needs is not None, f"{route.path} declares no permission"
            for method in handler.http_methods - {"OPTIONS", "HEAD"}:
                found.append(
                    Route(method, route.path, str(handler.operation_id or handler.name), needs)
                )
    # Signing out last, so the session lives for the other routes; and setting the order's
    # responsible employees (to none) after every route the order-bound email rule guards.
    ending = ("SetOrderResponsible", "SignOut", "SignOutEverywhere")
    return sorted(found, key=lambda r: (r.operation_id in ending, r.path, r.method))


def _url(path: str, ids: dict[str, int]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in ids:
            raise AssertionError(f"add an id for the path parameter {name} to _world()")
        return str(ids[name])

    return re.sub(r"\{(\w+):int\}", fill, path)


async def _call(client: ApiClient, route: Route, ids: dict[str, int]) -> int:
    url = _url(route.path, ids)
    kwargs = {} if route.method in ("GET", "DELETE") else _request_body(route.operation_id)
    method = getattr(client, route.method.lower())
    answer = await method(url, **kwargs)
    return int(answer.status_code)


@pytest.fixture
async def worlds(app: Litestar) -> AsyncIterator[tuple[World, World]]:
    yield await _world(app), await _world(app)


def test_the_app_has_no_route_without_a_declared_permission(app: Litestar) -> None:
    assert routes_without_guard(app) == []
    assert len(_routes(app)) >= 20


def test_a_route_without_declared_permission_is_found_and_closed() -> None:
    @get("/api/forgotten", sync_to_thread=False)
    def forgotten() -> str:
        return "secret"

    bare = Litestar(route_handlers=[forgotten], openapi_config=None)
    assert routes_without_guard(bare) == ["['GET'] /api/forgotten"]


async def test_every_route_refuses_anonymous_callers(
    app: Litestar, anonymous: ApiClient, worlds: tuple[World, World]
) -> None:
    own, _ = worlds
    for route in _routes(app):
        if route.needs is Permission.PUBLIC:
            continue
        status = await _call(anonymous, route, own.ids)
        assert status == 401, f"{route.method} {route.path} answered {status} without sign-in"


@pytest.mark.parametrize("role", list(Role))
async def test_every_route_answers_each_role_as_the_rule_book_says(
    app: Litestar, worlds: tuple[World, World], role: Role
) -> None:
    own, _ = worlds
    employee = await make_employee(own.company_id, roles={role})
    # Responsible for the order, so that the order-bound email rule lets every role through
    # and any 403 below comes from the route's own permission.
    await OrderResponsible.insert(
        OrderResponsible(company=own.company_id, order=own.ids["order_id"], employee=employee.id)
    )
    probe = Actor(
        employee_id=employee.id,
        company_id=own.company_id,
        company_name="",
        first_name="",
        last_name="",
        email="",
        locale="de",
        time_zone="UTC",
        roles=frozenset({role}),
        may_email=True,
        company_email_enabled=True,
    )
    for route in _routes(app):
        if route.operation_id == "SignIn":
            continue
        # Each route in a session of its own: signing out (here or everywhere) ends only it.
        async with ApiClient.signed_in(app, employee.email) as client:
            status = await _call(client, route, own.ids)
        where = f"{role.value}: {route.method} {route.path} answered {status}"
        assert status < 500, where
        if decide(probe, route.needs).allowed:
            assert status not in (401, 403), where
        else:
            assert status == 403, where


async def test_every_route_hides_another_companys_ids(
    app: Litestar, worlds: tuple[World, World]
) -> None:
    own, foreign = worlds
    everything = await make_employee(
        own.company_id, roles={Role.BACKOFFICE, Role.DISPATCHER, Role.COORDINATOR}
    )
    async with ApiClient.signed_in(app, everything.email) as client:
        checked = 0
        for route in _routes(app):
            if "{" not in route.path:
                continue
            status = await _call(client, route, foreign.ids)
            assert status == 404, (
                f"{route.method} {route.path} with another company's ids: {status}"
            )
            checked += 1
        assert checked >= 8


async def _token(app: Litestar, company_id: int, scopes: list[Scope]) -> str:
    admin = await make_employee(company_id, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as office:
        made = await office.post("/api/tokens", json={"name": "ERP", "scopes": scopes})
    assert made.status_code == 201, made.text
    return str(made.json()["secret"])


@pytest.mark.parametrize("scope", list(Scope))
async def test_every_route_answers_each_token_scope_as_the_rule_book_says(
    app: Litestar, worlds: tuple[World, World], scope: Scope
) -> None:
    own, _ = worlds
    probe = Actor(
        employee_id=0,
        company_id=own.company_id,
        company_name="",
        first_name="",
        last_name="",
        email="",
        locale="en",
        time_zone="UTC",
        roles=frozenset(),
        may_email=False,
        company_email_enabled=True,
        token_id=1,
        scopes=frozenset({scope}),
    )
    async with ApiClient.with_token(app, await _token(app, own.company_id, [scope])) as machine:
        for route in _routes(app):
            if route.needs is Permission.PUBLIC:
                continue
            status = await _call(machine, route, own.ids)
            where = f"{scope.value}: {route.method} {route.path} answered {status}"
            assert status < 500, where
            if decide(probe, route.needs).allowed:
                assert status not in (401, 403), where
            else:
                assert status == 403, where


async def test_a_token_with_every_scope_gets_404_for_another_companys_ids(
    app: Litestar, worlds: tuple[World, World]
) -> None:
    own, foreign = worlds
    secret = await _token(app, own.company_id, list(Scope))
    async with ApiClient.with_token(app, secret) as machine:
        checked = 0
        for route in _routes(app):
            if "{" not in route.path or route.needs is Permission.PUBLIC:
                continue
            status = await _call(machine, route, foreign.ids)
            assert status in (403, 404), f"{route.method} {route.path} with foreign ids: {status}"
            checked += status == 404
        assert checked >= 8
