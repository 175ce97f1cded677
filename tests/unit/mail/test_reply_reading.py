"""Reading a client's answer: what the client wrote apart from the quoted history, in the reply
layouts of four mail programs in two languages each, automatic answers, and HTML-only mail."""

from __future__ import annotations

from email.message import EmailMessage

import pytest

from organisatrice.mail.replies import read_reply

ORIGINAL = "Guten Tag Frau Meier\nIm Anhang finden Sie den Arbeitsrapport zum Auftrag 2026-0004."


def _quoted(text: str) -> str:
    return "\n".join(f"> {line}" for line in text.splitlines())


# (mail program and language, the answer's body, what the client wrote)
LAYOUTS = [
    (
        "outlook de",
        "Bitte senden Sie auch die Fotos.\n\n"
        "Von: Eva Muster <eva@firm.example>\nGesendet: Freitag, 5. Dezember 2026 10:12\n"
        "An: Anna Meier <anna@client.example>\nBetreff: Arbeitsrapport 2026-0004\n\n" + ORIGINAL,
        "Bitte senden Sie auch die Fotos.",
    ),
    (
        "outlook fr",
        "D'accord, merci.\n\n"
        "De : Eva Muster <eva@firm.example>\nEnvoyé : vendredi 5 décembre 2026 10:12\n"
        "À : Anna Meier <anna@client.example>\nObjet : Rapport de travail 2026-0004\n\n" + ORIGINAL,
        "D'accord, merci.",
    ),
    (
        "gmail en",
        "Approved, thank you.\n\nOn Fri, 5 Dec 2026 at 10:12, Eva Muster <eva@firm.example> "
        "wrote:\n" + _quoted(ORIGINAL),
        "Approved, thank you.",
    ),
    (
        "gmail it",
        "Va bene, grazie.\n\nIl giorno ven 5 dic 2026 alle ore 10:12 Eva Muster "
        "<eva@firm.example> ha scritto:\n" + _quoted(ORIGINAL),
        "Va bene, grazie.",
    ),
    (
        "apple mail de",
        "Die Adresse ist falsch: Seestrasse 12, nicht 21.\n\n"
        "> Am 05.12.2026 um 10:12 schrieb Eva Muster <eva@firm.example>:\n>\n" + _quoted(ORIGINAL),
        "Die Adresse ist falsch: Seestrasse 12, nicht 21.",
    ),
    (
        "apple mail fr",
        "Parfait.\n\n> Le 5 déc. 2026 à 10:12, Eva Muster <eva@firm.example> a écrit :\n>\n"
        + _quoted(ORIGINAL),
        "Parfait.",
    ),
    (
        "thunderbird it",
        "Ricevuto.\n\nIl 05.12.26 10:12, Eva Muster ha scritto:\n" + _quoted(ORIGINAL),
        "Ricevuto.",
    ),
    (
        "thunderbird en",
        "Please call me tomorrow.\n\nOn 05.12.26 10:12, Eva Muster wrote:\n" + _quoted(ORIGINAL),
        "Please call me tomorrow.",
    ),
]


def _answer(body: str, **headers: str) -> bytes:
    fields = {
        "From": "Anna Meier <Anna@Client.example>",
        "To": "Eva Muster <reply+0123456789abcdef0123456789abcdef@bounces.test.example>",
        "Subject": "Re: Arbeitsrapport 2026-0004",
        "Message-ID": "<answer.1@client.example>",
        "In-Reply-To": "<sent.1@firm.example>",
    } | {name.replace("_", "-"): value for name, value in headers.items()}
    message = EmailMessage()
    for name, value in fields.items():
        message[name] = value
    message.set_content(body)
    return message.as_bytes()


@pytest.mark.parametrize(("layout", "body", "written"), LAYOUTS, ids=[x[0] for x in LAYOUTS])
def test_the_quoted_history_is_folded_away(layout: str, body: str, written: str) -> None:
    read = read_reply(_answer(body))
    assert read.text == written
    assert "Arbeitsrapport zum Auftrag 2026-0004" in read.quoted
    assert (read.sender, read.sender_name) == ("anna@client.example", "Anna Meier")
    assert read.in_reply_to == "<sent.1@firm.example>"
    assert not read.automatic


@pytest.mark.parametrize(
    "headers",
    [
        {"Auto_Submitted": "auto-replied"},
        {"Subject": "Automatische Antwort: Arbeitsrapport 2026-0004"},
        {"Subject": "Réponse automatique : Rapport"},
        {"X_Autoreply": "yes"},
        {"Precedence": "auto_reply"},
    ],
)
def test_automatic_answers_are_recognised(
    headers: dict[str, str],
) -> None:
    assert read_reply(_answer("Ich bin bis 12. Dezember abwesend.", **headers)).automatic


def test_a_person_writing_about_absence_is_no_automatic_answer() -> None:
    assert not read_reply(_answer("Ich bin nächste Woche abwesend, bitte rufen Sie an.")).automatic


def test_an_html_only_answer_is_read_as_text_without_its_markup() -> None:
    message = EmailMessage()
    message["From"] = "anna@client.example"
    message["Subject"] = "Re: Offerte"
    message.set_content(
        "<html><body><p>Einverstanden.</p><script>alert(1)</script>"
        '<img src="https://tracker.example/x.png"></body></html>',
        subtype="html",
    )
    read = read_reply(message.as_bytes())
    assert "Einverstanden." in read.text
    assert "<" not in read.text and "tracker.example" not in read.text
