"""PATCH /api/orders/{id}/photos/{id}: a photo's caption changed after the upload, by whoever may
add photos to the order; one line of text, at most 500 characters; other companies' and hidden
orders' photos answer 404."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar

from organisatrice.orders.tables import Photo
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import MadeOrder, make_company, make_employee, make_image, make_order


async def upload(client: ApiClient, order: MadeOrder, caption: str = "Zähler") -> dict[str, Any]:
    answer = await client.post(
        f"/api/orders/{order.id}/photos",
        files={"file": ("p.jpg", make_image(), "image/jpeg")},
        data={"caption": caption},
    )
    assert answer.status_code == 201, answer.text
    photo: dict[str, Any] = answer.json()
    return photo


async def caption_of(photo_id: int) -> str:
    row = await Photo.select(Photo.caption).where(Photo.id == photo_id).first()
    assert row is not None
    return str(row["caption"])


def url(order: MadeOrder, photo: dict[str, Any]) -> str:
    return f"/api/orders/{order.id}/photos/{photo['id']}"


async def test_the_caption_is_changed_and_shown_in_the_order(app: Litestar) -> None:
    company = await make_company()
    order = await make_order(company)
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        photo = await upload(client, order)
        answer = await client.patch(url(order, photo), json={"caption": "  Zähler nach Tausch  "})
        assert answer.status_code == 200, answer.text
        assert answer.json()["caption"] == "Zähler nach Tausch"
        assert answer.json()["id"] == photo["id"]
        detail = (await client.get(f"/api/orders/{order.id}")).json()
    assert [p["caption"] for p in detail["photos"]] == ["Zähler nach Tausch"]
    # An empty caption is a photo without one.
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        answer = await client.patch(url(order, photo), json={"caption": ""})
        assert answer.json()["caption"] == ""


@pytest.mark.parametrize(
    ("caption", "status", "says"),
    [
        ("x" * 501, 400, "caption"),
        ("Zeile eins\nBcc: x@y.example", 422, "line breaks"),
        ("mit\ttab", 422, "control characters"),
        ("mit\x85nächster Zeile", 422, "control characters"),
        ("mit\u2028Trenner", 422, "line breaks"),
        ("mit \x00 NUL", 422, "NUL"),
    ],
    ids=["too-long", "line-break", "tab", "c1-next-line", "line-separator", "nul"],
)
async def test_a_bad_caption_is_refused_and_the_old_one_stays(
    app: Litestar, caption: str, status: int, says: str
) -> None:
    company = await make_company()
    order = await make_order(company)
    dispatcher = await make_employee(company)
    async with ApiClient.signed_in(app, dispatcher.email) as client:
        photo = await upload(client, order)
        answer = await client.patch(url(order, photo), json={"caption": caption})
    assert answer.status_code == status, answer.text
    assert says in answer.json()["detail"]
    assert await caption_of(photo["id"]) == "Zähler"


async def test_another_companys_photo_is_not_found(app: Litestar) -> None:
    company = await make_company()
    order = await make_order(company)
    other = await make_company()
    other_order = await make_order(other)
    async with ApiClient.signed_in(app, (await make_employee(company)).email) as client:
        photo = await upload(client, order)
    async with ApiClient.signed_in(app, (await make_employee(other)).email) as client:
        theirs = await upload(client, other_order, "Unser Foto")
        # By the other order's address, and by their own order's address with a foreign photo.
        assert (await client.patch(url(order, photo), json={"caption": "x"})).status_code == 404
        foreign = url(other_order, photo)
        assert (await client.patch(foreign, json={"caption": "x"})).status_code == 404
        assert (await client.patch(url(other_order, theirs), json={"caption": "ok"})).is_success
    assert await caption_of(photo["id"]) == "Zähler"


async def test_a_technician_edits_captions_only_on_orders_he_worked_on(app: Litestar) -> None:
    """The rule book: adding files to an order (and so captioning its photos) is open to every
    role on the orders it can see; a technician sees only his own orders, the others are not
    there for him (404, not 403, so their existence is not given away)."""
    company = await make_company()
    technician = await make_employee(company, roles={Role.TECHNICIAN}, first_name="Luca")
    his = await make_order(company, technician_id=technician.id)
    not_his = await make_order(company)
    async with ApiClient.signed_in(app, (await make_employee(company)).email) as client:
        on_his = await upload(client, his)
        on_other = await upload(client, not_his)
    async with ApiClient.signed_in(app, technician.email) as client:
        answer = await client.patch(url(his, on_his), json={"caption": "Neu"})
        assert answer.status_code == 200, answer.text
        answer = await client.patch(url(not_his, on_other), json={"caption": "Neu"})
        assert answer.status_code == 404, answer.text
    assert await caption_of(on_other["id"]) == "Zähler"


async def test_a_caption_with_a_line_break_is_refused_at_upload_too(app: Litestar) -> None:
    company = await make_company()
    order = await make_order(company)
    async with ApiClient.signed_in(app, (await make_employee(company)).email) as client:
        answer = await client.post(
            f"/api/orders/{order.id}/photos",
            files={"file": ("p.jpg", make_image(), "image/jpeg")},
            data={"caption": "eins\r\nzwei"},
        )
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == "caption"
