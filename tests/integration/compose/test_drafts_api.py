"""/api/orders/{id}/drafts: a draft is made from a template for a contact or a typed address,
pre-filled in six blocks, edited, saved with a version, reopened; it belongs to its author."""

from __future__ import annotations

import email
import email.policy
from typing import Any

import pytest
from litestar import Litestar

from organisatrice.compose.assemble import assemble
from organisatrice.compose.schemas import AttachmentSource, TemplateKind
from organisatrice.compose.tables import Draft
from organisatrice.mail.tables import SentEmail
from organisatrice.orders.tables import Order
from organisatrice.roles.auth import actor_of_employee
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import (
    make_client,
    make_contact,
    make_employee,
    make_image,
    make_pdf,
    save_template,
)
from tests.integration.compose.conftest import (
    COMPANY,
    PHONE,
    SENDER,
    Office,
    draft_count,
    new_draft,
    upload_document,
    upload_photo,
    work_report_template,
)


async def draft_row(draft_id: int) -> dict[str, Any]:
    row = await Draft.select().where(Draft.id == draft_id).first()
    assert row is not None
    return dict(row)


async def test_draft_is_prefilled_in_six_blocks_for_a_german_contact(
    dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(dispatcher, office, contact="anna")
    number = office.order.number
    assert draft["blocks"] == {
        "subject": f"Arbeitsrapport {number}",
        "greeting": "Sehr geehrte Frau Meier,",
        "motivation": f"Im Anhang finden Sie den Arbeitsrapport zum Auftrag {number} an der "
        "Bahnhofstrasse 12, 8001 Zürich.",
        "free_text": "",
        "closing": "Freundliche Grüsse",
        "signature": f"Lea Keller\n{COMPANY}\nTel. {PHONE}",
    }
    assert draft["kind"] == "work_report" and draft["language"] == "de"
    assert draft["version"] == 1


async def test_sender_is_the_company_address_in_the_employees_name_and_replies_go_to_them(
    dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(dispatcher, office)
    assert draft["sender"] == {
        "email": SENDER,
        "name": f"Lea Keller | {COMPANY}",
        "contact_id": None,
    }
    assert draft["reply_to"] == {
        "email": office.dispatcher.email,
        "name": "Lea Keller",
        "contact_id": None,
    }
    assert draft["recipients"] == {
        "to": [
            {
                "email": "anna.meier@kunde.example",
                "name": "Anna Meier",
                "contact_id": office.contacts["anna"],
            }
        ],
        "cc": [],
        "bcc": [],
    }


@pytest.mark.parametrize(
    ("language", "contact", "greeting", "closing"),
    [
        ("de", "anna", "Sehr geehrte Frau Meier,", "Freundliche Grüsse"),
        ("fr", "claire", "Madame,", "Meilleures salutations"),
        ("en", "john", "Dear Mr Smith,", "Kind regards"),
        ("it", "anna", "Gentile Signora Meier,", "Cordiali saluti"),
        ("de", "desk", "Sehr geehrte Damen und Herren,", "Freundliche Grüsse"),
        ("fr", "desk", "Madame, Monsieur,", "Meilleures salutations"),
        ("en", "desk", "Dear Sir or Madam,", "Kind regards"),
    ],
)
async def test_greeting_follows_salutation_name_and_language(
    dispatcher: ApiClient, office: Office, language: str, contact: str, greeting: str, closing: str
) -> None:
    draft = await new_draft(
        dispatcher, office, template_id=office.templates[language], contact=contact
    )
    assert draft["blocks"]["greeting"] == greeting
    assert draft["blocks"]["closing"] == closing
    assert office.order.number in draft["blocks"]["motivation"]


async def test_typed_address_gets_a_neutral_greeting(dispatcher: ApiClient, office: Office) -> None:
    draft = await new_draft(dispatcher, office, address=" Info@Hauswart.Example ")
    assert draft["recipients"]["to"] == [
        {"email": "info@hauswart.example", "name": "", "contact_id": None}
    ]
    assert draft["blocks"]["greeting"] == "Sehr geehrte Damen und Herren,"


async def test_a_typed_address_carries_its_name_into_the_to_header(
    dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(dispatcher, office, address='"Brunner, Urs" <Urs@Example.CH>')
    assert draft["recipients"]["to"] == [
        {"email": "Urs@example.ch", "name": "Brunner, Urs", "contact_id": None}
    ]
    actor = await actor_of_employee(office.dispatcher.id)
    assert actor is not None
    built = await assemble(actor, office.order.id, draft["id"])
    message = email.message_from_bytes(built.built.data, policy=email.policy.default)
    assert str(message["To"]) == '"Brunner, Urs" <Urs@example.ch>'


@pytest.mark.parametrize(
    "address",
    [
        "not an address",
        "anna@",
        "anna.meier@kunde.example\r\nBcc: x@evil.example",
        "Urs\r\nBcc: x@evil.example <urs@example.ch>",
        "Urs Brunner <not an address>",
    ],
)
async def test_invalid_typed_address_is_refused_and_no_draft_saved(
    dispatcher: ApiClient, office: Office, address: str
) -> None:
    answer = await dispatcher.post(
        office.drafts_url, json={"template_id": office.templates["de"], "address": address}
    )
    assert answer.status_code == 422, answer.text
    assert await draft_count(office.order.id) == 0


async def test_contact_who_is_not_a_recipient_of_the_order_is_not_found(
    dispatcher: ApiClient, office: Office
) -> None:
    other_client = await make_client(office.company_id, "Andere AG")
    stranger = await make_contact(office.company_id, client_id=other_client, email="x@y.example")
    answer = await dispatcher.post(
        office.drafts_url, json={"template_id": office.templates["de"], "contact_id": stranger}
    )
    assert answer.status_code == 404, answer.text
    assert answer.json()["field"] == "contact_id"
    assert await draft_count(office.order.id) == 0


async def test_draft_needs_a_contact_or_an_address(dispatcher: ApiClient, office: Office) -> None:
    answer = await dispatcher.post(office.drafts_url, json={"template_id": office.templates["de"]})
    assert answer.status_code == 422
    assert await draft_count(office.order.id) == 0


# Attachments as the template proposes them.


async def test_work_report_is_named_from_the_templates_pattern(
    dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(dispatcher, office)
    assert draft["attachments"] == [
        {
            "kind": "work_report",
            "filename": f"Arbeitsrapport {office.order.number} Immobilien Müller AG.pdf",
            "photo_ids": [],
            "document_id": None,
        }
    ]


async def test_work_report_without_a_pattern_gets_a_dated_name(
    dispatcher: ApiClient, office: Office
) -> None:
    template_id = await save_template(
        office.company_id, work_report_template("en", attachment_filename="")
    )
    draft = await new_draft(dispatcher, office, template_id=template_id)
    [report] = draft["attachments"]
    name = report["filename"]
    assert name.startswith(f"Work report {office.order.number} Immobilien Müller AG 20")
    assert name.endswith(".pdf")


async def photo_template(office: Office, *, as_pdf: bool) -> int:
    return await save_template(
        office.company_id,
        work_report_template(
            "de",
            kind=TemplateKind.PHOTO_DOCUMENTATION,
            subject="Fotodokumentation {{ order.number }}",
            attachments=[AttachmentSource.PHOTOS],
            photos_as_pdf=as_pdf,
        ),
    )


async def test_photo_documentation_proposes_every_photo_as_an_image(
    dispatcher: ApiClient, office: Office
) -> None:
    first = await upload_photo(dispatcher, office.order.id, make_image(), caption="Heizraum")
    second = await upload_photo(dispatcher, office.order.id, make_image(), filename="IMG_7.jpg")
    draft = await new_draft(
        dispatcher, office, template_id=await photo_template(office, as_pdf=False)
    )
    assert [(a["kind"], a["photo_ids"]) for a in draft["attachments"]] == [
        ("photo", [first["id"]]),
        ("photo", [second["id"]]),
    ]
    assert draft["attachments"][0]["filename"] == "Heizraum.jpg"
    assert draft["attachments"][1]["filename"] == "IMG_7.jpg"


async def test_photo_documentation_as_pdf_proposes_one_pdf_of_all_photos(
    dispatcher: ApiClient, office: Office
) -> None:
    photos = [await upload_photo(dispatcher, office.order.id, make_image()) for _ in range(3)]
    draft = await new_draft(
        dispatcher, office, template_id=await photo_template(office, as_pdf=True)
    )
    assert draft["attachments"] == [
        {
            "kind": "photos_pdf",
            "filename": f"Fotodokumentation {office.order.number}.pdf",
            "photo_ids": [p["id"] for p in photos],
            "document_id": None,
        }
    ]


async def test_a_photo_documentation_without_photos_is_refused_and_nothing_is_queued(
    dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(
        dispatcher, office, template_id=await photo_template(office, as_pdf=False)
    )
    assert draft["attachments"] == []
    for action in ("send", "proof"):
        answer = await dispatcher.post(f"{office.draft_url(draft['id'])}/{action}")
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "no_photos"
        assert "at least one photo" in answer.json()["detail"]
    assert await SentEmail.count().where(SentEmail.order == office.order.id) == 0
    assert await draft_row(draft["id"])  # kept, to be sent once photos are attached


async def test_a_work_report_on_a_planned_order_is_refused_and_nothing_is_queued(
    dispatcher: ApiClient, office: Office
) -> None:
    # A draft made while the work went on, the order set back to planned since.
    draft = await new_draft(dispatcher, office)
    await Order.update({Order.status: "planned"}).where(Order.id == office.order.id)
    for action in ("send", "proof", "preview"):
        answer = await dispatcher.post(f"{office.draft_url(draft['id'])}/{action}")
        assert answer.status_code == 422, answer.text
        assert answer.json()["code"] == "work_report_before_work"
        assert answer.json()["params"] == {"number": office.order.number}
    answer = await dispatcher.post(
        office.drafts_url,
        json={"template_id": office.templates["de"], "contact_id": office.contacts["anna"]},
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "work_report_before_work"
    assert await SentEmail.count().where(SentEmail.order == office.order.id) == 0


async def test_offer_template_proposes_the_orders_offers(
    dispatcher: ApiClient, office: Office
) -> None:
    offer = await upload_document(
        dispatcher, office.order.id, make_pdf("Offerte"), "Offerte 4711.pdf", kind="offer"
    )
    await upload_document(dispatcher, office.order.id, make_pdf("Plan"), "Plan.pdf")
    template_id = await save_template(
        office.company_id,
        work_report_template(
            "de",
            kind=TemplateKind.OFFER,
            subject="Offerte {{ order.number }}",
            attachments=[AttachmentSource.DOCUMENTS],
        ),
    )
    draft = await new_draft(dispatcher, office, template_id=template_id)
    assert draft["attachments"] == [
        {
            "kind": "document",
            "filename": "Offerte 4711.pdf",
            "photo_ids": [],
            "document_id": offer["id"],
        }
    ]


async def test_general_template_proposes_no_attachment(
    dispatcher: ApiClient, office: Office
) -> None:
    await upload_photo(dispatcher, office.order.id, make_image())
    template_id = await save_template(
        office.company_id,
        work_report_template("de", kind=TemplateKind.GENERAL, attachments=[]),
    )
    draft = await new_draft(dispatcher, office, template_id=template_id)
    assert draft["attachments"] == []


# Editing and saving.


def edited_blocks(draft: dict[str, Any], **changes: str) -> dict[str, Any]:
    return {**draft["blocks"], **changes}


async def test_changes_are_saved_and_the_version_moves_on(
    dispatcher: ApiClient, office: Office
) -> None:
    document = await upload_document(dispatcher, office.order.id, make_pdf(), "Plan.pdf")
    draft = await new_draft(dispatcher, office)
    blocks = edited_blocks(draft, free_text="Die Pumpe läuft wieder.\n\nBitte prüfen Sie …")
    recipients = {
        "to": [{"email": "anna.meier@kunde.example", "name": "Anna Meier"}],
        "cc": [{"email": "john.smith@owner.example", "contact_id": office.contacts["john"]}],
        "bcc": [{"email": "archiv@meier.example"}],
    }
    attachments = [
        *draft["attachments"],
        {"kind": "document", "filename": "Grundriss", "document_id": document["id"]},
    ]
    answer = await dispatcher.patch(
        office.draft_url(draft["id"]),
        json={
            "version": 1,
            "blocks": blocks,
            "recipients": recipients,
            "attachments": attachments,
            "read_receipt": True,
        },
    )
    assert answer.status_code == 200, answer.text
    saved = answer.json()
    assert saved["version"] == 2
    assert saved["blocks"] == blocks
    assert [r["email"] for r in saved["recipients"]["cc"]] == ["john.smith@owner.example"]
    assert [r["email"] for r in saved["recipients"]["bcc"]] == ["archiv@meier.example"]
    assert [a["filename"] for a in saved["attachments"]] == [
        draft["attachments"][0]["filename"],
        "Grundriss.pdf",
    ]
    assert saved["read_receipt"] is True
    reopened = (await dispatcher.get(office.draft_url(draft["id"]))).json()
    assert reopened == saved


async def test_greeting_follows_everyone_in_to_until_written_by_hand(
    dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(dispatcher, office, contact="anna")
    anna = draft["recipients"]["to"][0]
    john = {"email": "john.smith@owner.example", "contact_id": office.contacts["john"]}
    both = await dispatcher.patch(
        office.draft_url(draft["id"]),
        json={"version": 1, "recipients": {"to": [anna, john]}},
    )
    assert both.status_code == 200, both.text
    assert both.json()["blocks"]["greeting"] == (
        "Sehr geehrte Frau Meier, sehr geehrter Herr Smith,"
    )
    typed = await dispatcher.patch(
        office.draft_url(draft["id"]),
        json={"version": 2, "recipients": {"to": [anna, john, {"email": "info@hw.example"}]}},
    )
    assert typed.json()["blocks"]["greeting"] == "Sehr geehrte Damen und Herren,"
    back = await dispatcher.patch(
        office.draft_url(draft["id"]), json={"version": 3, "recipients": {"to": [anna]}}
    )
    assert back.json()["blocks"]["greeting"] == "Sehr geehrte Frau Meier,"
    own = {**back.json()["blocks"], "greeting": "Liebe Anna,"}
    kept = await dispatcher.patch(
        office.draft_url(draft["id"]),
        json={"version": 4, "blocks": own, "recipients": {"to": [anna, john]}},
    )
    assert kept.status_code == 200, kept.text
    assert kept.json()["blocks"]["greeting"] == "Liebe Anna,"
    assert (await draft_row(draft["id"]))["version"] == 5


async def test_stale_version_is_a_conflict_and_changes_nothing(
    dispatcher: ApiClient, office: Office
) -> None:
    draft = await new_draft(dispatcher, office)
    url = office.draft_url(draft["id"])
    first = await dispatcher.patch(
        url, json={"version": 1, "blocks": edited_blocks(draft, free_text="vom Tablet")}
    )
    assert first.status_code == 200
    before = await draft_row(draft["id"])
    stale = await dispatcher.patch(
        url, json={"version": 1, "blocks": edited_blocks(draft, free_text="vom Laptop")}
    )
    assert stale.status_code == 409, stale.text
    assert "reload" in stale.json()["detail"]
    assert await draft_row(draft["id"]) == before
    assert (await dispatcher.get(url)).json()["blocks"]["free_text"] == "vom Tablet"


@pytest.mark.parametrize(
    ("kind", "typed", "expected"),
    [
        ("work_report", "../../x.exe", "x.exe.pdf"),
        ("work_report", "C:\\Windows\\Rapport März.pdf", "Rapport März.pdf"),
        ("work_report", 'Rapport: "4711" <final>?', "Rapport 4711 final.pdf"),
        ("work_report", "Rapport\r\nBcc: x@evil.example", "Rapport Bcc x@evil.example.pdf"),
        ("work_report", "\u202egpj.exe", "gpj.exe.pdf"),
        ("work_report", "", "file.pdf"),
        ("document", "Offerte.exe", "Offerte.exe.pdf"),
    ],
)
async def test_edited_filename_keeps_its_extension_and_is_made_safe(
    dispatcher: ApiClient, office: Office, kind: str, typed: str, expected: str
) -> None:
    draft = await new_draft(dispatcher, office)
    attachment: dict[str, Any] = {"kind": kind, "filename": typed}
    if kind == "document":
        document = await upload_document(dispatcher, office.order.id, make_pdf(), "Offerte.pdf")
        attachment["document_id"] = document["id"]
    answer = await dispatcher.patch(
        office.draft_url(draft["id"]), json={"version": 1, "attachments": [attachment]}
    )
    assert answer.status_code == 200, answer.text
    [saved] = answer.json()["attachments"]
    assert saved["filename"] == expected
    assert "/" not in saved["filename"] and "\\" not in saved["filename"]


@pytest.mark.parametrize(
    "change",
    [
        {"blocks": {"subject": "Rapport\r\nBcc: x@evil.example"}},
        {"blocks": {"subject": "Rapport\n"}},
        {"blocks": {"subject": "Rapport\u2028Bcc: x@evil.example"}},
        {"blocks": {"subject": "=?utf-8?q?Rapport=0D=0ABcc:_x@evil.example?="}},
        {"recipients": {"to": [{"email": "anna.meier@kunde.example", "name": "Anna\r\nBcc: x"}]}},
        {"recipients": {"to": [{"email": "anna.meier@kunde.example", "name": "Anna Meier\n"}]}},
        {"recipients": {"to": [{"email": "anna.meier@kunde.example\r\nBcc: x@evil.example"}]}},
        {"recipients": {"to": [], "cc": [{"email": "anna.meier@kunde.example"}]}},
    ],
)
async def test_header_breaking_value_is_refused_and_nothing_saved(
    dispatcher: ApiClient, office: Office, change: dict[str, Any]
) -> None:
    draft = await new_draft(dispatcher, office)
    if "blocks" in change:
        change = {"blocks": edited_blocks(draft, **change["blocks"])}
    before = await draft_row(draft["id"])
    answer = await dispatcher.patch(office.draft_url(draft["id"]), json={"version": 1, **change})
    assert answer.status_code == 422, answer.text
    assert await draft_row(draft["id"]) == before


async def test_attachment_from_another_order_is_refused(
    dispatcher: ApiClient, office: Office
) -> None:
    from tests.factories import make_order

    other = await make_order(office.company_id)
    photo = await upload_photo(dispatcher, other.id, make_image())
    draft = await new_draft(dispatcher, office)
    before = await draft_row(draft["id"])
    answer = await dispatcher.patch(
        office.draft_url(draft["id"]),
        json={
            "version": 1,
            "attachments": [{"kind": "photo", "filename": "x", "photo_ids": [photo["id"]]}],
        },
    )
    assert answer.status_code == 404, answer.text
    assert await draft_row(draft["id"]) == before


# Whose drafts.


async def test_list_shows_only_the_authors_drafts_newest_first(
    app: Litestar, dispatcher: ApiClient, office: Office
) -> None:
    colleague = await make_employee(office.company_id, roles={Role.COORDINATOR})
    async with ApiClient.signed_in(app, colleague.email) as client:
        theirs = await new_draft(client, office, contact="john")
    first = await new_draft(dispatcher, office, contact="anna")
    second = await new_draft(dispatcher, office, contact="claire")
    answer = await dispatcher.get(office.drafts_url)
    assert answer.status_code == 200
    ids = [d["id"] for d in answer.json()]
    assert ids == [second["id"], first["id"]]
    assert theirs["id"] not in ids


async def test_another_employees_draft_does_not_exist_for_me(
    app: Litestar, dispatcher: ApiClient, office: Office
) -> None:
    colleague = await make_employee(office.company_id, roles={Role.DISPATCHER})
    async with ApiClient.signed_in(app, colleague.email) as client:
        theirs = await new_draft(client, office)
    url = office.draft_url(theirs["id"])
    before = await draft_row(theirs["id"])
    answers = [
        await dispatcher.get(url),
        await dispatcher.patch(url, json={"version": 1, "read_receipt": True}),
        await dispatcher.post(f"{url}/preview"),
        await dispatcher.delete(url),
    ]
    assert [a.status_code for a in answers] == [404] * 4
    assert await draft_row(theirs["id"]) == before


async def test_deleted_draft_is_gone(dispatcher: ApiClient, office: Office) -> None:
    draft = await new_draft(dispatcher, office)
    answer = await dispatcher.delete(office.draft_url(draft["id"]))
    assert answer.status_code == 204
    assert (await dispatcher.get(office.draft_url(draft["id"]))).status_code == 404
    assert await draft_count(office.order.id) == 0
