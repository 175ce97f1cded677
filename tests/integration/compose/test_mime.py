"""The email's bytes, as the client's mail program will read them: each block in the text and
the HTML part, the headers, the attachments' names and bytes; for German, French and English
contacts whose names need more than ASCII. Built by `assemble` and shown by the preview."""

from __future__ import annotations

import email
import email.policy
import hashlib
import io
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any

import pytest
from litestar import Litestar
from pypdf import PdfReader

from organisatrice.compose.assemble import Assembled, assemble
from organisatrice.compose.schemas import AttachmentSource
from organisatrice.roles.auth import actor_of_employee
from tests.client import ApiClient
from tests.factories import make_contact, make_pdf, save_template, set_company
from tests.integration.compose.conftest import (
    COMPANY,
    Office,
    Staff,
    make_office,
    make_staff,
    new_draft,
    upload_document,
    work_report_template,
)

SENDER = "office@meier.example"
FREE_TEXT = "Die Heizung läuft wieder.\nBitte beachten Sie <b>die</b> Hinweise & Fotos."


@dataclass(frozen=True)
class Reader:
    language: str
    salutation: str
    first_name: str
    last_name: str
    greeting: str
    report_name: str
    # The work report's file name, from the template's pattern.
    report_file: str
    total_hours: str


READERS = [
    Reader(
        "de",
        "mr",
        "Jürg",
        "Bäumli",
        "Sehr geehrter Herr Bäumli,",
        "Arbeitsrapport",
        "Arbeitsrapport {number} Immobilien Müller AG.pdf",
        "3.75",
    ),
    Reader(
        "fr",
        "ms",
        "Hélène",
        "Dupré-Lefèvre",
        "Madame,",
        "Rapport de travail",
        "Rapport de travail {number}.pdf",
        "3,75",
    ),
    Reader(
        "en",
        "mr",
        "Дмитрий",
        "Иванов",
        "Dear Mr Иванов,",
        "Work report",
        "Work report {number}.pdf",
        "3.75",
    ),
]


@pytest.fixture(scope="module")
async def staff() -> Staff:
    made = await make_staff(first_name="Zoë", last_name="Müller")
    await set_company(made.company_id, sender_address=SENDER)
    return made


class Sent:
    """One email built for a reader: its draft, its bytes parsed, the document it carries."""

    def __init__(
        self, office: Office, draft: dict[str, Any], built: Assembled, document: bytes
    ) -> None:
        self.office = office
        self.draft = draft
        self.built = built
        self.document = document
        message = email.message_from_bytes(built.built.data, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        self.message = message

    @property
    def blocks(self) -> dict[str, str]:
        blocks: dict[str, str] = self.draft["blocks"]
        return blocks

    def body(self, subtype: str) -> str:
        part = self.message.get_body(preferencelist=(subtype,))
        assert part is not None
        return str(part.get_content())


async def build_email(
    dispatcher: ApiClient, office: Office, reader: Reader, *, read_receipt: bool = False
) -> Sent:
    contact = await make_contact(
        office.company_id,
        client_id=office.order.client_id,
        salutation=reader.salutation,
        first_name=reader.first_name,
        last_name=reader.last_name,
        email=f"kunde.{reader.language}@client.example",
        language=reader.language,
    )
    document = make_pdf("Offerte 4711")
    await upload_document(dispatcher, office.order.id, document, "Offerte Küche.pdf", "offer")
    base = work_report_template(reader.language)
    template_id = await save_template(
        office.company_id,
        work_report_template(
            reader.language,
            subject=base.subject + " – {{ contact.last_name }}",
            attachments=[AttachmentSource.WORK_REPORT, AttachmentSource.DOCUMENTS],
        ),
    )
    answer = await dispatcher.post(
        office.drafts_url, json={"template_id": template_id, "contact_id": contact}
    )
    assert answer.status_code == 201, answer.text
    draft = answer.json()
    answer = await dispatcher.patch(
        office.draft_url(draft["id"]),
        json={
            "version": draft["version"],
            "blocks": {**draft["blocks"], "free_text": FREE_TEXT},
            "recipients": {
                **draft["recipients"],
                "cc": [{"email": "john.smith@owner.example", "name": "John Smith"}],
                "bcc": [{"email": "archiv@meier.example"}],
            },
            "read_receipt": read_receipt,
        },
    )
    assert answer.status_code == 200, answer.text
    draft = answer.json()
    actor = await actor_of_employee(office.dispatcher.id)
    assert actor is not None
    built = await assemble(actor, office.order.id, draft["id"])
    return Sent(office, draft, built, document)


@pytest.fixture(scope="module", params=READERS, ids=[r.language for r in READERS])
async def sent(request: pytest.FixtureRequest, staff: Staff, dispatcher: ApiClient) -> Sent:
    """One email per reader, built once for the module's checks."""
    reader: Reader = request.param
    return await build_email(dispatcher, await make_office(staff), reader)


def reader_of(sent: Sent) -> Reader:
    return next(r for r in READERS if r.language == sent.draft["language"])


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def handle_data(self, data: str) -> None:
        if data.strip():
            self.lines.append(data.strip())


def visible_lines(html: str) -> list[str]:
    """The text a mail program shows of the HTML, one entry per line it breaks at."""
    parser = _Text()
    parser.feed(html)
    return parser.lines


def block_lines(blocks: dict[str, str]) -> list[str]:
    return [
        line.strip()
        for name in ("greeting", "motivation", "free_text", "closing", "signature")
        for line in blocks[name].splitlines()
        if line.strip()
    ]


def pdf_text(data: bytes) -> str:
    pages = PdfReader(io.BytesIO(data)).pages
    return " ".join(" ".join(page.extract_text() for page in pages).split())


async def test_headers_name_sender_reader_and_subject(sent: Sent) -> None:
    reader = reader_of(sent)
    message = sent.message
    [sender] = message["From"].addresses
    assert (sender.display_name, sender.addr_spec) == (f"Zoë Müller | {COMPANY}", SENDER)
    [reply_to] = message["Reply-To"].addresses
    assert (reply_to.display_name, reply_to.addr_spec) == (
        "Zoë Müller",
        sent.office.dispatcher.email,
    )
    [to] = message["To"].addresses
    assert to.display_name == f"{reader.first_name} {reader.last_name}"
    assert to.addr_spec == f"kunde.{reader.language}@client.example"
    [cc] = message["Cc"].addresses
    assert (cc.display_name, cc.addr_spec) == ("John Smith", "john.smith@owner.example")
    assert message["Subject"] == sent.blocks["subject"]
    assert message["Subject"].endswith(f" – {reader.last_name}")
    assert sent.office.order.number in message["Subject"]
    assert parsedate_to_datetime(message["Date"]).tzinfo is not None
    assert "Disposition-Notification-To" not in message


def test_bcc_is_delivered_but_never_written(sent: Sent) -> None:
    assert "Bcc" not in sent.message
    assert b"archiv@meier.example" not in sent.built.built.data
    assert "archiv@meier.example" in sent.built.built.envelope_recipients
    assert set(sent.built.built.envelope_recipients) == {
        f"kunde.{reader_of(sent).language}@client.example",
        "john.smith@owner.example",
        "archiv@meier.example",
    }


def test_message_id_is_on_the_senders_domain(sent: Sent) -> None:
    message_id = sent.message["Message-ID"]
    assert message_id == sent.built.built.message_id
    assert message_id.startswith("<") and message_id.endswith("@meier.example>")


def test_bytes_are_seven_bit_clean_whatever_the_names(sent: Sent) -> None:
    # Relays without 8BITMIME pass them unchanged; names travel encoded.
    assert sent.built.built.data.isascii()


def test_text_part_carries_every_block(sent: Sent) -> None:
    text = sent.body("plain")
    lines = [line.strip() for line in text.splitlines()]
    for line in block_lines(sent.blocks):
        assert line in lines
    assert lines[0] == reader_of(sent).greeting
    assert FREE_TEXT.splitlines()[0] in lines


def test_html_part_shows_every_block_and_the_persons_text_as_text(sent: Sent) -> None:
    html = sent.body("html")
    shown = " ".join(visible_lines(html))
    for line in block_lines(sent.blocks):
        assert line in shown
    assert "<b>die</b>" not in html
    assert "&lt;b&gt;die&lt;/b&gt;" in html
    # Styles are inlined for the mail programs that drop the <style> block.
    assert 'style="' in html


def test_attachments_are_the_work_report_and_the_document(sent: Sent) -> None:
    reader = reader_of(sent)
    attachments = list(sent.message.iter_attachments())
    names = [part.get_filename() for part in attachments]
    assert names == [
        reader.report_file.format(number=sent.office.order.number),
        "Offerte Küche.pdf",
    ]
    assert [part.get_content_type() for part in attachments] == ["application/pdf"] * 2
    assert attachments[1].get_content() == sent.document


def test_work_report_pdf_lists_the_order_its_work_and_the_hours(sent: Sent) -> None:
    reader = reader_of(sent)
    report = next(iter(sent.message.iter_attachments())).get_content()
    text = pdf_text(report)
    assert sent.office.order.number in text
    assert "Brenner gereinigt, Abgaswerte gemessen" in text
    assert "Umwälzpumpe ersetzt und Anlage entlüftet" in text
    assert reader.total_hours in text
    assert reader.report_name in text


def test_assembled_attachments_are_recorded_with_size_and_hash(sent: Sent) -> None:
    parts = list(sent.message.iter_attachments())
    assert [(a.filename, a.size, a.sha256) for a in sent.built.attachments] == [
        (
            part.get_filename(),
            len(part.get_content()),
            hashlib.sha256(part.get_content()).hexdigest(),
        )
        for part in parts
    ]


async def test_preview_shows_what_the_client_will_get(sent: Sent, dispatcher: ApiClient) -> None:
    answer = await dispatcher.post(f"{sent.office.draft_url(sent.draft['id'])}/preview")
    assert answer.status_code == 200, answer.text
    preview = answer.json()
    assert preview["subject"] == sent.blocks["subject"]
    assert preview["text"] == sent.body("plain")
    shown = " ".join(visible_lines(preview["html"]))
    for line in block_lines(sent.blocks):
        assert line in shown
    assert [(a["filename"], a["size"]) for a in preview["attachments"]] == [
        (a.filename, a.size) for a in sent.built.attachments
    ]
    assert preview["attachments"][1]["size"] == len(sent.document)
    assert sum(a.size for a in sent.built.attachments) < preview["size"] <= preview["budget"]
    assert preview["budget"] == 10_000_000


async def test_no_company_sending_address_is_a_clear_refusal(app: Litestar) -> None:
    office = await make_office(await make_staff())
    await set_company(office.company_id, sender_address="", email="")
    async with ApiClient.signed_in(app, office.dispatcher.email) as client:
        draft = await new_draft(client, office)
        answer = await client.post(f"{office.draft_url(draft['id'])}/preview")
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"] == (
        "Your company has no sending address yet; back-office sets it in the company settings."
    )


async def test_company_email_is_the_sender_when_no_sending_address_is_set(
    app: Litestar,
) -> None:
    office = await make_office(await make_staff())
    await set_company(office.company_id, sender_address="", email="info@meier.example")
    async with ApiClient.signed_in(app, office.dispatcher.email) as client:
        draft = await new_draft(client, office)
        answer = await client.post(f"{office.draft_url(draft['id'])}/preview")
    assert answer.status_code == 200, answer.text
    assert answer.json()["sender"]["email"] == "info@meier.example"


def test_html_names_the_attachments_in_words_not_with_an_emoji(sent: Sent) -> None:
    """A paperclip emoji has no font on many systems (a box in Debian's Chromium): the list of
    attachments is headed by a word in the reader's language."""
    html = sent.body("html")
    label = {"de": "Anhang", "fr": "Pièces jointes", "en": "Attachments"}[sent.draft["language"]]
    shown = visible_lines(html)
    names = [a.filename for a in sent.built.attachments]
    assert shown[shown.index(label) + 1 : shown.index(label) + 1 + len(names)] == names
    assert not any(ord(c) > 0xFFFF for c in html)
