"""The rules of an answer to a client's reply: one "Re:" before their subject, their words
quoted, and the thread's Message-IDs carried over without anything else their headers held."""

from __future__ import annotations

import pytest

from organisatrice.compose.answers import (
    MAX_REFERENCES,
    answer_subject,
    message_ids,
    quoted,
    references,
)


@pytest.mark.parametrize(
    "subject",
    [
        "Arbeitsrapport 4711",
        "Re: Arbeitsrapport 4711",
        "AW: Re: Arbeitsrapport 4711",
        "RE[2]: Arbeitsrapport 4711",
        "R: Arbeitsrapport 4711",
        "RIF: Arbeitsrapport 4711",
        "Réf. : Arbeitsrapport 4711",
        "  sv:re:Arbeitsrapport 4711",
    ],
)
def test_the_answer_subject_loses_every_answer_mark(subject: str) -> None:
    assert answer_subject(subject) == "Arbeitsrapport 4711"


def test_a_subject_that_only_starts_like_a_mark_keeps_it() -> None:
    assert answer_subject("Reparatur: Heizung") == "Reparatur: Heizung"


def test_what_the_client_wrote_is_quoted_line_by_line() -> None:
    assert quoted("Ja.\n\nBitte am Montag.\n") == "> Ja.\n>\n> Bitte am Montag."


def test_only_message_ids_cross_into_our_headers() -> None:
    value = "<a@x.example>\r\nBcc: evil@x.example <b@x.example> text <c d@x> <\x00@x>"
    assert message_ids(value) == ["<a@x.example>", "<b@x.example>"]


def test_references_are_their_thread_then_their_message_each_once() -> None:
    assert references("<1@a> <2@a>", "<2@a>", "<3@a>") == ["<1@a>", "<2@a>", "<3@a>"]
    # A program that writes no References still names what it answered.
    assert references("", "<2@a>", "<3@a>") == ["<2@a>", "<3@a>"]
    assert references("<3@a>", "", "<3@a>") == ["<3@a>"]


def test_a_long_thread_keeps_its_first_message_and_the_newest() -> None:
    thread = " ".join(f"<{n}@a>" for n in range(1, 51))
    kept = references(thread, "", "<51@a>")
    assert len(kept) == MAX_REFERENCES
    assert kept[0] == "<1@a>" and kept[-1] == "<51@a>" and kept[-2] == "<50@a>"
