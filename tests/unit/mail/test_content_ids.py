"""Every Content-ID has the sender's domain, like the Message-ID: new ones are made so, and an
email archived with the logo's old `<logo>` is sent again with a Content-ID on the domain and the
HTML pointing at it."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import UTC, datetime
from email.message import EmailMessage, MIMEPart

from organisatrice.mail.message import (
    Address,
    InlineImage,
    MessageSpec,
    build_message,
    content_id,
    resent_spec,
)

DOMAIN = "meier-service.example"
PNG = b"\x89PNG\r\n\x1a\n\x00logo"


def parse(data: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def html_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("html",))
    assert part is not None
    return str(part.get_content())


def content_ids(message: EmailMessage) -> list[str]:
    return [str(part["Content-ID"]) for part in message.walk() if part["Content-ID"]]


def test_a_content_id_is_unique_and_on_the_domain() -> None:
    first, second = content_id("logo", DOMAIN), content_id("logo", DOMAIN)

    assert re.fullmatch(rf"logo\.[0-9a-f]{{16}}@{re.escape(DOMAIN)}", first)
    assert first != second


def test_a_content_id_on_an_international_domain_is_written_in_ascii() -> None:
    cid = content_id("logo", "bäckerei-müller.example")

    assert cid.endswith("@xn--bckerei-mller-bfb28a.example")
    assert cid.isascii()


def archived_with_the_old_logo() -> bytes:
    """An email as the app built it before Content-IDs had a domain."""
    message = EmailMessage(policy=email.policy.SMTP)
    message["From"] = f"Meier Service AG <auftraege@{DOMAIN}>"
    message["To"] = "anna.meier@kunde.example"
    message["Subject"] = "Arbeitsrapport 4711"
    message["Message-ID"] = f"<old.1@{DOMAIN}>"
    message.set_content("Guten Tag\n")
    html = MIMEPart(policy=email.policy.SMTP)
    html.set_content(
        '<html><body><img src="cid:logo" alt="Meier"><p>Guten Tag</p></body></html>', "html"
    )
    logo = MIMEPart(policy=email.policy.SMTP)
    logo.set_content(PNG, "image", "png", disposition="inline", cid="<logo>")
    related = MIMEPart(policy=email.policy.SMTP)
    related["Content-Type"] = 'multipart/related; type="text/html"'
    related.attach(html)
    related.attach(logo)
    message.make_alternative()
    message.attach(related)
    return message.as_bytes()


def test_an_old_email_is_resent_with_the_logo_on_the_domain_and_the_html_following() -> None:
    spec = resent_spec(
        archived_with_the_old_logo(),
        to=[Address("anna.meier@kunde.example")],
        cc=[],
        bcc=[],
        date=datetime.now(UTC),
    )
    [image] = spec.inline_images
    assert image.cid.startswith("logo.") and image.cid.endswith(f"@{DOMAIN}")
    assert image.data == PNG

    message = parse(build_message(spec).data)
    assert content_ids(message) == [f"<{image.cid}>"]
    html = html_of(message)
    assert f'src="cid:{image.cid}"' in html
    assert 'src="cid:logo"' not in html
    assert message["Message-ID"].endswith(f"@{DOMAIN}>")


def test_a_resend_gives_the_logo_a_new_content_id_and_keeps_the_html_in_step() -> None:
    cid = content_id("logo", DOMAIN)
    first = build_message(
        MessageSpec(
            sender=Address(f"auftraege@{DOMAIN}"),
            reply_to=None,
            to=[Address("anna.meier@kunde.example")],
            cc=[],
            bcc=[],
            subject="Arbeitsrapport 4711",
            text="Guten Tag\n",
            html=f'<img src="cid:{cid}" alt="Meier"><p>Guten Tag</p>',
            attachments=[],
            inline_images=[InlineImage(cid, "image/png", PNG)],
            message_id_domain=DOMAIN,
            date=datetime.now(UTC),
        )
    )
    spec = resent_spec(
        first.data, to=[Address("b@kunde.example")], cc=[], bcc=[], date=datetime.now(UTC)
    )

    [image] = spec.inline_images
    assert image.cid != cid and image.cid.endswith(f"@{DOMAIN}")
    html = html_of(parse(build_message(spec).data))
    assert f'src="cid:{image.cid}"' in html and cid not in html
