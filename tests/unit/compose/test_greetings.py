"""greeting: the formal opening line in the contact's language, from salutation and name."""

from __future__ import annotations

import pytest

from organisatrice.compose.greetings import CLOSINGS, Person, greeting, greeting_for_all


@pytest.mark.parametrize(
    ("language", "salutation", "first", "last", "expected"),
    [
        ("de", "ms", "Anna", "Meier", "Sehr geehrte Frau Meier,"),
        ("de", "mr", "Hans", "Müller", "Sehr geehrter Herr Müller,"),
        ("de", "none", "Kim", "Weber", "Guten Tag Kim Weber,"),
        ("de", "none", "", "", "Sehr geehrte Damen und Herren,"),
        ("fr", "ms", "Claire", "Dubois", "Madame,"),
        ("fr", "mr", "Jean", "Favre", "Monsieur,"),
        ("fr", "none", "Dominique", "Rey", "Bonjour Dominique Rey,"),
        ("fr", "none", "", "", "Madame, Monsieur,"),
        ("it", "ms", "Giulia", "Rossi", "Gentile Signora Rossi,"),
        ("it", "mr", "Luca", "Bernasconi", "Egregio Signor Bernasconi,"),
        ("it", "none", "Andrea", "Conti", "Buongiorno Andrea Conti,"),
        ("it", "none", "", "", "Gentili Signore e Signori,"),
        ("en", "ms", "Jane", "Smith", "Dear Ms Smith,"),
        ("en", "mr", "John", "Smith", "Dear Mr Smith,"),
        ("en", "none", "Sam", "Taylor", "Dear Sam Taylor,"),
        ("en", "none", "", "", "Dear Sir or Madam,"),
    ],
)
def test_greeting_per_language_and_salutation(
    language: str, salutation: str, first: str, last: str, expected: str
) -> None:
    assert (
        greeting(salutation=salutation, first_name=first, last_name=last, language=language)
        == expected
    )


def test_salutation_without_a_last_name_does_not_greet_an_empty_name() -> None:
    assert greeting(salutation="ms", first_name="Anna", last_name="", language="de") == (
        "Guten Tag Anna,"
    )
    assert greeting(salutation="mr", first_name="", last_name=" ", language="en") == (
        "Dear Sir or Madam,"
    )


def test_names_in_any_script_are_kept_as_written() -> None:
    assert greeting(salutation="mr", first_name="Дмитрий", last_name="Иванов", language="en") == (
        "Dear Mr Иванов,"
    )
    assert greeting(salutation="ms", first_name="Zoë", last_name="Müller", language="de") == (
        "Sehr geehrte Frau Müller,"
    )


@pytest.mark.parametrize("language", ["es", "", "DE", "rm"])
def test_unknown_language_falls_back_to_german(language: str) -> None:
    assert greeting(salutation="ms", first_name="Anna", last_name="Meier", language=language) == (
        "Sehr geehrte Frau Meier,"
    )
    assert greeting(salutation="none", first_name="", last_name="", language=language) == (
        "Sehr geehrte Damen und Herren,"
    )


def test_every_language_has_a_closing() -> None:
    assert CLOSINGS == {
        "de": "Freundliche Grüsse",
        "fr": "Meilleures salutations",
        "it": "Cordiali saluti",
        "en": "Kind regards",
    }


@pytest.mark.parametrize(
    ("language", "people", "expected"),
    [
        (
            "de",
            [("ms", "Meier"), ("mr", "Huber")],
            "Sehr geehrte Frau Meier, sehr geehrter Herr Huber,",
        ),
        ("en", [("mr", "Smith"), ("ms", "Jones")], "Dear Mr Smith, dear Ms Jones,"),
        ("it", [("ms", "Rossi"), ("mr", "Conti")], "Gentile Signora Rossi, egregio Signor Conti,"),
        ("fr", [("ms", "Dubois"), ("mr", "Favre")], "Madame, Monsieur,"),
        ("fr", [("ms", "Dubois"), ("ms", "Rey")], "Mesdames,"),
        ("fr", [("mr", "Favre"), ("mr", "Rey"), ("ms", "Dubois")], "Madame, Messieurs,"),
        # Someone in To we cannot name: nobody is named, everyone is greeted together.
        ("de", [("ms", "Meier"), ("none", "")], "Sehr geehrte Damen und Herren,"),
        ("en", [("ms", "Meier"), ("none", "Weber")], "Dear Sir or Madam,"),
        # Four people by name would be a list, not a greeting.
        (
            "de",
            [("ms", "A"), ("ms", "B"), ("mr", "C"), ("mr", "D")],
            "Sehr geehrte Damen und Herren,",
        ),
        ("de", [("mr", "Huber")], "Sehr geehrter Herr Huber,"),
    ],
)
def test_greeting_for_all_addresses_everyone_in_to_or_all_together(
    language: str, people: list[tuple[str, str]], expected: str
) -> None:
    persons = [Person(salutation=s, first_name="X", last_name=last) for s, last in people]
    assert greeting_for_all(persons, language) == expected
