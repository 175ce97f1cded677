"""build_message: the bytes parse back, with Python's own parser, into exactly what was asked for;
no field can add a header; the size is checked against the budget."""

from __future__ import annotations

import email
import email.policy
from datetime import UTC, datetime, timedelta, timezone
from email.header import decode_header, make_header
from email.message import EmailMessage, MIMEPart
from pathlib import Path
from typing import Any

import msgspec
import pytest

from organisatrice.core.errors import Invalid, TooLarge
from organisatrice.mail import message as message_module
from organisatrice.mail.message import (
    Address,
    Attachment,
    BuiltMessage,
    InlineImage,
    MessageSpec,
    build_message,
    check_budget,
    encoded_size,
)

DOMAIN = "meier-service.example"
DATE = datetime(2026, 11, 24, 14, 2, 31, tzinfo=timezone(timedelta(hours=1)))
LOGO = InlineImage("logo@meier-service.example", "image/png", b"\x89PNG\r\n\x1a\n\x00logo")
REPORT = Attachment(
    "Rapport de travail 4711 Dupré SA.pdf", "application/pdf", b"%PDF-1.7\n\x00\xff\xfe" * 300
)
HTML = """<!doctype html>
<html><head><meta charset="utf-8"><style>
p.lead { color: #0a3d62; font-size: 15px }
td { padding: 8px }
@media (max-width: 600px) { p.lead { font-size: 17px } }
</style></head>
<body><table role="presentation"><tr><td>
<img src="cid:logo@meier-service.example" alt="Meier Service AG">
<p class="lead">Sehr geehrte Frau Müller-Lüdenscheidt</p>
</td></tr></table></body></html>"""


def make_spec(**changes: Any) -> MessageSpec:
    spec = MessageSpec(
        sender=Address(f"auftraege@{DOMAIN}", "Zoë Müller-Lüdenscheidt | Meier Service AG"),
        reply_to=Address(f"zoe.mueller@{DOMAIN}", "Zoë Müller-Lüdenscheidt"),
        to=[Address("francois.dupre@dupre-sa.example", "François Dupré")],
        cc=[Address("d.ivanov@stroy.example", "Дмитрий Иванов")],
        bcc=[Address("archiv@meier-service.example", "Archiv")],
        subject="Arbeitsrapport Auftrag 4711 – Bahnhofstrasse 12, Zürich",
        text="Sehr geehrte Frau Müller-Lüdenscheidt\n\nIm Anhang finden Sie den Rapport.\n",
        html=HTML,
        attachments=[REPORT],
        inline_images=[LOGO],
        message_id_domain=DOMAIN,
        date=DATE,
    )
    return msgspec.structs.replace(spec, **changes)


def parse(built: BuiltMessage) -> EmailMessage:
    parsed = email.message_from_bytes(built.data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def tree(part: MIMEPart) -> Any:
    """The content types of `part` and its children, nested as lists."""
    if part.is_multipart():
        return [part.get_content_type(), [tree(child) for child in part.iter_parts()]]
    return part.get_content_type()


def part_of_type(parsed: EmailMessage, content_type: str) -> EmailMessage:
    return next(part for part in parsed.walk() if part.get_content_type() == content_type)


def test_structure_is_mixed_alternative_related() -> None:
    parsed = parse(build_message(make_spec()))

    assert tree(parsed) == [
        "multipart/mixed",
        [
            [
                "multipart/alternative",
                ["text/plain", ["multipart/related", ["text/html", "image/png"]]],
            ],
            "application/pdf",
        ],
    ]
    assert part_of_type(parsed, "multipart/related").get_param("type") == "text/html"


def test_without_attachments_or_images_the_email_is_just_the_alternative() -> None:
    parsed = parse(build_message(make_spec(attachments=[], inline_images=[])))

    assert tree(parsed) == ["multipart/alternative", ["text/plain", "text/html"]]


def test_headers_say_what_the_spec_says() -> None:
    built = build_message(make_spec(headers={"Disposition-Notification-To": f"zoe@{DOMAIN}"}))
    parsed = parse(built)

    assert list(parsed.keys()) == [
        "From",
        "Reply-To",
        "To",
        "Cc",
        "Subject",
        "Date",
        "Message-ID",
        "Disposition-Notification-To",
        "MIME-Version",
        "Content-Type",
    ]
    assert parsed["Subject"] == "Arbeitsrapport Auftrag 4711 – Bahnhofstrasse 12, Zürich"
    assert parsed["Date"].datetime == DATE
    assert parsed["Date"] == "Tue, 24 Nov 2026 14:02:31 +0100"
    assert parsed["Message-ID"] == built.message_id
    assert built.message_id.startswith("<")
    assert built.message_id.endswith(f"@{DOMAIN}>")
    assert parsed["Disposition-Notification-To"] == f"zoe@{DOMAIN}"


@pytest.mark.parametrize(
    "name",
    [
        "Zoë Müller-Lüdenscheidt",
        "François Dupré",
        "Дмитрий Иванов",
        "山田太郎",
        'Meier, Anna (Büro) "Chefin" <Zürich>',
        "Anna Meier | Meier AG",
        "Zoë Müller-Lüdenscheidt | Meier Service AG",
    ],
)
def test_display_names_round_trip_in_every_address_header(name: str) -> None:
    spec = make_spec(
        sender=Address(f"auftraege@{DOMAIN}", name),
        reply_to=Address(f"zoe@{DOMAIN}", name),
        to=[Address("a@dupre-sa.example", name), Address("b@dupre-sa.example", "Zweite")],
        cc=[Address("c@stroy.example", name)],
    )
    parsed = parse(build_message(spec))

    def mailboxes(header: str) -> list[tuple[str, str]]:
        return [(a.display_name, a.addr_spec) for a in parsed[header].addresses]

    assert mailboxes("From") == [(name, f"auftraege@{DOMAIN}")]
    assert mailboxes("Reply-To") == [(name, f"zoe@{DOMAIN}")]
    assert mailboxes("To") == [(name, "a@dupre-sa.example"), ("Zweite", "b@dupre-sa.example")]
    assert mailboxes("Cc") == [(name, "c@stroy.example")]


@pytest.mark.parametrize(
    "name",
    [
        "Zoë Müller-Lüdenscheidt | Sanitär- und Heizungsservice Müller-Lüdenscheidt AG, Zürich",
        "山田太郎 | 株式会社サンプル建設サービス東京本社営業部",
        "Дмитрий Иванов | Строительная компания Ленинградский проспект",
    ],
)
def test_long_display_names_round_trip(name: str) -> None:
    # A long name is folded into several encoded words, sometimes splitting a word between two.
    # RFC 2047 (6.2) says the space between adjacent encoded words is dropped, and mail clients
    # do; Python 3.11's address parser keeps it (CPython gh-128110), so the check decodes the
    # raw header with email.header, which follows the RFC.
    spec = make_spec(
        sender=Address(f"auftraege@{DOMAIN}", name),
        reply_to=Address(f"zoe@{DOMAIN}", name),
        to=[Address("a@dupre-sa.example", name)],
        cc=[Address("c@stroy.example", name)],
    )
    parsed = parse(build_message(spec))

    raw = {header: value.replace("\r\n", "") for header, value in parsed.raw_items()}
    assert str(make_header(decode_header(raw["From"]))) == f"{name} <auftraege@{DOMAIN}>"
    assert str(make_header(decode_header(raw["Reply-To"]))) == f"{name} <zoe@{DOMAIN}>"
    assert str(make_header(decode_header(raw["To"]))) == f"{name} <a@dupre-sa.example>"
    assert str(make_header(decode_header(raw["Cc"]))) == f"{name} <c@stroy.example>"


def test_address_without_name_is_the_bare_address() -> None:
    parsed = parse(build_message(make_spec(to=[Address("anna@meier.example")])))

    assert parsed["To"] == "anna@meier.example"


def test_bcc_is_in_the_envelope_only() -> None:
    built = build_message(make_spec(bcc=[Address("geheim@archiv.example", "Geheim")]))
    parsed = parse(built)

    assert "Bcc" not in parsed
    assert b"geheim" not in built.data.lower()
    assert built.envelope_recipients == [
        "francois.dupre@dupre-sa.example",
        "d.ivanov@stroy.example",
        "geheim@archiv.example",
    ]


def test_envelope_lower_cases_domains_and_drops_duplicates() -> None:
    built = build_message(
        make_spec(
            to=[Address("Anna.Meier@Meier.EXAMPLE"), Address("x@münchen.example")],
            cc=[Address("Anna.Meier@meier.example", "Anna")],
            bcc=[Address("anna.meier@meier.example")],
        )
    )

    # The local part keeps its case: only the domain is case-insensitive (RFC 5321).
    assert built.envelope_recipients == [
        "Anna.Meier@meier.example",
        "x@xn--mnchen-3ya.example",
        "anna.meier@meier.example",
    ]


@pytest.mark.parametrize(
    "subject",
    [
        "Rapport de travail 4711 – Dupré SA, réparation chaudière",
        "Отчёт о работе 4711",  # noqa: RUF001
        "作業報告書 4711",
        "Arbeitsrapport " + "Müller-Lüdenscheidt " * 12,
        "Plain ASCII subject",
        "",
    ],
)
def test_subject_round_trips(subject: str) -> None:
    parsed = parse(build_message(make_spec(subject=subject)))

    assert parsed["Subject"] == subject


@pytest.mark.parametrize(
    "filename",
    [
        "Rapport de travail 4711 Dupré SA.pdf",
        "Arbeitsrapport Müller.pdf",
        "Фотодокументация объекта Иванов, Ленинградский проспект 45, квартира 12.pdf",
        "作業報告書 4711 山田太郎.pdf",
        'Offerte "Heizung" 2026; Teil 1\\2.pdf',
        "Work report 4711 Meier AG 2026-11-24 " + "x" * 80 + ".pdf",
    ],
)
def test_attachment_names_and_bytes_round_trip(filename: str) -> None:
    second = Attachment("Arbeitsrapport Müller.jpg", "image/jpeg", bytes(range(256)) * 40)
    spec = make_spec(attachments=[Attachment(filename, "application/pdf", REPORT.data), second])
    parsed = parse(build_message(spec))

    files = list(parsed.iter_attachments())
    assert [part.get_filename() for part in files] == [filename, second.filename]
    assert [part.get_param("name") for part in files] == [filename, second.filename]
    assert [part.get_content() for part in files] == [REPORT.data, second.data]
    assert [part.get_content_type() for part in files] == ["application/pdf", "image/jpeg"]


def test_text_part_is_the_text() -> None:
    parsed = parse(build_message(make_spec()))

    text = part_of_type(parsed, "text/plain")
    # Parsed from CRLF bytes, the decoded text keeps CRLF line ends.
    assert text.get_content().replace("\r\n", "\n") == make_spec().text
    assert text.get_content_charset() == "utf-8"


def test_html_part_has_inlined_styles_and_keeps_the_style_block() -> None:
    parsed = parse(build_message(make_spec()))

    html = part_of_type(parsed, "text/html").get_content()
    assert '<p class="lead" style="color: #0a3d62;font-size: 15px;">' in html
    assert '<td style="padding: 8px;">' in html
    assert "@media (max-width: 600px)" in html
    assert "Sehr geehrte Frau Müller-Lüdenscheidt" in html


def test_html_loads_no_stylesheet(tmp_path: Path) -> None:
    # A local file proves loading is off altogether: with it on, css-inline reads paths too.
    stylesheet = tmp_path / "evil.css"
    stylesheet.write_text("p { color: #badbad }")
    html = (
        f'<html><head><link rel="stylesheet" href="{stylesheet}">'
        '<link rel="stylesheet" href="https://stylesheets.invalid/evil.css">'
        "</head><body><p>Hallo</p></body></html>"
    )
    parsed = parse(build_message(make_spec(html=html)))

    content = part_of_type(parsed, "text/html").get_content()
    assert "badbad" not in content
    assert "<p>Hallo</p>" in content


def test_unreadable_css_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        build_message(
            make_spec(html='<html><head><style>p { color: red }</style></head><p style="{{">')
        )

    assert refused.value.field == "html"


def test_inline_image_is_referenced_by_content_id() -> None:
    parsed = parse(build_message(make_spec()))

    image = part_of_type(parsed, "image/png")
    assert image["Content-ID"] == "<logo@meier-service.example>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == LOGO.data
    assert 'src="cid:logo@meier-service.example"' in part_of_type(parsed, "text/html").get_content()


def test_bytes_are_crlf_seven_bit_and_folded() -> None:
    data = build_message(make_spec()).data

    assert data.count(b"\n") == data.count(b"\r\n") == data.count(b"\r")
    data.decode("ascii")
    assert max(len(line) for line in data.split(b"\r\n")) <= 78


def test_message_parses_without_defects() -> None:
    parsed = parse(build_message(make_spec(attachments=[REPORT, REPORT], headers={"X-A": "ä"})))

    for part in parsed.walk():
        assert part.defects == []
        for name, value in part.items():
            assert value.defects == (), name


# Each change puts a line break, another control character or an encoded word (which Python
# decodes and then writes out raw) into a value that reaches a header.
INJECTIONS = [
    ({"subject": "Rapport 4711\n"}, "subject", "The subject contains a line break; remove it."),
    ({"subject": "Rapport\r\nBcc: evil@x.example"}, "subject", None),
    ({"subject": "Rapport\rBcc: evil@x.example"}, "subject", None),
    ({"subject": "Rapport\u2028Bcc: evil@x.example"}, "subject", None),
    ({"subject": "Rapport\x85Bcc: evil@x.example"}, "subject", None),
    ({"subject": "Rapport\x00"}, "subject", "The subject contains a null character; remove it."),
    ({"subject": "Rapport\x7f"}, "subject", None),
    ({"subject": "Rapport\tA"}, "subject", "The subject contains a tab; remove it."),
    ({"subject": "=?utf-8?q?x=0D=0ABcc:_evil@x.example?="}, "subject", None),
    ({"sender": Address(f"a@{DOMAIN}", "Zoë\r\nBcc: evil@x.example")}, "sender.name", None),
    ({"sender": Address(f"a@{DOMAIN}\r\nBcc: evil@x.example")}, "sender.email", None),
    ({"reply_to": Address(f"a@{DOMAIN}", "Zoë\n")}, "reply_to.name", None),
    ({"reply_to": Address("a@b.example\r\nBcc: evil@x.example")}, "reply_to.email", None),
    ({"to": [Address("a@b.example\r\nBcc: evil@x.example")]}, "to[0].email", None),
    ({"to": [Address("a@b.example", "Anna\r\nBcc: evil@x.example")]}, "to[0].name", None),
    ({"to": [Address("a@b.example", "=?utf-8?q?A=0D=0ABcc:_e@x.example?=")]}, "to[0].name", None),
    ({"to": [Address("=?utf-8?q?=0D=0ABcc:_e@x.example?=@b.example")]}, "to[0].email", None),
    ({"cc": [Address("ok@b.example"), Address("a@b.example\n")]}, "cc[1].email", None),
    ({"bcc": [Address("a@b.example", "x\r\n")]}, "bcc[0].name", None),
    (
        {"attachments": [Attachment("Rapport.pdf\r\nBcc: evil@x.example", "application/pdf", b"")]},
        "attachments[0].filename",
        "The file name of attachment 1 contains a line break; remove it.",
    ),
    (
        {"attachments": [Attachment("=?utf-8?q?a=0D=0AX:_y?=.pdf", "application/pdf", b"")]},
        "attachments[0].filename",
        None,
    ),
    (
        {"attachments": [Attachment("a.pdf", "application/pdf\r\nBcc: e@x.example", b"")]},
        "attachments[0].content_type",
        None,
    ),
    ({"inline_images": [InlineImage("logo>\r\nBcc: e@x.example", "image/png", b"")]}, None, None),
    ({"headers": {"X-Note": "ok\r\nBcc: evil@x.example"}}, "headers.X-Note", None),
    ({"headers": {"X-Note\r\nBcc": "evil@x.example"}}, None, None),
    ({"headers": {"Bcc": "evil@x.example"}}, "headers.Bcc", None),
    ({"headers": {"content-type": "text/plain"}}, "headers.content-type", None),
    ({"message_id_domain": "meier.example>\r\nBcc: evil@x.example"}, "message_id_domain", None),
]


@pytest.mark.parametrize(("changes", "field", "detail"), INJECTIONS)
def test_no_field_can_add_a_header(
    changes: dict[str, Any], field: str | None, detail: str | None
) -> None:
    with pytest.raises(Invalid) as refused:
        build_message(make_spec(**changes))

    if field is not None:
        assert refused.value.field == field
    if detail is not None:
        assert refused.value.detail == detail


def test_name_error_names_the_address() -> None:
    with pytest.raises(Invalid) as refused:
        build_message(make_spec(to=[Address("anna@meier.example", "Anna\nMeier")]))

    assert refused.value.detail == (
        "The name given for anna@meier.example contains a line break; remove it."
    )


def test_the_written_headers_are_checked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # Without the value checks, Python itself would turn this subject into a Bcc header.
    monkeypatch.setattr(message_module, "refuse_unsafe_header", lambda *args: None)

    with pytest.raises(RuntimeError, match="differ"):
        build_message(make_spec(subject="=?utf-8?q?x=0D=0ABcc:_evil@x.example?="))


@pytest.mark.parametrize(
    "address", ["anna.meier@example", "anna meier@meier.example", "anna@", "@meier.example", ""]
)
def test_invalid_address_is_refused_naming_it(address: str) -> None:
    with pytest.raises(Invalid) as refused:
        build_message(make_spec(cc=[Address("ok@meier.example"), Address(address)]))

    assert refused.value.field == "cc[1].email"
    assert refused.value.detail.startswith(f'Cc address 2 "{address}" is not valid: ')


def test_non_ascii_local_part_is_refused() -> None:
    with pytest.raises(Invalid) as refused:
        build_message(make_spec(to=[Address("zoë@meier.example")]))

    assert refused.value.field == "to[0].email"


def test_an_email_needs_a_recipient() -> None:
    with pytest.raises(Invalid) as refused:
        build_message(make_spec(to=[], cc=[], bcc=[]))

    assert refused.value.field == "to"


def test_bcc_alone_is_enough() -> None:
    built = build_message(make_spec(to=[], cc=[], bcc=[Address("a@b.example")]))

    assert "To" not in parse(built)
    assert built.envelope_recipients == ["a@b.example"]


@pytest.mark.parametrize(
    ("image", "field"),
    [
        (InlineImage(f"logo@{DOMAIN}", "application/pdf", b""), "inline_images[0].content_type"),
        (InlineImage(f"logo@{DOMAIN}", "image", b""), "inline_images[0].content_type"),
        (InlineImage(f"<logo@{DOMAIN}>", "image/png", b""), "inline_images[0].cid"),
        # RFC 2392: a Content-ID names a domain, as a Message-ID does.
        (InlineImage("logo", "image/png", b""), "inline_images[0].cid"),
    ],
)
def test_inline_image_must_be_an_image_with_a_plain_content_id_on_a_domain(
    image: InlineImage, field: str
) -> None:
    with pytest.raises(Invalid) as refused:
        build_message(make_spec(inline_images=[image]))

    assert refused.value.field == field


def test_attachment_needs_a_name() -> None:
    with pytest.raises(Invalid) as refused:
        build_message(make_spec(attachments=[Attachment("  ", "application/pdf", b"x")]))

    assert refused.value.detail == "Attachment 1 has no file name; give it one."


def test_message_id_domain_must_be_a_domain() -> None:
    with pytest.raises(Invalid) as refused:
        build_message(make_spec(message_id_domain="localhost"))

    assert refused.value.field == "message_id_domain"


def test_date_without_time_zone_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="time zone"):
        build_message(make_spec(date=datetime(2026, 11, 24, 14, 2)))


def test_utc_date() -> None:
    parsed = parse(build_message(make_spec(date=datetime(2026, 1, 5, 8, 0, tzinfo=UTC))))

    assert parsed["Date"] == "Mon, 05 Jan 2026 08:00:00 +0000"


def test_size_is_the_length_of_the_bytes() -> None:
    built = build_message(make_spec())

    assert built.size == len(built.data)


@pytest.mark.parametrize("raw_size", [0, 1, 2, 3, 56, 57, 58, 114, 1000, 100_001])
def test_encoded_size_is_what_an_attachment_takes(raw_size: int) -> None:
    data = bytes(range(256)) * (raw_size // 256) + bytes(raw_size % 256)
    spec = make_spec(attachments=[Attachment("a.bin", "application/octet-stream", data)])
    attachment = next(parse(build_message(spec)).iter_attachments())

    assert len(attachment.get_payload()) == encoded_size(raw_size)
    assert encoded_size(raw_size) <= raw_size * 1.37 + 8


def test_over_budget_says_by_how_much_and_what_to_remove() -> None:
    built = BuiltMessage(data=b"", message_id="<x@y>", envelope_recipients=[], size=12_400_000)

    with pytest.raises(TooLarge) as refused:
        check_budget(built, 10_000_000)

    assert refused.value.detail == (
        "The email is 12.4 MB, 2.4 MB over the 10 MB limit; remove photos or attachments."
    )


def test_just_over_budget_never_reads_zero() -> None:
    built = BuiltMessage(data=b"", message_id="<x@y>", envelope_recipients=[], size=10_000_001)

    with pytest.raises(TooLarge, match=r"10\.1 MB, 0\.1 MB over the 10 MB limit"):
        check_budget(built, 10_000_000)


def test_within_budget_passes() -> None:
    built = build_message(make_spec())

    check_budget(built, built.size)
    with pytest.raises(TooLarge):
        check_budget(built, built.size - 1)
