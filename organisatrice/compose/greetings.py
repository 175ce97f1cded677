"""Formal greetings and closings per language, from the contact's salutation and name."""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

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

# French greets several people by title alone, in the plural where there are several.
_FRENCH_TITLES = {"ms": ("Madame", "Mesdames"), "mr": ("Monsieur", "Messieurs")}
# More people than this in To read better greeted together than one by one.
MAX_GREETED_BY_NAME = 3

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


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """Someone an email is addressed to, as far as we know them (a typed address: nothing)."""

    salutation: str = "none"
    first_name: str = ""
    last_name: str = ""


def greeting_for_all(people: Sequence[Person], language: str) -> str:
    """The greeting of an email to everyone in To: one person as `greeting` says; two or three
    people with a salutation and a last name each by name, in one line ("Sehr geehrte Frau
    Meier, sehr geehrter Herr Huber,"); otherwise the collective greeting ("Sehr geehrte Damen
    und Herren,"), since naming some and not others would slight the others."""
    language = language_or_default(language)
    if len(people) == 1:
        p = people[0]
        return greeting(
            salutation=p.salutation,
            first_name=p.first_name,
            last_name=p.last_name,
            language=language,
        )
    named = [p for p in people if p.salutation in ("ms", "mr") and p.last_name.strip()]
    if not people or len(named) != len(people) or len(people) > MAX_GREETED_BY_NAME:
        return _GREETINGS[language][3]
    if language == "fr":
        titles = []
        for salutation in ("ms", "mr"):
            count = sum(p.salutation == salutation for p in people)
            if count:
                titles.append(_FRENCH_TITLES[salutation][count > 1])
        return ", ".join(titles) + ","
    lines = [
        greeting(salutation=p.salutation, first_name="", last_name=p.last_name, language=language)
        for p in people
    ]
    # "Sehr geehrte Frau Meier, sehr geehrter Herr Huber,": one sentence, so the later
    # greetings start in lower case.
    return " ".join([lines[0], *(line[0].lower() + line[1:] for line in lines[1:])])
