"""valid_address: one answer for every address, whether the quick path or email-validator gives
it. The quick path may only ever answer what email-validator would have answered."""

from __future__ import annotations

import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import given, settings
from hypothesis import strategies as st

from organisatrice.core.addresses import _plain, split_named, valid_address
from organisatrice.core.errors import Invalid

ATEXT = "abcXYZ019!#$%&'*+/=?^_`{|}~-"
atoms = st.text(alphabet=ATEXT, min_size=1, max_size=12)
labels = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-", min_size=1, max_size=12)
# Role mailboxes (RFC 2142) are case-insensitive: email-validator lowercases them.
roles = st.sampled_from(["Info", "POSTMASTER", "abuse", "Sales", "www"]).map(lambda r: [r])
addresses = st.builds(
    lambda local, domain, tld: f"{'.'.join(local)}@{'.'.join(domain)}.{tld}",
    st.one_of(st.lists(atoms, min_size=1, max_size=3), roles),
    st.lists(labels, min_size=1, max_size=3),
    st.sampled_from(["ch", "com", "example", "test", "local", "x1", "1x", "c-h", "CH", "onion"]),
)
noise = st.text(alphabet=ATEXT + '.@ -"()[]\\äé', max_size=30)


def _reference(email: str) -> tuple[str, str] | None:
    try:
        found = validate_email(email, check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError:
        return None
    return found.local_part, found.ascii_domain.lower()


@settings(max_examples=3000, deadline=None)
@given(st.one_of(addresses, noise))
def test_the_quick_path_answers_only_what_email_validator_answers(email: str) -> None:
    quick = _plain(email)
    if quick is not None:
        assert _reference(email) == (quick.local_part, quick.ascii_domain)


@pytest.mark.parametrize(
    ("given_address", "kept"),
    [
        ("Anna.Meier@Kunde.EXAMPLE", "Anna.Meier@kunde.example"),
        (" info@hauswart.example ", "info@hauswart.example"),
        ("Info@Hauswart.Example", "info@hauswart.example"),
        ("anna@bücher.example", "anna@xn--bcher-kva.example"),
    ],
)
def test_addresses_are_normalised_the_same_way_on_either_path(
    given_address: str, kept: str
) -> None:
    assert valid_address(given_address, label="Email", field="email").email == kept


@pytest.mark.parametrize(
    "bad", ["anna@", "anna@localhost", "anna@host.test", "a..b@x.example", "änna@x.example"]
)
def test_bad_addresses_are_refused_by_either_path(bad: str) -> None:
    with pytest.raises(Invalid):
        valid_address(bad, label="Email", field="email")


@pytest.mark.parametrize(
    ("typed", "split"),
    [
        ("Urs Brunner <urs@example.ch>", ("Urs Brunner", "urs@example.ch")),
        ('"Brunner, Urs" <urs@example.ch> ', ("Brunner, Urs", "urs@example.ch")),
        ("<urs@example.ch>", ("", "urs@example.ch")),
        (" urs@example.ch ", ("", "urs@example.ch")),
        # Not a name and an address: left whole, for the address check to refuse.
        ("Urs <urs@example.ch> <x@y.ch>", ("", "Urs <urs@example.ch> <x@y.ch>")),
    ],
)
def test_a_typed_address_may_carry_a_name(typed: str, split: tuple[str, str]) -> None:
    assert split_named(typed) == split
