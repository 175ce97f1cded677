"""Email address validation, one way for the whole app (email-validator, no DNS look-up)."""

from __future__ import annotations

import msgspec
from email_validator import EmailNotValidError, validate_email

from organisatrice.core.errors import Invalid


class ValidAddress(msgspec.Struct, frozen=True):
    local_part: str
    ascii_domain: str

    @property
    def email(self) -> str:
        return f"{self.local_part}@{self.ascii_domain}"


def valid_address(email: str, *, label: str, field: str) -> ValidAddress:
    """The address split and normalised (domain lower-cased, IDN as ASCII), or Invalid naming
    it. No DNS: a mail server may be unreachable from here while the address is fine; no
    SMTPUTF8: a non-ASCII local part would need it from every relay on the way."""
    try:
        # Tablet keyboards leave a space after a word; it is never part of an address.
        valid = validate_email(email.strip(), check_deliverability=False, allow_smtputf8=False)
    except EmailNotValidError as error:
        raise Invalid(f'{label} "{email}" is not valid: {error}', field=field) from None
    return ValidAddress(local_part=valid.local_part, ascii_domain=valid.ascii_domain.lower())
