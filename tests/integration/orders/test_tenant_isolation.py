"""Nothing of another company is reachable, by id or by listing: the answer is always 404.
Technicians see only the orders they are responsible for or worked on."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from organisatrice.orders.tables import Document, Photo
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import (
    MadeEmployee,
    make_company,
    make_contact,
    make_employee,
    make_image,
    make_order,
    make_pdf,
    make_work_item,
    stored_blobs,
)


class Company(msgspec.Struct):
    """One company's order with a photo and a document, its client and a contact."""

    employee: MadeEmployee
    order_id: int
    order_number: str
    client_id: int
    contact_id: int
    building_contact_id: int
    photo_id: int
    document_id: int


async def _company_with_files(app: Litestar, name: str) -> Company:
    company = await make_company(name)
    employee = await make_employee(company, roles={Role.DISPATCHER})
    order = await make_order(company, title=f"Auftrag {name}")
    contact = await make_contact(company, client_id=order.client_id, last_name=f"Kontakt {name}")
    building_contact = await make_contact(company, building_id=order.building_ids[0])
    async with ApiClient.signed_in(app, employee.email) as client:
        photo = await client.post(
            f"/api/orders/{order.id}/photos",
            files={"file": ("p.png", make_image("PNG", colour=(len(name), 7, 7)), "image/png")},
        )
        document = await client.post(
            f"/api/orders/{order.id}/documents",
            files={"file": ("o.pdf", make_pdf(name), "application/pdf")},
        )
    assert photo.status_code == document.status_code == 201, (photo.text, document.text)
    return Company(
        employee=employee,
        order_id=order.id,
        order_number=order.number,
        client_id=order.client_id,
        contact_id=contact,
        building_contact_id=building_contact,
        photo_id=photo.json()["id"],
        document_id=document.json()["id"],
    )


@pytest.fixture
async def two_companies(app: Litestar) -> tuple[Company, Company]:
    return await _company_with_files(app, "Alpha"), await _company_with_files(app, "Beta")


def _assert_not_found(answer: httpx.Response) -> None:
    assert answer.status_code == 404, (answer.request.url, answer.status_code, answer.text)
    assert answer.headers["content-type"].startswith("application/problem+json")
    # The answer does not tell "exists elsewhere" from "does not exist".
    assert "Beta" not in answer.text


def _foreign_urls(a: Company, b: Company) -> list[str]:
    return [
        f"/api/orders/{b.order_id}",
        f"/api/orders/{b.order_id}/recipients",
        f"/api/orders/{b.order_id}/photos/{b.photo_id}/image",
        f"/api/orders/{b.order_id}/photos/{b.photo_id}/thumbnail",
        f"/api/orders/{b.order_id}/documents/{b.document_id}/file",
        # One's own order with the other's file ids.
        f"/api/orders/{a.order_id}/photos/{b.photo_id}/image",
        f"/api/orders/{a.order_id}/photos/{b.photo_id}/thumbnail",
        f"/api/orders/{a.order_id}/documents/{b.document_id}/file",
        # The other's order with one's own file ids.
        f"/api/orders/{b.order_id}/photos/{a.photo_id}/image",
        f"/api/orders/{b.order_id}/documents/{a.document_id}/file",
        f"/api/clients/{b.client_id}",
        f"/api/contacts/{b.contact_id}",
        f"/api/contacts/{b.building_contact_id}",
    ]


async def test_employee_gets_404_for_every_id_of_another_company(
    app: Litestar, two_companies: tuple[Company, Company]
) -> None:
    a, b = two_companies
    async with ApiClient.signed_in(app, a.employee.email) as client:
        for url in _foreign_urls(a, b):
            _assert_not_found(await client.get(url))
        # The same addresses with one's own ids work, so the 404s above are about ownership.
        own = [
            f"/api/orders/{a.order_id}",
            f"/api/orders/{a.order_id}/photos/{a.photo_id}/image",
            f"/api/orders/{a.order_id}/photos/{a.photo_id}/thumbnail",
            f"/api/orders/{a.order_id}/documents/{a.document_id}/file",
            f"/api/clients/{a.client_id}",
            f"/api/contacts/{a.contact_id}",
        ]
        for url in own:
            assert (await client.get(url)).status_code == 200, url


async def test_listings_show_nothing_of_another_company(
    app: Litestar, two_companies: tuple[Company, Company]
) -> None:
    a, b = two_companies
    async with ApiClient.signed_in(app, a.employee.email) as client:
        orders = (await client.get("/api/orders", params={"per_page": 100})).json()
        assert [o["id"] for o in orders["items"]] == [a.order_id]
        assert orders["total"] == 1
        for q in (b.order_number, "Beta", "Kontakt"):
            found = (await client.get("/api/orders", params={"q": q})).json()["items"]
            assert b.order_id not in [o["id"] for o in found]
        clients = (await client.get("/api/clients")).json()
        assert [c["id"] for c in clients] == [a.client_id]
        detail = (await client.get(f"/api/clients/{a.client_id}")).json()
        assert b.contact_id not in [c["id"] for c in detail["contacts"]]


async def _counts(order_id: int) -> tuple[int, int]:
    return (
        int(await Photo.count().where(Photo.order == order_id)),
        int(await Document.count().where(Document.order == order_id)),
    )


async def test_uploads_to_another_companys_order_are_404_and_leave_nothing(
    app: Litestar, two_companies: tuple[Company, Company]
) -> None:
    a, b = two_companies
    before = await _counts(b.order_id)
    blobs_before = await stored_blobs()
    async with ApiClient.signed_in(app, a.employee.email) as client:
        photo = await client.post(
            f"/api/orders/{b.order_id}/photos",
            files={"file": ("x.jpg", make_image("JPEG", colour=(3, 141, 59)), "image/jpeg")},
            data={"caption": "sneaked in"},
        )
        document = await client.post(
            f"/api/orders/{b.order_id}/documents",
            files={"file": ("x.pdf", make_pdf("sneaked in"), "application/pdf")},
        )
    _assert_not_found(photo)
    _assert_not_found(document)
    assert await _counts(b.order_id) == before
    assert await stored_blobs() == blobs_before


@pytest.fixture
async def technicians_order(app: Litestar) -> dict[str, Any]:
    company = await make_company()
    responsible = await make_employee(company, roles={Role.TECHNICIAN})
    worker = await make_employee(company, roles={Role.TECHNICIAN})
    bystander = await make_employee(company, roles={Role.TECHNICIAN})
    order = await make_order(company, responsible=[responsible.id])
    await make_work_item(company, order.id, worker.id, hours=3)
    other = await make_order(company)
    return {
        "order": order,
        "other": other,
        "responsible": responsible,
        "worker": worker,
        "bystander": bystander,
    }


async def _sees(app: Litestar, email: str, order_id: int) -> tuple[int, list[int]]:
    async with ApiClient.signed_in(app, email) as client:
        status = (await client.get(f"/api/orders/{order_id}")).status_code
        listed = [o["id"] for o in (await client.get("/api/orders")).json()["items"]]
    return status, listed


async def test_technician_not_on_an_order_gets_404_and_does_not_list_it(
    app: Litestar, technicians_order: dict[str, Any]
) -> None:
    order = technicians_order["order"]
    async with ApiClient.signed_in(app, technicians_order["bystander"].email) as client:
        _assert_not_found(await client.get(f"/api/orders/{order.id}"))
        _assert_not_found(await client.get(f"/api/orders/{order.id}/recipients"))
        _assert_not_found(
            await client.post(
                f"/api/orders/{order.id}/photos",
                files={"file": ("x.jpg", make_image("JPEG"), "image/jpeg")},
            )
        )
        listed = (await client.get("/api/orders")).json()
        assert listed == {"items": [], "total": 0, "page": 1, "per_page": 25}


async def test_technician_who_worked_on_an_order_sees_it(
    app: Litestar, technicians_order: dict[str, Any]
) -> None:
    order = technicians_order["order"]
    status, listed = await _sees(app, technicians_order["worker"].email, order.id)
    assert (status, listed) == (200, [order.id])


async def test_technician_responsible_for_an_order_sees_it(
    app: Litestar, technicians_order: dict[str, Any]
) -> None:
    order = technicians_order["order"]
    status, listed = await _sees(app, technicians_order["responsible"].email, order.id)
    assert (status, listed) == (200, [order.id])
    # ...and only that one of the company's two orders.
    other_status, _ = await _sees(
        app, technicians_order["responsible"].email, technicians_order["other"].id
    )
    assert other_status == 404


async def test_dispatcher_sees_every_order_of_the_company(
    app: Litestar, technicians_order: dict[str, Any]
) -> None:
    company = technicians_order["worker"].company_id
    dispatcher = await make_employee(company, roles={Role.DISPATCHER})
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        listed = (await client.get("/api/orders")).json()
    assert sorted(o["id"] for o in listed["items"]) == sorted(
        [technicians_order["order"].id, technicians_order["other"].id]
    )
