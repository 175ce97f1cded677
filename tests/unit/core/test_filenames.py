"""safe_filename: what a person typed, harmless on disk and in a mail header."""

from __future__ import annotations

import unicodedata

import pytest

from organisatrice.core.filenames import MAX_LENGTH, safe_filename


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("Offerte 4711.pdf", "Offerte 4711.pdf"),
        ("Offerte 4711", "Offerte 4711.pdf"),
        ("Offerte.PDF", "Offerte.pdf"),
        ("/etc/passwd", "passwd.pdf"),
        ("../../secret.pdf", "secret.pdf"),
        ("C:\\Users\\eva\\Plan EG.pdf", "Plan EG.pdf"),
        ("folder/", "file.pdf"),
        ("", "file.pdf"),
        (".pdf", "file.pdf"),
        ("...", "file.pdf"),
        (".hidden", "hidden.pdf"),
        ("virus.exe", "virus.exe.pdf"),
        ('a:b*c?d"e<f>g|h.pdf', "a b c d e f g h.pdf"),
        ("line\r\nBcc: evil@example.com.pdf", "line Bcc evil@example.com.pdf"),
        ("tab\there\x00.pdf", "tab here.pdf"),
        ("Off\x9berte.pdf", "Off erte.pdf"),
        ("  many    spaces  .pdf", "many spaces.pdf"),
        ("Bericht Müller – Zürich.pdf", "Bericht Müller – Zürich.pdf"),
    ],
)
def test_safe_filename(given: str, kept: str) -> None:
    assert safe_filename(given, extension=".pdf") == kept


def test_name_is_composed_to_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Zählerstand.pdf")
    assert safe_filename(decomposed, extension=".pdf") == unicodedata.normalize(
        "NFC", "Zählerstand.pdf"
    )


def test_long_name_is_cut_but_keeps_its_extension() -> None:
    kept = safe_filename("x" * 500 + ".pdf", extension=".pdf")
    assert len(kept) == MAX_LENGTH
    assert kept.endswith("x.pdf")


def test_extension_given_is_the_one_kept() -> None:
    assert safe_filename("photo.heic", extension=".jpg") == "photo.heic.jpg"
    assert safe_filename("PHOTO.JPG", extension=".jpg") == "PHOTO.jpg"


def test_line_breaking_characters_become_spaces() -> None:
    for odd in ("\u2028", "\u2029", "\x85", "\x0b"):
        assert safe_filename(f"Bericht{odd}Meier", extension=".pdf") == "Bericht Meier.pdf"


@pytest.mark.parametrize("odd", ["\u202e", "\u2066", "\u200b", "\ufeff"])
def test_invisible_and_direction_changing_characters_are_removed(odd: str) -> None:
    kept = safe_filename(f"Rechnung{odd}fdp.exe", extension=".pdf")
    assert odd not in kept
