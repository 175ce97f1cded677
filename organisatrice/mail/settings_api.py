"""Back-office settings of the mail room: the relay, its password, the send limits."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from organisatrice.core.db import transaction
from organisatrice.core.errors import Invalid
from organisatrice.core.outbound import MAIL_PORTS, outbound_address
from organisatrice.core.structs import In
from organisatrice.mail.outbox import envelope_sender
from organisatrice.mail.relay import Relay, TlsMode, default_relay, encrypt_password, relay_of
from organisatrice.mail.schemas import RelayOut, RelayTestOut
from organisatrice.mail.smtp import RelaySession, RelayUnavailable, probe_sender
from organisatrice.mail.tables import MailRelay
from organisatrice.roles.audit import record_change
from organisatrice.roles.policy import Actor
from organisatrice.roles.staff import sender_address
from organisatrice.settings import get_settings

HostName = Annotated[str, msgspec.Meta(min_length=1, max_length=253, pattern=r"^[A-Za-z0-9.:-]+$")]


class RelayIn(In):
    host: HostName
    port: Annotated[int, msgspec.Meta(ge=1, le=65535)]
    tls_mode: TlsMode
    username: Annotated[str, msgspec.Meta(max_length=254)] = ""
    # Absent: keep the stored password; empty: remove it.
    password: Annotated[str, msgspec.Meta(max_length=500)] | msgspec.UnsetType = msgspec.UNSET
    bounce_domain: Annotated[str, msgspec.Meta(max_length=253, pattern=r"^[A-Za-z0-9.-]*$")] = ""
    daily_limit: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 300
    monthly_limit: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 1000


def _out(relay: Relay, *, password_set: bool, configured: bool) -> RelayOut:
    return RelayOut(
        host=relay.host,
        port=relay.port,
        tls_mode=relay.tls_mode,
        username=relay.username,
        password_set=password_set,
        bounce_domain=relay.bounce_domain,
        daily_limit=relay.daily_limit,
        monthly_limit=relay.monthly_limit,
        configured=configured,
    )


async def get_relay(actor: Actor) -> RelayOut:
    row = await MailRelay.select().where(MailRelay.company == actor.company_id).first()
    if row is None:
        return _out(default_relay(), password_set=False, configured=False)
    return _out(
        await relay_of(actor.company_id),
        password_set=bool(row["password_encrypted"]),
        configured=True,
    )


async def set_relay(actor: Actor, data: RelayIn) -> RelayOut:
    await outbound_address(data.host, data.port, usual_ports=MAIL_PORTS, field="host")
    if data.monthly_limit < data.daily_limit:
        raise Invalid("The monthly limit cannot be below the daily limit.", field="monthly_limit")
    async with transaction():
        before = await get_relay(actor)
        values: dict[str, Any] = {
            "host": data.host,
            "port": data.port,
            "tls_mode": data.tls_mode,
            "username": data.username,
            "bounce_domain": data.bounce_domain.lower(),
            "daily_limit": data.daily_limit,
            "monthly_limit": data.monthly_limit,
        }
        if data.password is not msgspec.UNSET:
            values["password_encrypted"] = encrypt_password(data.password)
        if before.configured:
            await MailRelay.update(values).where(MailRelay.company == actor.company_id)  # type: ignore[arg-type]
        else:
            values.setdefault("password_encrypted", "")
            await MailRelay.insert(MailRelay(company=actor.company_id, **values))
        after = await get_relay(actor)
        await record_change(
            actor,
            subject="company",
            subject_id=actor.company_id,
            subject_label=actor.company_name,
            field="mail_relay",
            before=msgspec.to_builtins(before),
            after=msgspec.to_builtins(after),
        )
    return after


async def test_relay(actor: Actor) -> RelayTestOut:
    """Connect, say EHLO, sign in if configured, and report what the relay said, and whether
    delivery reports can come back: DSN announced, and our per-message return address taken."""
    relay = await relay_of(actor.company_id)
    sender = await sender_address(actor.company_id)
    bounce_domain = relay.bounce_domain or sender.rsplit("@", 1)[-1] or "invalid"
    try:
        async with RelaySession(relay, timeout=min(get_settings().smtp_timeout, 15)) as session:
            client = session.client
            assert client is not None
            dsn = client.supports_extension("dsn")
            refused = await probe_sender(session, envelope_sender("0" * 32, bounce_domain))
    except RelayUnavailable as unavailable:
        return RelayTestOut(ok=False, detail=unavailable.text, dsn=False, tracking=False)
    notes = [f"Connected to {relay.host}:{relay.port}."]
    if refused is not None:
        notes.append(
            f"It refuses our return address at {bounce_domain} ({refused.text}): delivery "
            "reports cannot come back, statuses will stop at 'sent'. Use a bounce domain the "
            "relay account may send from."
        )
    elif dsn:
        notes.append("It announces DSN: delivery reports will be requested.")
    else:
        notes.append("It does not announce DSN: statuses will stop at 'sent' unless it bounces.")
    if refused is None:
        inbound = get_settings()
        notes.append(
            f"Reports come back if mail for {bounce_domain} reaches the inbound receiver "
            f"({inbound.inbound_host}:{inbound.inbound_port})."
        )
    return RelayTestOut(ok=True, detail=" ".join(notes), dsn=dsn, tracking=refused is None)
