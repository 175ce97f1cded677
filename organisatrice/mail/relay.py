"""Which relay a company sends through, how the app signs in there (a password, or an OAuth 2.0
grant), and the name it gives in EHLO; passwords, secrets and tokens kept encrypted at rest."""

from __future__ import annotations

import base64
import hashlib
import ipaddress
import socket
from typing import Any, Literal
from urllib.parse import urlsplit

import msgspec
from cryptography.fernet import Fernet, InvalidToken

from organisatrice.core.statements import Statement
from organisatrice.mail.tables import MailRelay
from organisatrice.roles.tables import Company
from organisatrice.settings import get_settings

TlsMode = Literal["none", "starttls", "tls"]
AuthMethod = Literal["password", "microsoft", "google"]
Provider = Literal["microsoft", "google"]


class OAuthGrant(msgspec.Struct, frozen=True, kw_only=True):
    """What the app holds to get an access token for a company's relay (mail/oauth.py)."""

    company_id: int
    provider: Provider
    tenant: str = ""
    client_id: str
    client_secret: str
    refresh_token: str = ""
    # A failure is on record: the next token had clears it.
    failing: bool = False

    @property
    def fingerprint(self) -> str:
        """Changes when back-office changes the grant, so a token of the old one is not used."""
        facts = "\0".join(
            (self.provider, self.tenant, self.client_id, self.client_secret, self.refresh_token)
        )
        return hashlib.sha256(facts.encode()).hexdigest()


class Relay(msgspec.Struct, frozen=True, kw_only=True):
    host: str
    port: int
    tls_mode: TlsMode
    username: str = ""
    password: str = ""
    # Set when the relay wants OAuth 2.0 (SASL XOAUTH2 for `username`) instead of the password.
    oauth: OAuthGrant | None = None
    # The name given in EHLO (never `localhost`, which strict relays penalise).
    helo_name: str = ""
    bounce_domain: str = ""
    # Answers land on the order (mail/replies.py) rather than in the author's mailbox.
    replies_to_order: bool = True
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


def _is_host_name(name: str) -> bool:
    """A dotted DNS name, not an address and not this machine's own name for itself."""
    try:
        ipaddress.ip_address(name)
    except ValueError:
        return "." in name.strip(".") and name.lower() not in ("localhost", "localhost.localdomain")
    return False


def helo_name(sender_domain: str = "") -> str:
    """SMTP_HELO_NAME, else the sending domain, else the app's public host name or this
    machine's, and as a last resort a name that says it is none (RFC 2606)."""
    settings = get_settings()
    for name in (
        settings.smtp_helo_name,
        sender_domain,
        urlsplit(settings.public_url).hostname or "",
        socket.getfqdn(),
    ):
        if name and _is_host_name(name):
            return name.lower()
    return "organisatrice.invalid"


def default_relay(sender_domain: str = "") -> Relay:
    settings = get_settings()
    return Relay(
        host=settings.smtp_host,
        port=settings.smtp_port,
        tls_mode="none",
        helo_name=helo_name(sender_domain),
    )


_RELAY = Statement(
    lambda company: (
        MailRelay.select(
            *MailRelay.all_columns(),
            MailRelay.company.sender_address.as_alias("sender_address"),
            MailRelay.company.email.as_alias("company_email"),
        )
        .where(MailRelay.company == company)
        .first()
    )
)
_SENDER = Statement(
    lambda company: (
        Company.select(Company.sender_address, Company.email).where(Company.id == company).first()
    )
)


def _domain(address: str | None) -> str:
    return (address or "").rpartition("@")[2]


def _grant(company_id: int, row: dict[str, Any]) -> OAuthGrant | None:
    method = row["auth_method"]
    if method not in ("microsoft", "google"):
        return None
    return OAuthGrant(
        company_id=company_id,
        provider=method,
        tenant=row["oauth_tenant"],
        client_id=row["oauth_client_id"],
        client_secret=decrypt_password(row["oauth_client_secret_encrypted"]),
        refresh_token=decrypt_password(row["oauth_refresh_token_encrypted"]),
        failing=bool(row["oauth_failure"]),
    )


async def relay_of(company_id: int) -> Relay:
    row = await _RELAY.first(company_id)
    if row is None:
        company = await _SENDER.first(company_id)
        sender = (company["sender_address"] or company["email"]) if company else ""
        return default_relay(_domain(sender))
    return Relay(
        host=row["host"],
        port=row["port"],
        tls_mode=row["tls_mode"],
        username=row["username"],
        password=decrypt_password(row["password_encrypted"]),
        oauth=_grant(company_id, row),
        helo_name=helo_name(_domain(row["sender_address"] or row["company_email"])),
        bounce_domain=row["bounce_domain"],
        replies_to_order=row["replies_to_order"],
        daily_limit=row["daily_limit"],
        monthly_limit=row["monthly_limit"],
        guarded=True,
    )
