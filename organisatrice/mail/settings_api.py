"""Back-office settings of the mail room: the relay, how the app signs in there (a password, or
OAuth 2.0 with Microsoft 365 or Google Workspace), the send limits, and the relay test that says
step by step what worked and what failed."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from organisatrice.core.codes import Code
from organisatrice.core.db import transaction
from organisatrice.core.errors import Invalid
from organisatrice.core.outbound import MAIL_PORTS, outbound_address
from organisatrice.core.structs import In
from organisatrice.mail import oauth
from organisatrice.mail.outbox import bounce_domain as reports_domain
from organisatrice.mail.outbox import envelope_sender
from organisatrice.mail.relay import (
    AuthMethod,
    OAuthGrant,
    Relay,
    TlsMode,
    decrypt_password,
    default_relay,
    encrypt_password,
    relay_of,
)
from organisatrice.mail.schemas import (
    OAuthConsentOut,
    RelayFindingOut,
    RelayOut,
    RelayStep,
    RelayTestOut,
)
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
    # Clients' answers land on the order instead of the author's mailbox.
    replies_to_order: bool = True
    auth_method: AuthMethod = "password"
    # Microsoft 365: the directory (tenant) id or its domain.
    oauth_tenant: Annotated[str, msgspec.Meta(max_length=100, pattern=r"^[A-Za-z0-9.-]*$")] = ""
    oauth_client_id: Annotated[str, msgspec.Meta(max_length=200, pattern=r"^[A-Za-z0-9._-]*$")] = ""
    # Absent: keep the stored secret; empty: remove it.
    oauth_client_secret: Annotated[str, msgspec.Meta(max_length=500)] | msgspec.UnsetType = (
        msgspec.UNSET
    )


def _out(row: dict[str, Any] | None) -> RelayOut:
    if row is None:
        relay = default_relay()
        return RelayOut(
            host=relay.host,
            port=relay.port,
            tls_mode=relay.tls_mode,
            username="",
            password_set=False,
            bounce_domain="",
            daily_limit=relay.daily_limit,
            monthly_limit=relay.monthly_limit,
            configured=False,
        )
    return RelayOut(
        host=row["host"],
        port=row["port"],
        tls_mode=row["tls_mode"],
        username=row["username"],
        password_set=bool(row["password_encrypted"]),
        bounce_domain=row["bounce_domain"],
        daily_limit=row["daily_limit"],
        monthly_limit=row["monthly_limit"],
        configured=True,
        replies_to_order=row["replies_to_order"],
        auth_method=row["auth_method"],
        oauth_tenant=row["oauth_tenant"],
        oauth_client_id=row["oauth_client_id"],
        oauth_client_secret_set=bool(row["oauth_client_secret_encrypted"]),
        oauth_connected=bool(row["oauth_refresh_token_encrypted"]),
        oauth_failure=row["oauth_failure"],
        oauth_failure_code=row["oauth_failure_code"],
        oauth_failed_at=row["oauth_failed_at"],
    )


async def _row(company_id: int) -> dict[str, Any] | None:
    row: dict[str, Any] | None = (
        await MailRelay.select().where(MailRelay.company == company_id).first()
    )
    return row


async def get_relay(actor: Actor) -> RelayOut:
    return _out(await _row(actor.company_id))


def _check_oauth(data: RelayIn, secret_stored: bool) -> None:
    """The facts each OAuth provider needs, each missing one named by its field."""
    if data.auth_method == "password":
        return
    secret_given = (
        data.oauth_client_secret
        if data.oauth_client_secret is not msgspec.UNSET
        else ("kept" if secret_stored else "")
    )
    if not data.username:
        raise Invalid(
            "Enter the mailbox the app signs in as (the sending account's address).",
            field="username",
            code=Code.OAUTH_MAILBOX_MISSING,
        )
    if data.auth_method == "microsoft" and not data.oauth_tenant:
        raise Invalid(
            "Enter the Microsoft 365 tenant (directory id or domain).",
            field="oauth_tenant",
            code=Code.OAUTH_TENANT_MISSING,
        )
    if not data.oauth_client_id:
        raise Invalid(
            "Enter the client id of the app registration.",
            field="oauth_client_id",
            code=Code.OAUTH_CLIENT_ID_MISSING,
        )
    if not secret_given:
        raise Invalid(
            "Enter the client secret of the app registration.",
            field="oauth_client_secret",
            code=Code.OAUTH_CLIENT_SECRET_MISSING,
        )


async def set_relay(actor: Actor, data: RelayIn) -> RelayOut:
    await outbound_address(data.host, data.port, usual_ports=MAIL_PORTS, field="host")
    if data.monthly_limit < data.daily_limit:
        raise Invalid(
            "The monthly limit cannot be below the daily limit.",
            code=Code.MONTHLY_BELOW_DAILY,
            field="monthly_limit",
        )
    async with transaction():
        row = await _row(actor.company_id)
        before = _out(row)
        _check_oauth(data, bool(row and row["oauth_client_secret_encrypted"]))
        values: dict[str, Any] = {
            "host": data.host,
            "port": data.port,
            "tls_mode": data.tls_mode,
            "username": data.username,
            "bounce_domain": data.bounce_domain.lower(),
            "daily_limit": data.daily_limit,
            "monthly_limit": data.monthly_limit,
            "replies_to_order": data.replies_to_order,
            "auth_method": data.auth_method,
            "oauth_tenant": data.oauth_tenant if data.auth_method == "microsoft" else "",
            "oauth_client_id": data.oauth_client_id if data.auth_method != "password" else "",
        }
        if data.password is not msgspec.UNSET:
            values["password_encrypted"] = encrypt_password(data.password)
        if data.oauth_client_secret is not msgspec.UNSET:
            values["oauth_client_secret_encrypted"] = encrypt_password(data.oauth_client_secret)
        if row is None or any(
            row[name] != values[name] for name in ("auth_method", "oauth_tenant", "oauth_client_id")
        ):
            # Another client or provider: its consent and the last failure no longer apply.
            values.update(
                oauth_refresh_token_encrypted="",
                oauth_failure="",
                oauth_failure_code="",
                oauth_failed_at=None,
            )
        if row is not None:
            await MailRelay.update(values).where(MailRelay.company == actor.company_id)  # type: ignore[arg-type]
        else:
            values.setdefault("password_encrypted", "")
            values.setdefault("oauth_client_secret_encrypted", "")
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
    oauth.forget(actor.company_id)
    return after


async def _google_grant(actor: Actor) -> tuple[OAuthGrant, str]:
    row = await _row(actor.company_id)
    if row is None or row["auth_method"] != "google":
        raise Invalid(
            "Save the relay with Google Workspace sign-in first, then connect the account.",
            field="auth_method",
            code=Code.OAUTH_NOT_GOOGLE,
        )
    grant = OAuthGrant(
        company_id=actor.company_id,
        provider="google",
        client_id=row["oauth_client_id"],
        client_secret=decrypt_password(row["oauth_client_secret_encrypted"]),
    )
    return grant, str(row["username"])


def _session_of(actor: Actor, session_hash: str | None) -> str:
    if not session_hash or actor.token_id is not None:
        raise Invalid(
            "Connect the account from the back-office screen, signed in with a password.",
            code=Code.OAUTH_NEEDS_SESSION,
        )
    return session_hash


async def start_consent(actor: Actor, session_hash: str | None) -> OAuthConsentOut:
    """The provider's consent page for the company's relay account; its state is bound to
    this employee's sign-in session."""
    session = _session_of(actor, session_hash)
    grant, mailbox = await _google_grant(actor)
    url = oauth.consent_url(
        grant, employee_id=actor.employee_id, session=session, login_hint=mailbox
    )
    return OAuthConsentOut(authorization_url=url)


async def finish_consent(
    actor: Actor, session_hash: str | None, *, code: str, state: str, error: str
) -> None:
    """Take the provider's answer: check the state, exchange the code, keep the refresh token
    (encrypted). `Invalid` with a stable code when anything is wrong."""
    session = _session_of(actor, session_hash)
    oauth.check_state(
        state, company_id=actor.company_id, employee_id=actor.employee_id, session=session
    )
    if error or not code:
        raise Invalid(
            f"The provider did not give consent ({error or 'no code'}).",
            code=Code.OAUTH_CONSENT_REFUSED,
        )
    grant, _ = await _google_grant(actor)
    try:
        refresh_token = await oauth.exchange_code(grant, code=code, state=state)
    except oauth.OAuthFailed as failed:
        raise Invalid(failed.text, code=failed.code) from None
    async with transaction():
        before = _out(await _row(actor.company_id))
        await MailRelay.update(
            {
                MailRelay.oauth_refresh_token_encrypted: encrypt_password(refresh_token),
                MailRelay.oauth_failure: "",
                MailRelay.oauth_failure_code: "",
                MailRelay.oauth_failed_at: None,
            }
        ).where(MailRelay.company == actor.company_id)
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


def _finding(
    step: RelayStep, outcome: str, code: str, text: str, reply: str = ""
) -> RelayFindingOut:
    return msgspec.convert(
        {"step": step, "outcome": outcome, "code": code, "text": text, "reply": reply},
        RelayFindingOut,
    )


def _tls_finding(encrypted: bool) -> RelayFindingOut:
    if encrypted:
        return _finding(RelayStep.TLS, "passed", "tls_ok", "The connection is encrypted (TLS).")
    return _finding(
        RelayStep.TLS,
        "warning",
        "tls_off",
        "The connection is not encrypted: choose STARTTLS or TLS if the relay offers it.",
    )


def _failed_at(unavailable: RelayUnavailable, relay: Relay) -> list[RelayFindingOut]:
    """The steps up to the one that failed, and the rest as not tried."""
    order = list(RelayStep)
    failed = RelayStep(unavailable.step)
    findings = []
    for step in order:
        if step is RelayStep.TLS and order.index(step) < order.index(failed):
            findings.append(_tls_finding(relay.tls_mode != "none"))
        elif order.index(step) < order.index(failed):
            findings.append(_finding(step, "passed", f"{step.value}_ok", ""))
        elif step is failed:
            findings.append(
                _finding(step, "failed", unavailable.code, unavailable.text, unavailable.reply)
            )
        else:
            findings.append(_finding(step, "skipped", "not_tried", ""))
    return findings


async def test_relay(actor: Actor) -> RelayTestOut:
    """Connect, say EHLO, sign in as configured, and report step by step what the relay said:
    connection, TLS, sign-in, the sender address, our per-message return address (delivery
    reports can come back), and DSN."""
    relay = await relay_of(actor.company_id)
    sender = await sender_address(actor.company_id)
    bounce_domain = reports_domain(relay, sender) or "invalid"
    return_path = envelope_sender("0" * 32, bounce_domain)
    try:
        async with RelaySession(relay, timeout=min(get_settings().smtp_timeout, 15)) as session:
            client = session.client
            assert client is not None
            dsn = client.supports_extension("dsn")
            tls = client.get_transport_info("sslcontext") is not None
            sender_refused = await probe_sender(session, sender) if sender else None
            refused = await probe_sender(session, return_path)
    except RelayUnavailable as unavailable:
        findings = _failed_at(unavailable, relay)
        return RelayTestOut(
            ok=False, detail=unavailable.text, dsn=False, tracking=False, findings=findings
        )
    findings = [
        _finding(
            RelayStep.CONNECTION,
            "passed",
            "connection_ok",
            f"Connected to {relay.host}:{relay.port} as {relay.helo_name or 'this host'}.",
        ),
        _tls_finding(tls),
    ]
    if relay.oauth is not None:
        findings.append(
            _finding(
                RelayStep.AUTHENTICATION,
                "passed",
                "auth_oauth_ok",
                f"Signed in as {relay.username} with OAuth 2.0 (XOAUTH2).",
            )
        )
    elif relay.username:
        findings.append(
            _finding(
                RelayStep.AUTHENTICATION,
                "passed",
                "auth_ok",
                f"Signed in as {relay.username} with the password.",
            )
        )
    else:
        findings.append(
            _finding(RelayStep.AUTHENTICATION, "skipped", "auth_none", "No sign-in configured.")
        )
    if sender_refused is not None:
        findings.append(
            _finding(
                RelayStep.SENDER,
                "failed",
                "sender_refused",
                f"It refuses the sender address {sender} ({sender_refused.text}): emails "
                "will be refused. Use an address the relay account may send from.",
                sender_refused.text,
            )
        )
    elif sender:
        findings.append(
            _finding(RelayStep.SENDER, "passed", "sender_ok", f"It takes {sender} as the sender.")
        )
    else:
        findings.append(
            _finding(
                RelayStep.SENDER,
                "failed",
                "sender_missing",
                "The company has no sending address: enter one in the company details.",
            )
        )
    if refused is not None:
        findings.append(
            _finding(
                RelayStep.RETURN_PATH,
                "failed",
                "return_path_refused",
                f"It refuses our return address at {bounce_domain} ({refused.text}): delivery "
                "reports cannot come back, statuses will stop at 'sent'. Use a bounce domain "
                "the relay account may send from.",
                refused.text,
            )
        )
    else:
        inbound = get_settings()
        findings.append(
            _finding(
                RelayStep.RETURN_PATH,
                "passed",
                "return_path_ok",
                f"Reports come back if mail for {bounce_domain} reaches the inbound receiver "
                f"({inbound.inbound_host}:{inbound.inbound_port}).",
            )
        )
    if dsn:
        findings.append(
            _finding(
                RelayStep.DSN,
                "passed",
                "dsn_ok",
                "It announces DSN: delivery reports will be requested.",
            )
        )
    else:
        findings.append(
            _finding(
                RelayStep.DSN,
                "warning",
                "dsn_missing",
                "It does not announce DSN: statuses will stop at 'sent' unless it bounces.",
            )
        )
    # The English summary, as before findings existed: what is wrong first.
    by_step = {f.step: f for f in findings}
    notes = [f"Connected to {relay.host}:{relay.port}."]
    notes += [f.text for f in findings if f.outcome == "failed"]
    if refused is None:
        notes += [by_step[RelayStep.DSN].text, by_step[RelayStep.RETURN_PATH].text]
    return RelayTestOut(
        ok=True,
        detail=" ".join(notes),
        dsn=dsn,
        tracking=refused is None,
        findings=findings,
    )
