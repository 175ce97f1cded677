"""An office ready to email: a company with its sending address, a dispatcher, a work report
template per language, and per test an order with work done at a building and its contacts in
several languages; and the few HTTP steps every compose test takes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from litestar import Litestar

from organisatrice.compose.schemas import AttachmentSource, TemplateIn, TemplateKind
from organisatrice.compose.tables import Draft
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import (
    MadeEmployee,
    MadeOrder,
    make_client,
    make_company,
    make_contact,
    make_employee,
    make_material,
    make_order,
    make_work_item,
    save_template,
    set_company,
)

SENDER = "auftraege@meier.example"
COMPANY = "Meier Haustechnik AG"
PHONE = "+41 44 455 12 80"
CLIENT = "Immobilien Müller AG"
STREET = "Bahnhofstrasse 12"
WORK = (
    ("Brenner gereinigt, Abgaswerte gemessen", 2.5),
    ("Umwälzpumpe ersetzt und Anlage entlüftet", 1.25),
)

WORDS = {
    "de": (
        "Arbeitsrapport {{ order.number }}",
        "Im Anhang finden Sie den Arbeitsrapport zum Auftrag {{ order.number }} an der "
        "{{ building.address }}.",
        "Freundliche Grüsse",
        "Arbeitsrapport {{ order.number }} {{ client.name }}",
    ),
    "fr": (
        "Rapport de travail {{ order.number }}",
        "Veuillez trouver ci-joint le rapport de travail de la commande {{ order.number }}, "
        "{{ building.address }}.",
        "Meilleures salutations",
        "Rapport de travail {{ order.number }}",
    ),
    "it": (
        "Rapporto di lavoro {{ order.number }}",
        "In allegato trova il rapporto di lavoro dell'ordine {{ order.number }}, "
        "{{ building.address }}.",
        "Cordiali saluti",
        "Rapporto di lavoro {{ order.number }}",
    ),
    "en": (
        "Work report {{ order.number }}",
        "Please find attached the work report for order {{ order.number }} at "
        "{{ building.address }}.",
        "Kind regards",
        "Work report {{ order.number }}",
    ),
}


def work_report_template(language: str, **changes: Any) -> TemplateIn:
    subject, motivation, closing, filename = WORDS[language]
    fields: dict[str, Any] = {
        "kind": TemplateKind.WORK_REPORT,
        "language": language,
        "name": f"Work report ({language})",
        "subject": subject,
        "greeting": "{{ greeting }}",
        "motivation": motivation,
        "closing": closing,
        "signature": "{{ employee.full_name }}\n{{ company.name }}\nTel. {{ company.phone }}",
        "attachment_filename": filename,
        "attachments": [AttachmentSource.WORK_REPORT],
    }
    fields.update(changes)
    return TemplateIn(**fields)


@dataclass
class Staff:
    """A company ready to email, shared by the tests of a module: its sending address, a
    dispatcher and a technician, a work report template per language."""

    company_id: int
    dispatcher: MadeEmployee
    technician: MadeEmployee
    # A work report template per language.
    templates: dict[str, int]


@dataclass
class Office(Staff):
    """The staff and, per test, an order with work done at a building and its contacts."""

    order: MadeOrder
    # Contacts of the order's client and building, by who they are.
    contacts: dict[str, int]

    @property
    def drafts_url(self) -> str:
        return f"/api/orders/{self.order.id}/drafts"

    def draft_url(self, draft_id: int) -> str:
        return f"{self.drafts_url}/{draft_id}"


async def make_staff(*, first_name: str = "Lea", last_name: str = "Keller") -> Staff:
    company_id = await make_company(COMPANY)
    await set_company(company_id, sender_address=SENDER, phone=PHONE, email="info@meier.example")
    dispatcher = await make_employee(
        company_id, roles={Role.DISPATCHER}, first_name=first_name, last_name=last_name
    )
    technician = await make_employee(
        company_id, roles={Role.TECHNICIAN}, first_name="Tom", last_name="Roth"
    )
    templates = {
        language: await save_template(company_id, work_report_template(language))
        for language in WORDS
    }
    return Staff(
        company_id=company_id,
        dispatcher=dispatcher,
        technician=technician,
        templates=templates,
    )


async def make_office(staff: Staff) -> Office:
    company_id = staff.company_id
    client_id = await make_client(company_id, CLIENT)
    order = await make_order(company_id, client_id=client_id, street=STREET)
    for description, hours in WORK:
        await make_work_item(
            company_id, order.id, staff.technician.id, hours=hours, description=description
        )
    await make_material(company_id, order.id, article="Dichtung 3/4", quantity=2)
    building_id = order.building_ids[0]
    contacts = {
        "anna": await make_contact(
            company_id, client_id=client_id, email="anna.meier@kunde.example"
        ),
        "claire": await make_contact(
            company_id,
            building_id=building_id,
            first_name="Claire",
            last_name="Dubois",
            email="claire.dubois@regie.example",
            language="fr",
        ),
        "john": await make_contact(
            company_id,
            client_id=client_id,
            first_name="John",
            last_name="Smith",
            salutation="mr",
            email="john.smith@owner.example",
            language="en",
        ),
        "desk": await make_contact(
            company_id,
            client_id=client_id,
            first_name="",
            last_name="",
            salutation="none",
            email="verwaltung@kunde.example",
        ),
    }
    return Office(**vars(staff), order=order, contacts=contacts)


# Signing in takes an argon2 hash check, so the staff and their sessions live per module;
# each test gets its own order.


@pytest.fixture(scope="module")
async def staff() -> Staff:
    return await make_staff()


@pytest.fixture
async def office(staff: Staff) -> Office:
    return await make_office(staff)


@pytest.fixture(scope="module")
async def dispatcher(app: Litestar, staff: Staff) -> AsyncIterator[ApiClient]:
    async with ApiClient.signed_in(app, staff.dispatcher.email) as client:
        yield client


async def new_draft(
    client: ApiClient,
    office: Office,
    *,
    template_id: int | None = None,
    contact: str | None = "anna",
    address: str | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"template_id": template_id or office.templates["de"]}
    if address is not None:
        body["address"] = address
    elif contact is not None:
        body["contact_id"] = office.contacts[contact]
    answer = await client.post(office.drafts_url, json=body)
    assert answer.status_code == 201, answer.text
    draft: dict[str, Any] = answer.json()
    return draft


async def upload_document(
    client: ApiClient, order_id: int, data: bytes, filename: str, kind: str = "other"
) -> dict[str, Any]:
    answer = await client.post(
        f"/api/orders/{order_id}/documents",
        files={"file": (filename, data, "application/octet-stream")},
        data={"kind": kind},
    )
    assert answer.status_code == 201, answer.text
    document: dict[str, Any] = answer.json()
    return document


async def upload_photo(
    client: ApiClient, order_id: int, data: bytes, caption: str = "", filename: str = "IMG.jpg"
) -> dict[str, Any]:
    answer = await client.post(
        f"/api/orders/{order_id}/photos",
        files={"file": (filename, data, "image/jpeg")},
        data={"caption": caption},
    )
    assert answer.status_code == 201, answer.text
    photo: dict[str, Any] = answer.json()
    return photo


async def draft_count(order_id: int) -> int:
    return int(await Draft.count().where(Draft.order == order_id))
