"""Which relay a company sends through, with its password kept encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
from typing import Literal

import msgspec
from cryptography.fernet import Fernet, InvalidToken

from organisatrice.core.statements import Statement
from organisatrice.mail.tables import MailRelay
from organisatrice.settings import get_settings

TlsMode = Literal["none", "starttls", "tls"]


class Relay(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    tls_mode: TlsMode
    username: str = ""
    password: str = ""
    bounce_domain: str = ""
    daily_limit: int = 300
    monthly_limit: int = 1000
    # A relay a company configured: its address goes through the outbound guard. The operator's
    # default relay (SMTP_HOST) is the operator's own choice.
    guarded: bool = False


def _fernet() -> Fernet:
    # Derived from SECRET_KEY, so a stolen database alone does not reveal relay passwords.
    key = hashlib.sha256(b"organisatrice relay password\0" + get_settings().secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key.digest()))


def encrypt_password(password: str) -> str:
    return _fernet().encrypt(password.encode()).decode() if password else ""


def decrypt_password(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise RuntimeError(
            "The relay password cannot be decrypted: SECRET_KEY changed since it was saved. "
            "Enter the relay password again in the company settings."
        ) from None


def default_relay() -> Relay:
    settings = get_settings()
    return Relay(host=settings.smtp_host, port=settings.smtp_port, tls_mode="none")


_RELAY = Statement(lambda company: MailRelay.select().where(MailRelay.company == company).first())


async def relay_of(company_id: int) -> Relay:
    row = await _RELAY.first(company_id)
    if row is None:
        return default_relay()
    return Relay(
        host=row["host"],
        port=row["port"],
        tls_mode=row["tls_mode"],
        username=row["username"],
        password=decrypt_password(row["password_encrypted"]),
        bounce_domain=row["bounce_domain"],
        daily_limit=row["daily_limit"],
        monthly_limit=row["monthly_limit"],
        guarded=True,
    )
