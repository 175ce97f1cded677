"""The Subject header says exactly the subject: decoded from the bytes sent, by Python's parser and
by `email.header`, it is the subject given, space for space, after a first send and after a resend
(`resent_spec` reads it back from the archived bytes); no header line is longer than 78
characters, and the header never folds before its first word."""

from __future__ import annotations

import email
import email.policy
import random
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.message import EmailMessage

import pytest

from organisatrice.mail.message import (
    Address,
    Attachment,
    BuiltMessage,
    MessageSpec,
    build_message,
    resent_spec,
)

DOMAIN = "meier-service.example"

SUBJECTS = [
    # German: an umlaut at the end, after a postcode (the "8050  Zürich" of issue 17).
    "Arbeitsrapport 4711 Bahnhofstrasse 12, 8050 Zürich",
    "Arbeitsrapport, Auftrag 2026-4711, Überbauung Glattpark, Thurgauerstrasse 117, 8050 Zürich",
    "Fotodokumentation Auftrag 4711 Heizungssanierung Mehrfamilienhaus Müller-Lüdenscheidt Zürich",
    "Offerte für Frau Bäumli",
    # French: accents where the line would fold, a dash, typographic quotes.
    "Rapport de travail, commande 4711, Rue du Marché 3, 1204 Genève",
    "Documentation photo, commande 4711 « Réfection de la façade côté lac », Route de Lausanne 5",
    "Offre Réfection (commande 4711)",
    # Italian: accented last letters.
    "Rapporto di lavoro, ordine 4711, Via della Posta 8, 6900 Lugano – città",
    "Documentazione fotografica, ordine 4711 «Perché la caldaia perde?» presso Piazza Grande",
    # English: ASCII with a non-ASCII name at a fold point.
    "Work report, order 4711, Bahnhofstrasse 12, 8050 Zürich",
    "Photo documentation, order 4711 “Boiler replacement” at 12 Station Road for Mr Ångström",
    "Quotation Boiler replacement (order 4711)",
    # Several spaces between words, beside plain and encoded words.
    "Arbeitsrapport  4711   Zürich",
    "Rapport  de   travail    à Genève",
    "Ordine 4711" + " " * 12 + "città",
    "Zürich  Genève   città    Ångström",
    # Spaces at the ends, which a header value would lose unless encoded.
    " Arbeitsrapport 4711",
    "Arbeitsrapport 4711 ",
    "  Zürich  ",
    # Long runs of non-ASCII words, non-Latin scripts, one word longer than a line.
    "Zürich Genève città " * 6,
    "Отчёт о работе 4711, улица Ленина 5, Санкт-Петербург, квартира 12",  # noqa: RUF001
    "作業報告書 4711 東京都千代田区丸の内一丁目 山田太郎様",
    "Auftrag " + "x" * 90,
    "Auftrag " + "ü" * 60 + " Ende",
    "Signs: a_b =x y=? 100% (Büro) <Zürich> \"quoted\" 'single' ?",
    "Zürich",
    "x",
]


def spec(subject: str) -> MessageSpec:
    return MessageSpec(
        sender=Address(f"auftraege@{DOMAIN}", "Zoë Müller | Meier Service AG"),
        reply_to=None,
        to=[Address("anna.meier@kunde.example", "Anna Meier")],
        cc=[],
        bcc=[],
        subject=subject,
        text="Guten Tag\n",
        html="<p>Guten Tag</p>",
        attachments=[Attachment("Arbeitsrapport.pdf", "application/pdf", b"%PDF-1.7\n")],
        inline_images=[],
        message_id_domain=DOMAIN,
        date=datetime(2026, 11, 24, 14, 2, tzinfo=UTC),
    )


def header_lines(data: bytes) -> list[str]:
    return data[: data.index(b"\r\n\r\n")].decode("ascii").split("\r\n")


def subject_lines(data: bytes) -> list[str]:
    lines = header_lines(data)
    first = next(i for i, line in enumerate(lines) if line.startswith("Subject:"))
    end = first + 1
    while end < len(lines) and lines[end][:1] in (" ", "\t"):
        end += 1
    return lines[first:end]


def decoded_by_email_header(data: bytes) -> str:
    """Unfolded as RFC 5322 says (the line breaks taken out, nothing else), then decoded."""
    value = "".join(subject_lines(data))[len("Subject:") :]
    return str(make_header(decode_header(value.removeprefix(" "))))


def decoded_by_parser(data: bytes) -> str:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return str(message["Subject"])


def resent(built: BuiltMessage) -> MessageSpec:
    return resent_spec(
        built.data,
        to=[Address("anna.meier@kunde.example")],
        cc=[],
        bcc=[],
        date=datetime(2026, 11, 25, 9, 0, tzinfo=UTC),
    )


def check(subject: str, data: bytes) -> None:
    assert decoded_by_parser(data) == subject
    assert decoded_by_email_header(data) == subject
    assert all(len(line) <= 78 for line in header_lines(data))
    # Never "Subject:" alone on its line, the subject starting on the next.
    assert len(subject_lines(data)[0]) > len("Subject: ")


@pytest.mark.parametrize("subject", SUBJECTS)
def test_subject_decodes_to_itself_when_sent_and_resent(subject: str) -> None:
    built = build_message(spec(subject))
    check(subject, built.data)

    again = resent(built)
    assert again.subject == subject
    resent_built = build_message(again)
    check(subject, resent_built.data)
    check(subject, build_message(resent(resent_built)).data)


@pytest.mark.parametrize(
    "subject",
    [
        # Python's folding wrote "8050 " at the end of the line and " =?utf-8?q?Z=C3=BCrich?="
        # on the next: "8050  Zürich" (issue 17).
        "Work report, order 2026-4711, Thurgauerstrasse 117, 8050 Zürich",
        "Fotodokumentation, Auftrag 2026-4711, Heizungssanierung, Überlandstrasse 2, 8050 Zürich",
    ],
)
def test_a_fold_before_an_encoded_word_keeps_its_one_space(subject: str) -> None:
    data = build_message(spec(subject)).data
    lines = subject_lines(data)

    assert len(lines) > 1
    # The space is written once: as the whitespace that begins the next line.
    assert all(not line.endswith(" ") for line in lines)
    assert all(line.startswith(" ") and not line.startswith("  ") for line in lines[1:])
    check(subject, data)


def test_plain_words_stay_readable_and_only_non_ascii_words_are_encoded() -> None:
    [line] = subject_lines(build_message(spec("Arbeitsrapport 4711, 8050 Zürich")).data)

    assert line == "Subject: Arbeitsrapport 4711, 8050 =?utf-8?q?Z=C3=BCrich?="


WORDS = [
    "Arbeitsrapport", "4711", "Bahnhofstrasse", "12,", "8050", "Zürich", "für", "Genève", "città",
    "Rapport", "de", "travail", "Überbauung", "–", "Müller-Lüdenscheidt", "«façade»", "perché",
    "élévation", "Quotation", "order", "Ångström", "作業報告書", "Отчёт", "a_b", "=x", "y?",
    "(Büro)", "\u00a0", "😀",
]  # fmt: skip


def test_hundreds_of_subjects_decode_to_themselves() -> None:
    """Words in four languages, joined by one to twelve spaces, from a few characters to the
    300 a subject may have: each one folds where its length has it fold."""
    draw = random.Random(17)
    for _ in range(400):
        words = [draw.choice(WORDS) for _ in range(draw.randint(1, 24))]
        gaps = [" " * draw.choice((1, 1, 1, 2, 3, 12)) for _ in words]
        subject = "".join(w + g for w, g in zip(words, gaps, strict=True)).rstrip(" ")[:300]
        check(subject, build_message(spec(subject)).data)
