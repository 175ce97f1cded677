"""Reading what keeps an answer safe to show and to pass on: its HTML without scripts, the MX's
verdicts from the topmost Authentication-Results only, and our own forwarded copy recognised
by its header, never by its text."""

from __future__ import annotations

from email.message import EmailMessage

from organisatrice.mail.forwards import is_our_forward
from organisatrice.mail.replies import auth_checks, read_reply


def test_the_html_part_is_kept_without_scripts_handlers_or_frames() -> None:
    message = EmailMessage()
    message["From"] = "Anna Meier <anna@client.example>"
    message.set_content("Einverstanden.")
    message.add_alternative(
        '<p onclick="steal()">Einverstanden.</p><script>steal()</script>'
        '<iframe src="https://evil.example"></iframe><img src="https://t.example/p.gif">',
        subtype="html",
    )
    read = read_reply(message.as_bytes())
    assert read.text == "Einverstanden."
    assert read.html.strip() == '<p>Einverstanden.</p><img src="https://t.example/p.gif">'


def test_a_plain_text_answer_has_no_html() -> None:
    message = EmailMessage()
    message.set_content("Ok.")
    assert read_reply(message.as_bytes()).html == ""


def test_verdicts_come_from_the_topmost_header_and_unknown_words_are_not_shown() -> None:
    written = (
        "mx.firm.example; spf=softfail smtp.mailfrom=x.example; dkim=bogus; DMARC=FAIL\n"
        "forged.example; spf=pass; dkim=pass; dmarc=pass"
    )
    assert [(c.method, c.result) for c in auth_checks(written)] == [
        ("spf", "softfail"),
        ("dmarc", "fail"),
    ]
    assert auth_checks("") == []
    assert auth_checks("mx.firm.example; none") == []


def test_our_forward_is_known_by_its_header_not_by_words_in_the_body() -> None:
    ours = b"From: office@firm.example\r\nX-Organisatrice-Forward: 12\r\n\r\nHallo\r\n"
    assert is_our_forward(ours)
    assert is_our_forward(ours.replace(b"\r\n", b"\n"))
    quoted = b"From: anna@client.example\r\n\r\nX-Organisatrice-Forward: 12\r\n"
    assert not is_our_forward(quoted)
