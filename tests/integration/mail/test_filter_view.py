"""Each kind of email, with the company's logo, as a spam filter reads it: an ordinary business
message. The HTML says what the text part says, word for word, the attachment list included;
the logo is one image among plenty of text, never the HTML's only content; the Message-ID and
every Content-ID name the sender's domain, and every `cid:` the HTML shows is a part of the
email. Built as the app builds them: the demo's templates of every kind and language, through
`assemble`."""

from __future__ import annotations

import email
import email.policy
from dataclasses import dataclass
from email.message import EmailMessage
from html.parser import HTMLParser

import pytest
from litestar import Litestar

from organisatrice.compose.assemble import Assembled, assemble
from organisatrice.compose.drafts import create_draft
from organisatrice.compose.schemas import DraftIn, TemplateIn, TemplateKind
from organisatrice.core.blobs import blob_store
from organisatrice.demo import demo_templates
from organisatrice.roles.auth import actor_of_employee
from tests.client import ApiClient
from tests.factories import make_image, make_pdf, save_template, set_company
from tests.integration.compose.conftest import (
    SENDER,
    Office,
    make_office,
    make_staff,
    upload_document,
    upload_photo,
)

DOMAIN = SENDER.rsplit("@", 1)[1]
# Answers are made from a client's reply, not picked blank (their email: test_answers.py).
TEMPLATES = [t for t in demo_templates() if t.kind is not TemplateKind.REPLY]


@pytest.fixture(scope="module")
async def office(app: Litestar) -> Office:
    """A company with a logo, and an order with work done, photos and an offer."""
    made = await make_office(await make_staff())
    ref, _ = await blob_store().put(make_image("PNG", size=(240, 80), colour=(194, 65, 12)))
    await set_company(made.company_id, logo_sha256=ref.sha256)
    async with ApiClient.signed_in(app, made.dispatcher.email) as client:
        for n in (1, 2):
            photo = make_image(size=(640, 480), colour=(30 * n, 90, 160))
            await upload_photo(client, made.order.id, photo, f"Heizraum {n}", f"IMG_{n}.jpg")
        await upload_document(client, made.order.id, make_pdf(), "Offerte 4711.pdf", "offer")
    return made


async def built(office: Office, template: TemplateIn) -> Assembled:
    actor = await actor_of_employee(office.dispatcher.id)
    assert actor is not None
    template_id = await save_template(office.company_id, template)
    draft = await create_draft(
        actor,
        office.order.id,
        DraftIn(template_id=template_id, contact_id=office.contacts["anna"]),
    )
    return await assemble(actor, office.order.id, draft.id)


class _Shown(HTMLParser):
    """What a mail program shows of an HTML body: its text (not the <head>), and its images."""

    def __init__(self) -> None:
        super().__init__()
        self.words: list[str] = []
        self.images: list[dict[str, str | None]] = []
        # Images inside a link, which filters count as words of a picture (rspamd's
        # R_SUSPICIOUS_IMAGES).
        self.linked_images = 0
        self._hidden = 0
        self._links = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("head", "style", "title"):
            self._hidden += 1
        elif tag == "a":
            self._links += 1
        elif tag == "img":
            self.images.append(dict(attrs))
            self.linked_images += bool(self._links)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("head", "style", "title"):
            self._hidden -= 1
        elif tag == "a":
            self._links -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.words.extend(data.split())


@dataclass
class FilterView:
    message: EmailMessage
    text_words: list[str]
    html: _Shown
    attachment_names: list[str]


def filter_view(assembled: Assembled) -> FilterView:
    message = email.message_from_bytes(assembled.built.data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    text = message.get_body(preferencelist=("plain",))
    html = message.get_body(preferencelist=("html",))
    assert text is not None and html is not None
    shown = _Shown()
    shown.feed(str(html.get_content()))
    return FilterView(
        message=message,
        text_words=str(text.get_content()).split(),
        html=shown,
        attachment_names=[str(part.get_filename()) for part in message.iter_attachments()],
    )


@pytest.fixture(
    scope="module", params=TEMPLATES, ids=lambda t: f"{t.language}-{t.kind.value}-{t.photos_as_pdf}"
)
async def view(request: pytest.FixtureRequest, office: Office) -> FilterView:
    return filter_view(await built(office, request.param))


def test_the_html_says_word_for_word_what_the_text_part_says(view: FilterView) -> None:
    assert view.html.words == view.text_words


def test_the_text_part_lists_the_attachments_the_html_shows(view: FilterView) -> None:
    text = view.message.get_body(preferencelist=("plain",))
    assert text is not None
    lines = str(text.get_content()).splitlines()
    for name in view.attachment_names:
        assert name in lines


def test_the_logo_is_one_image_among_plenty_of_text(view: FilterView) -> None:
    [logo] = view.html.images
    assert str(logo["src"]).startswith("cid:")
    assert logo["alt"]
    assert view.html.linked_images == 0
    # rspamd's R_EMPTY_IMAGE: an image with less than 50 bytes of text. The shortest kind, the
    # general message, still has sentences: a greeting, a paragraph, a closing, a signature.
    assert len(" ".join(view.html.words).encode()) >= 50
    assert len(view.html.words) >= 25


def test_message_id_and_content_ids_are_on_the_senders_domain(view: FilterView) -> None:
    assert view.message["Message-ID"].endswith(f"@{DOMAIN}>")
    content_ids = [str(p["Content-ID"]) for p in view.message.walk() if p["Content-ID"]]
    assert content_ids
    for content_id in content_ids:
        assert content_id.startswith("<") and content_id.endswith(f"@{DOMAIN}>")
    # Each image the HTML shows is a part of the email.
    shown = {f"<{str(image['src']).removeprefix('cid:')}>" for image in view.html.images}
    assert shown <= set(content_ids)


def test_every_kind_is_text_and_html_with_the_logo_inline(view: FilterView) -> None:
    related = next(p for p in view.message.walk() if p.get_content_type() == "multipart/related")
    assert [p.get_content_type() for p in related.iter_parts()] == ["text/html", "image/png"]
    alternative = next(
        p for p in view.message.walk() if p.get_content_type() == "multipart/alternative"
    )
    assert [p.get_content_type() for p in alternative.iter_parts()] == [
        "text/plain",
        "multipart/related",
    ]
