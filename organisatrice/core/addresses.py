"""Email address validation, one way for the whole app (email-validator, no DNS look-up)."""

from __future__ import annotations

import re

import msgspec
from email_validator import SPECIAL_USE_DOMAIN_NAMES, EmailNotValidError, validate_email
from email_validator.rfc_constants import CASE_INSENSITIVE_MAILBOX_NAMES

from organisatrice.core.codes import Code
from organisatrice.core.errors import Invalid


class ValidAddress(msgspec.Struct, frozen=True):
    local_part: str
    ascii_domain: str

    @property
    def email(self) -> str:
        return f"{self.local_part}@{self.ascii_domain}"


# The addresses nearly everyone has: a dot-atom of ASCII before the @, host names of letters,
# digits and hyphens after it. email-validator accepts each of them as it is (its tests:
# tests/unit/core/test_addresses.py), and takes 26 µs an address, most of an import's time;
# this answers such an address in one match. Anything else goes to email-validator.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
# Every top-level domain ends with a letter.
_TLD = r"[A-Za-z](?:[A-Za-z0-9-]{0,61}[A-Za-z])?"
_PLAIN = re.compile(rf"(?P<local>{_ATEXT}(?:\.{_ATEXT})*)@(?P<domain>(?:{_LABEL}\.)+{_TLD})")
_SPECIAL_USE = frozenset(SPECIAL_USE_DOMAIN_NAMES)
_CASE_INSENSITIVE = frozenset(CASE_INSENSITIVE_MAILBOX_NAMES)


def _plain(email: str) -> ValidAddress | None:
    found = _PLAIN.fullmatch(email)
    if found is None:
        return None
    local, domain = found.group("local"), found.group("domain").lower()
    if len(local) > 64 or len(domain) > 253 or len(email) > 254:
        return None
    if domain.rsplit(".", 1)[-1] in _SPECIAL_USE:
        return None
    # "ab--…" is reserved for IDNA ("xn--" is Punycode, which email-validator decodes and checks).
    if "--" in domain and any(label[2:4] == "--" for label in domain.split(".")):
        return None
    if local.lower() in _CASE_INSENSITIVE:
        local = local.lower()  # RFC 2142's role mailboxes: Info@ is info@
    return ValidAddress(local_part=local, ascii_domain=domain)


def valid_address(email: str, *, label: str, field: str) -> ValidAddress:
    """The address split and normalised (domain lower-cased, IDN as ASCII), or Invalid naming
    it. No DNS: a mail server may be unreachable from here while the address is fine; no
    SMTPUTF8: a non-ASCII local part would need it from every relay on the way."""
    plain = _plain(email.strip())
    if plain is not None:
        return plain
    try:
        # Tablet keyboards leave a space after a word; it is never part of an address.
        valid = validate_email(email.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise Invalid(
            f'{label} "{email}" is not valid: {error}',
            code=Code.EMAIL_ADDRESS_INVALID,
            params={"email": email},
            field=field,
        ) from None
    return ValidAddress(local_part=valid.local_part, ascii_domain=valid.ascii_domain.lower())


# "Urs Brunner <urs@example.ch>" or '"Brunner, Urs" <urs@example.ch>': a typed address with the
# name to show in the header.
_NAMED = re.compile(r'\s*(?:"(?P<quoted>[^"]*)"|(?P<name>[^<>"]*?))\s*<(?P<email>[^<>]*)>\s*')


def split_named(text: str) -> tuple[str, str]:
    """A typed address as (name, address): the name before "<address>", or "" for a bare
    address. Neither is checked here: the name as a header, the address by `valid_address`."""
    found = _NAMED.fullmatch(text)
    if found is None:
        return "", text.strip()
    name = found.group("quoted") if found.group("quoted") is not None else found.group("name")
    return name.strip(), found.group("email").strip()
