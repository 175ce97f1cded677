"""/api/templates: back-office writes templates, everyone who may email picks from those meant
for them. A template that would not render is refused on save, naming the field and line."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import pytest
from litestar import Litestar

from organisatrice.compose.schemas import TemplateContent
from organisatrice.compose.tables import EmailTemplate
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_company, make_employee, save_template
from tests.integration.compose.conftest import Office, Staff, new_draft, work_report_template

NEW = {
    "kind": "work_report",
    "language": "de",
    "name": "Arbeitsrapport an Verwaltung",
    "subject": "Arbeitsrapport {{ order.number }}, {{ building.address }}",
    "greeting": "{{ greeting }}",
    "motivation": "Im Anhang finden Sie den Arbeitsrapport zum Auftrag {{ order.number }}.",
    "closing": "Freundliche Grüsse",
    "signature": "{{ employee.full_name }}\n{{ company.name }}\n{{ company.phone }}",
    "attachment_filename": "Arbeitsrapport {{ order.number }} {{ client.name }}",
    "attachments": ["work_report"],
}


@pytest.fixture(scope="module")
async def backoffice(app: Litestar, staff: Staff) -> AsyncIterator[ApiClient]:
    admin = await make_employee(staff.company_id, roles={Role.BACKOFFICE})
    async with ApiClient.signed_in(app, admin.email) as client:
        yield client


def when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


async def template_rows(company_id: int) -> list[dict[str, Any]]:
    rows = await EmailTemplate.select().where(EmailTemplate.company == company_id)
    return sorted((dict(r) for r in rows), key=lambda r: r["id"])


async def listed(client: ApiClient) -> dict[int, dict[str, Any]]:
    answer = await client.get("/api/templates")
    assert answer.status_code == 200, answer.text
    return {t["id"]: t for t in answer.json()}


async def test_backoffice_creates_a_template_listed_with_its_dates(backoffice: ApiClient) -> None:
    answer = await backoffice.post("/api/templates", json=NEW)
    assert answer.status_code == 201, answer.text
    created = answer.json()
    for field, value in NEW.items():
        assert created[field] == value
    assert created["roles"] == []
    assert created["last_used_at"] is None
    entry = (await listed(backoffice))[created["id"]]
    assert entry["name"] == "Arbeitsrapport an Verwaltung"
    assert when(entry["modified_at"]) >= when(entry["created_at"])
    assert entry["last_used_at"] is None


async def test_backoffice_edits_a_template_and_its_modified_time_moves(
    backoffice: ApiClient,
) -> None:
    created = (await backoffice.post("/api/templates", json=NEW)).json()
    answer = await backoffice.patch(
        f"/api/templates/{created['id']}", json={"subject": "Rapport {{ order.number }}"}
    )
    assert answer.status_code == 200, answer.text
    changed = answer.json()
    assert changed["subject"] == "Rapport {{ order.number }}"
    assert changed["motivation"] == NEW["motivation"]
    assert changed["created_at"] == created["created_at"]
    assert when(changed["modified_at"]) > when(created["modified_at"])
    again = (await backoffice.get(f"/api/templates/{created['id']}")).json()
    assert again["subject"] == "Rapport {{ order.number }}"


async def test_duplicate_is_a_copy_to_start_a_variant_from(backoffice: ApiClient) -> None:
    created = (await backoffice.post("/api/templates", json=NEW)).json()
    answer = await backoffice.post(f"/api/templates/{created['id']}/duplicate")
    assert answer.status_code == 201, answer.text
    copy = answer.json()
    assert copy["id"] != created["id"]
    assert copy["name"] == "Arbeitsrapport an Verwaltung (copy)"
    for field in ("kind", "language", "subject", "motivation", "signature", "attachments"):
        assert copy[field] == created[field]
    assert {created["id"], copy["id"]} <= set(await listed(backoffice))


async def test_deleted_template_is_gone(backoffice: ApiClient) -> None:
    created = (await backoffice.post("/api/templates", json=NEW)).json()
    answer = await backoffice.delete(f"/api/templates/{created['id']}")
    assert answer.status_code == 204, answer.text
    assert (await backoffice.get(f"/api/templates/{created['id']}")).status_code == 404
    assert created["id"] not in await listed(backoffice)


async def test_last_used_is_set_when_a_draft_is_made(
    backoffice: ApiClient, dispatcher: ApiClient, office: Office
) -> None:
    template_id = await save_template(office.company_id, work_report_template("de"))
    before = (await listed(backoffice))[template_id]
    assert before["last_used_at"] is None
    await new_draft(dispatcher, office, template_id=template_id)
    entry = (await listed(backoffice))[template_id]
    assert entry["last_used_at"] is not None
    assert when(entry["last_used_at"]) >= when(entry["created_at"])
    # Using a template is no change to it.
    assert entry["modified_at"] == before["modified_at"]


@pytest.mark.parametrize(
    ("field", "source", "expected"),
    [
        ("motivation", "Guten Tag\n{{ order.numbr }}", "Motivation, line 2: unknown placeholder"),
        ("subject", "Rapport {{ order.number", "Subject, line 1: "),
        ("signature", "{{ employee.full_name }}\n\n{% if %}", "Signature, line 3: "),
        ("closing", "Grüsse {{ ''.__class__.__mro__ }}", "Closing, line 1: not allowed"),
        ("greeting", "{{ greeting }}\n{{ self }}", "Greeting, line 2: unknown placeholder"),
        ("attachment_filename", "{{ 'x' * 10**9 }}", "Attachment filename, line 1: "),
    ],
)
async def test_template_that_would_not_render_is_refused_and_not_saved(
    backoffice: ApiClient, staff: Staff, field: str, source: str, expected: str
) -> None:
    before = await template_rows(staff.company_id)
    answer = await backoffice.post("/api/templates", json={**NEW, field: source})
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["detail"].startswith(expected)
    assert problem["field"] == field
    assert await template_rows(staff.company_id) == before


async def test_unknown_placeholder_names_the_placeholder(backoffice: ApiClient) -> None:
    answer = await backoffice.post("/api/templates", json={**NEW, "subject": "{{ order.numbr }}"})
    assert answer.json()["detail"] == "Subject, line 1: unknown placeholder 'order.numbr'."


@pytest.mark.parametrize(
    "change",
    [
        {"motivation": "Auftrag {{ order.numbr }}"},
        {"subject": "{% for x in order.work_items %}"},
        {"signature": "{{ cycler.__init__.__globals__ }}"},
    ],
)
async def test_refused_change_leaves_the_template_as_it_was(
    backoffice: ApiClient, staff: Staff, change: dict[str, str]
) -> None:
    template_id = staff.templates["de"]
    before = await template_rows(staff.company_id)
    answer = await backoffice.patch(f"/api/templates/{template_id}", json=change)
    assert answer.status_code == 422, answer.text
    [field] = change
    assert answer.json()["field"] == field
    assert await template_rows(staff.company_id) == before


async def test_subject_on_two_lines_is_refused_on_save(backoffice: ApiClient) -> None:
    answer = await backoffice.post(
        "/api/templates", json={**NEW, "subject": "Arbeitsrapport\n{{ order.number }}"}
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "subject"
    assert "line break" in answer.json()["detail"]


async def test_role_limited_template_is_seen_only_by_those_roles(
    app: Litestar, backoffice: ApiClient, dispatcher: ApiClient, office: Office
) -> None:
    limited = await save_template(
        office.company_id,
        work_report_template("de", name="Nur Koordination", roles=["coordinator"]),
    )
    everyone = office.templates["de"]

    assert everyone in await listed(dispatcher)
    assert limited not in await listed(dispatcher)
    assert (await dispatcher.get(f"/api/templates/{limited}")).status_code == 404
    answer = await dispatcher.post(
        office.drafts_url, json={"template_id": limited, "contact_id": office.contacts["anna"]}
    )
    assert answer.status_code == 404

    coordinator = await make_employee(office.company_id, roles={Role.COORDINATOR})
    async with ApiClient.signed_in(app, coordinator.email) as client:
        assert {limited, everyone} <= set(await listed(client))
        assert (await client.get(f"/api/templates/{limited}")).status_code == 200
    assert limited in await listed(backoffice)


@pytest.mark.parametrize("role", [Role.DISPATCHER, Role.COORDINATOR, Role.TECHNICIAN])
async def test_only_backoffice_may_write_templates(app: Litestar, staff: Staff, role: Role) -> None:
    employee = await make_employee(staff.company_id, roles={role})
    template_id = staff.templates["de"]
    before = await template_rows(staff.company_id)
    async with ApiClient.signed_in(app, employee.email) as client:
        attempts = [
            await client.post("/api/templates", json=NEW),
            await client.patch(f"/api/templates/{template_id}", json={"name": "Mine"}),
            await client.post(f"/api/templates/{template_id}/duplicate"),
            await client.delete(f"/api/templates/{template_id}"),
        ]
    assert [a.status_code for a in attempts] == [403] * 4
    assert attempts[0].json()["detail"] == "Only back-office staff may do this."
    assert await template_rows(staff.company_id) == before


async def test_another_companys_template_does_not_exist_for_us(backoffice: ApiClient) -> None:
    other = await save_template(await make_company(), work_report_template("de"))
    assert (await backoffice.get(f"/api/templates/{other}")).status_code == 404
    assert (await backoffice.patch(f"/api/templates/{other}", json={"name": "x"})).status_code == (
        404
    )
    assert (await backoffice.delete(f"/api/templates/{other}")).status_code == 404
    assert other not in await listed(backoffice)


def content(template: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """What the editor sends to preview `template` with `changes`: its content fields only."""
    fields = TemplateContent.__struct_fields__
    return {**{f: template[f] for f in fields if f in template}, **changes}


async def test_preview_renders_the_unsaved_template_and_saves_nothing(
    backoffice: ApiClient, staff: Staff
) -> None:
    saved = (await backoffice.get(f"/api/templates/{staff.templates['de']}")).json()
    before = await template_rows(staff.company_id)
    edited = content(
        saved,
        subject="Rapport {{ order.number }} für {{ client.name }}",
        motivation=(
            "{% if order.materials %}Mit Material.{% else %}Ohne Material.{% endif %}\n"
            "{% for w in order.work_items %}{{ w.description }}{% endfor %}"
        ),
        attachment_filename="",
    )
    answer = await backoffice.post("/api/templates/preview", json=edited)
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["blocks"] == {
        "subject": "Rapport 2026-4711 für Immobilien Müller AG",
        "greeting": "Sehr geehrte Frau Meier,",
        "motivation": "Mit Material.\nBrenner gereinigt, Abgaswerte gemessen",
        "free_text": "",
        "closing": "Freundliche Grüsse",
        "signature": "Lea Keller\nMeier Haustechnik AG\nTel. +41 44 123 45 67",
    }
    # No name given: the usual one, as a draft of it would attach.
    report = "Arbeitsrapport 2026-4711 Immobilien Müller AG 2026-11-25.pdf"
    assert preview["attachments"] == [report]
    assert "Mit Material." in preview["text"]
    assert report in preview["text"]
    assert "Rapport 2026-4711 für Immobilien Müller AG" in preview["html"]
    assert "{%" not in preview["text"] + preview["html"]
    # Nothing of the template changed: not its fields, not its modified time.
    assert await template_rows(staff.company_id) == before


@pytest.mark.parametrize(
    ("field", "source", "code"),
    [
        ("motivation", "Guten Tag\n{{ order.numbr }}", "template_unknown_placeholder"),
        ("subject", "Rapport {{ order.number", "template_syntax"),
        ("closing", "{% set x = 1 %}", "template_not_allowed"),
        ("attachment_filename", "{{ 'x' * 10**9 }}", "template_not_allowed"),
        ("subject", "Rapport\n{{ order.number }}", "unsafe_header"),
    ],
)
async def test_a_broken_template_is_refused_by_the_preview_as_on_saving(
    backoffice: ApiClient, staff: Staff, field: str, source: str, code: str
) -> None:
    saved = (await backoffice.get(f"/api/templates/{staff.templates['de']}")).json()
    preview = await backoffice.post(
        "/api/templates/preview", json=content(saved, **{field: source})
    )
    on_saving = await backoffice.post("/api/templates", json={**NEW, field: source})
    assert preview.status_code == on_saving.status_code == 422, preview.text
    problem = preview.json()
    assert (problem["field"], problem["code"]) == (field, code)
    assert problem == on_saving.json()


async def test_placeholders_are_listed_with_examples(dispatcher: ApiClient) -> None:
    answer = await dispatcher.get("/api/templates/placeholders")
    assert answer.status_code == 200, answer.text
    examples = {p["name"]: p["example"] for p in answer.json()}
    assert examples["order.number"] == "2026-4711"
    assert examples["client.name"] == "Immobilien Müller AG"
    assert examples["contact.last_name"] == "Meier"
    assert examples["building.address"] == "Bahnhofstrasse 12, 8001 Zürich"
    assert examples["employee.first_name"] == "Lea"
    assert examples["company.phone"] == "+41 44 123 45 67"
    assert examples["greeting"] == "Sehr geehrte Frau Meier,"
