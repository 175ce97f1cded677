"""Formal greetings and closings per language, from the contact's salutation and name."""

from __future__ import annotations

LANGUAGES = ("de", "fr", "it", "en")

# (to a woman, to a man, to a named person of no stated salutation, to nobody in particular)
_GREETINGS = {
    "de": (
        "Sehr geehrte Frau {last},",
        "Sehr geehrter Herr {last},",
        "Guten Tag {full},",
        "Sehr geehrte Damen und Herren,",
    ),
    # French letters greet without the name.
    "fr": ("Madame,", "Monsieur,", "Bonjour {full},", "Madame, Monsieur,"),
    "it": (
        "Gentile Signora {last},",
        "Egregio Signor {last},",
        "Buongiorno {full},",
        "Gentili Signore e Signori,",
    ),
    "en": ("Dear Ms {last},", "Dear Mr {last},", "Dear {full},", "Dear Sir or Madam,"),
}

CLOSINGS = {
    "de": "Freundliche Grüsse",
    "fr": "Meilleures salutations",
    "it": "Cordiali saluti",
    "en": "Kind regards",
}


def language_or_default(language: str, default: str = "de") -> str:
    return language if language in LANGUAGES else default


def greeting(*, salutation: str, first_name: str, last_name: str, language: str) -> str:
    """'Sehr geehrte Frau Meier,', 'Madame,', 'Dear Mr Smith,'; neutral without a name."""
    to_woman, to_man, to_named, neutral = _GREETINGS[language_or_default(language)]
    first, last = first_name.strip(), last_name.strip()
    full = f"{first} {last}".strip()
    if salutation == "ms" and last:
        return to_woman.format(last=last)
    if salutation == "mr" and last:
        return to_man.format(last=last)
    if full:
        return to_named.format(full=full)
    return neutral
