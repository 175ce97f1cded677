"""The demo's templates: every kind in every language, each one accepted by the template
editor's check, and each one making a proper draft for a demo order."""

from __future__ import annotations

from collections import Counter
from typing import Any

import msgspec
import pytest

from organisatrice.compose.drafts import create_draft
from organisatrice.compose.schemas import AttachmentSource, DraftIn, TemplateIn, TemplateKind
from organisatrice.compose.tables import EmailTemplate
from organisatrice.compose.templates import check_template
from organisatrice.demo import demo_templates, load_demo_data
from organisatrice.orders.services import order_detail
from organisatrice.orders.tables import Photo
from organisatrice.roles.auth import actor_of_employee
from organisatrice.roles.tables import Company, Employee

LANGUAGES = ("de", "fr", "it", "en")
# The schemathesis run signs in as Meier's back-office and changes its company and templates at
# random, so what the demo stored is read back from Rochat, whom that run cannot reach.
DISPATCHER = "dispatcher@rochat.example"
SENDER = "commandes@rochat.example"


@pytest.mark.parametrize("template", demo_templates(), ids=lambda t: f"{t.language}-{t.name}")
async def test_demo_template_passes_the_editors_check(template: TemplateIn) -> None:
    await check_template(template)


def test_demo_has_every_kind_in_every_language() -> None:
    templates = demo_templates()
    kinds = Counter((t.language, t.kind) for t in templates)
    for language in LANGUAGES:
        assert kinds[language, TemplateKind.WORK_REPORT] == 1
        assert kinds[language, TemplateKind.PHOTO_DOCUMENTATION] == 2
        assert kinds[language, TemplateKind.OFFER] == 1
        assert kinds[language, TemplateKind.GENERAL] == 1
        assert kinds[language, TemplateKind.REPLY] == 1
    for t in templates:
        assert t.greeting == "{{ greeting }}"
        if t.kind is TemplateKind.REPLY:
            # The client's own subject, after one "Re:", and their words quoted.
            assert t.subject == "Re: {{ reply.subject }}"
            assert "{{ reply.quote }}" in t.motivation
        else:
            assert "{{ order.number }}" in t.subject
        assert "{{ employee.full_name }}" in t.signature and "{{ company.phone }}" in t.signature
        expected = {
            TemplateKind.WORK_REPORT: [AttachmentSource.WORK_REPORT],
            TemplateKind.PHOTO_DOCUMENTATION: [AttachmentSource.PHOTOS],
            TemplateKind.OFFER: [AttachmentSource.DOCUMENTS],
            TemplateKind.GENERAL: [],
            TemplateKind.REPLY: [],
        }[t.kind]
        assert t.attachments == expected
    photo_variants = {
        (t.language, t.photos_as_pdf)
        for t in templates
        if t.kind is TemplateKind.PHOTO_DOCUMENTATION
    }
    assert photo_variants == {(lang, pdf) for lang in LANGUAGES for pdf in (False, True)}
    names = [(t.language, t.name) for t in templates]
    assert len(set(names)) == len(names)


@pytest.fixture(scope="module")
async def demo() -> None:
    # The same size as the schemathesis run loads, so whichever loads first, both see one demo.
    await load_demo_data(if_empty=False, orders_per_company=12)


async def _employee_id(email: str) -> int:
    row = await Employee.select(Employee.id).where(Employee.email == email).first()
    assert row is not None
    return int(row["id"])


async def _company_of(email: str) -> int:
    row = await Employee.select(Employee.company).where(Employee.email == email).first()
    assert row is not None
    return int(row["company"])


async def test_demo_company_sends_from_its_own_address_with_its_templates(demo: None) -> None:
    company_id = await _company_of(DISPATCHER)
    company = await Company.select(Company.sender_address).where(Company.id == company_id).first()
    assert company is not None and company["sender_address"] == SENDER
    rows = await EmailTemplate.select().where(EmailTemplate.company == company_id)
    stored = sorted(
        (msgspec.convert(_fields(r), TemplateIn) for r in rows), key=lambda t: (t.language, t.name)
    )
    assert stored == sorted(demo_templates(), key=lambda t: (t.language, t.name))


def _fields(row: dict[str, Any]) -> dict[str, Any]:
    return {name: row[name] for name in TemplateIn.__struct_fields__}


REPORT_NAMES = {
    "de": "Arbeitsrapport",
    "fr": "Rapport de travail",
    "it": "Rapporto di lavoro",
    "en": "Work report",
}


async def test_every_demo_template_makes_a_draft_for_a_demo_order(demo: None) -> None:
    # Both companies have the same templates (above); one company's orders show they work.
    actor = await actor_of_employee(await _employee_id(DISPATCHER))
    assert actor is not None
    with_photos = await Photo.select(Photo.order).where(Photo.company == actor.company_id).first()
    assert with_photos is not None
    order = await order_detail(actor, with_photos["order"])
    contact = order.recipients[0]
    # Answers are made from a client's reply (test_answers.py), not picked blank.
    rows = await EmailTemplate.select().where(
        (EmailTemplate.company == actor.company_id) & (EmailTemplate.kind != "reply")
    )
    for row in rows:
        draft = await create_draft(
            actor, order.id, DraftIn(template_id=row["id"], contact_id=contact.contact_id)
        )
        blocks = draft.blocks
        assert order.number in blocks.subject
        assert order.title in blocks.motivation
        assert blocks.greeting.endswith(",")
        assert f"{actor.first_name} {actor.last_name}" in blocks.signature
        kinds = [a.kind for a in draft.attachments]
        if row["kind"] == "work_report":
            assert kinds == ["work_report"]
            name = draft.attachments[0].filename
            assert name.startswith(f"{REPORT_NAMES[row['language']]} {order.number} ")
            assert name.endswith(".pdf")
        elif row["kind"] == "photo_documentation":
            assert set(kinds) == ({"photos_pdf"} if row["photos_as_pdf"] else {"photo"})
        elif row["kind"] == "general":
            assert kinds == []
