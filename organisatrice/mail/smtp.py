"""The only code that speaks SMTP: one connection to a relay, reused for a batch of emails,
each sent as its archived bytes, one transaction per recipient (see mail/outbox.envelopes).

EHLO gives the sending domain's name (or SMTP_HELO_NAME); sign-in is AUTH with the password, or
AUTH XOAUTH2 with an OAuth 2.0 access token (mail/oauth.py). Every step has a timeout, so a
hanging relay never blocks the queue. DSN parameters are sent
only when the relay advertises DSN: a relay without it refuses them (aiosmtpd answers 555).
"""

from __future__ import annotations

import ssl
from types import TracebackType
from typing import Literal

import aiosmtplib
import msgspec

from organisatrice.core.errors import Invalid
from organisatrice.core.outbound import MAIL_PORTS, outbound_address
from organisatrice.mail.oauth import OAuthFailed, access_token, forget
from organisatrice.mail.relay import Relay


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    sender: str
    recipients: list[str]
    data: bytes
    envelope_id: str


class Refusal(msgspec.Struct, frozen=True):
    code: int
    text: str
    # When the relay was not reached at all (SMTP code 0): what failed, as a relay-test code
    # ("connection_refused"), for the UI to word.
    unreached: str = ""

    @property
    def temporary(self) -> bool:
        # Connection failures have no code and are worth another try, like a 4xx.
        return self.code < 500


class DeliveryResult(msgspec.Struct, frozen=True, kw_only=True):
    """What the relay said: a reply for the accepted recipients, a refusal for the others, or
    a refusal of the whole message (then nobody got it)."""

    accepted: list[str]
    reply: str = ""
    refused: dict[str, Refusal] = {}
    whole: Refusal | None = None


RelayStep = Literal["connection", "tls", "authentication"]


class RelayUnavailable(Exception):
    """No session with the relay: `step` is where it failed, `code` what failed there (stable,
    for the UI to word), `text` the English sentence, `reply` the relay's own answer when it
    gave one ("535 5.7.8 Authentication failed")."""

    def __init__(
        self, text: str, *, step: RelayStep = "connection", code: str = "", reply: str = ""
    ) -> None:
        super().__init__(text)
        self.text = text
        self.step: RelayStep = step
        self.code = code or f"{step}_failed"
        self.reply = reply


class Failure(msgspec.Struct, frozen=True):
    """What went wrong connecting to a relay: the step, a stable code, the English words and
    the relay's own SMTP reply when it gave one."""

    step: RelayStep
    code: str
    reason: str
    reply: str = ""


def connection_failure(error: BaseException) -> Failure:
    """What went wrong connecting to a relay, never the peer's own bytes unless it spoke SMTP: a
    peer that is no SMTP server (a web server, a database) must not be read out through the
    relay test."""
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        reply = _reply_text(error.code, error.message)
        return Failure(
            "authentication", "auth_refused", f"it refused the sign-in ({reply}).", reply
        )
    if isinstance(error, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return Failure("connection", "connection_timeout", "it did not answer in time.")
    if isinstance(error, ssl.SSLError) or isinstance(error.__cause__, ssl.SSLError):
        return Failure(
            "tls",
            "tls_handshake",
            "the TLS handshake failed (wrong TLS mode for this port, or a bad certificate).",
        )
    if isinstance(error, aiosmtplib.SMTPConnectResponseError | aiosmtplib.SMTPServerDisconnected):
        return Failure(
            "connection",
            "connection_not_smtp",
            "what answers there is not an SMTP server, or it closed the connection at once.",
        )
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return Failure(
            "tls",
            "tls_not_offered",
            "it does not offer what the TLS mode asks for (STARTTLS, say).",
        )
    if isinstance(error, aiosmtplib.SMTPResponseException):
        if 200 <= error.code < 600:
            reply = _reply_text(error.code, error.message)
            return Failure(
                "connection",
                "connection_refused_by_relay",
                f"it answered SMTP {error.code}: {reply}",
                reply,
            )
        return Failure(
            "connection", "connection_not_smtp", "what answers there is not an SMTP server."
        )
    if isinstance(error, ConnectionRefusedError) or isinstance(
        error.__cause__, ConnectionRefusedError
    ):
        return Failure("connection", "connection_refused", "nothing answers on that port.")
    if isinstance(error, aiosmtplib.SMTPConnectError | OSError):
        return Failure(
            "connection",
            "connection_unreachable",
            "it cannot be reached (no route, no such host, or the connection failed).",
        )
    return Failure("connection", "connection_failed", "the connection failed.")


def _reply_text(code: int, message: str) -> str:
    return f"{code} {' '.join(message.split())}".strip()


class RelaySession:
    """`async with RelaySession(relay, timeout) as session: await session.send(envelope)`."""

    def __init__(self, relay: Relay, *, timeout: float) -> None:
        self.relay = relay
        self.timeout = timeout
        self.client: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> RelaySession:
        await self._connect()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self.client is not None and self.client.is_connected:
            try:
                await self.client.quit(timeout=self.timeout)
            except (aiosmtplib.SMTPException, OSError):
                self.client.close()
        self.client = None

    async def _connect(self) -> None:
        relay = self.relay
        where = f"The relay {relay.host}:{relay.port}"
        if relay.guarded:
            # A relay back-office typed in goes through the outbound guard, at every connection
            # (a name may point elsewhere by now); the operator's own default relay does not.
            try:
                await outbound_address(relay.host, relay.port, usual_ports=MAIL_PORTS, field="host")
            except Invalid as refused:
                raise RelayUnavailable(refused.detail, code="connection_blocked") from None
        client = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            timeout=self.timeout,
            use_tls=relay.tls_mode == "tls",
            # STARTTLS as a step of its own, so that a failure there is told apart.
            start_tls=False,
            tls_context=ssl.create_default_context() if relay.tls_mode != "none" else None,
            local_hostname=relay.helo_name or None,
        )
        try:
            await client.connect()
            if relay.tls_mode == "starttls":
                await client.ehlo()
                if not client.supports_extension("starttls"):
                    raise aiosmtplib.SMTPNotSupported("STARTTLS")
                await client.starttls()
            # The extensions (DSN above all) are known only after EHLO, and must be known
            # before the first MAIL FROM.
            if client.last_ehlo_response is None:
                await client.ehlo()
            await self._sign_in(client)
        except RelayUnavailable:
            client.close()
            raise
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            client.close()
            failure = connection_failure(error)
            if failure.step == "authentication":
                if relay.oauth is not None:
                    # The relay refused the token: the next connection asks for a new one.
                    forget(relay.oauth.company_id)
                text = f"{where} refused the sign-in as {relay.username}: {failure.reason}"
            else:
                text = f"{where} could not be reached or refused the connection: {failure.reason}"
            raise RelayUnavailable(
                text, step=failure.step, code=failure.code, reply=failure.reply
            ) from error
        self.client = client

    async def _sign_in(self, client: aiosmtplib.SMTP) -> None:
        relay = self.relay
        if relay.oauth is None:
            if relay.username:
                await client.login(relay.username, relay.password)
            return
        if "xoauth2" not in client.server_auth_methods:
            raise RelayUnavailable(
                f"The relay {relay.host}:{relay.port} does not offer OAuth 2.0 sign-in "
                "(AUTH XOAUTH2); check the host, or sign in with a password.",
                step="authentication",
                code="auth_mechanism_missing",
            )
        for attempt in (1, 2):
            try:
                # Cached across sessions: a batch, or a drain of thousands, asks for no new
                # token.
                token = await access_token(relay.oauth)
            except OAuthFailed as failed:
                raise RelayUnavailable(
                    f"No OAuth 2.0 token for the relay: {failed.text}",
                    step="authentication",
                    code=failed.code,
                ) from None
            try:
                await client.auth_xoauth2(relay.username, token, timeout=self.timeout)
                return
            except aiosmtplib.SMTPAuthenticationError:
                # A cached token the provider revoked early: once more with a new one, so a
                # revoked grant shows as such, not as a refused token.
                forget(relay.oauth.company_id)
                if attempt == 2:
                    raise

    async def send(self, envelope: Envelope) -> DeliveryResult:
        if self.client is None or not self.client.is_connected:
            await self._connect()
        client = self.client
        assert client is not None
        mail_options: list[str] = []
        rcpt_options: list[str] = []
        if client.supports_extension("dsn"):
            mail_options = ["RET=HDRS", f"ENVID={envelope.envelope_id}"]
            rcpt_options = ["NOTIFY=SUCCESS,FAILURE,DELAY"]
        try:
            errors, reply = await client.sendmail(
                envelope.sender,
                envelope.recipients,
                envelope.data,
                mail_options=mail_options,
                rcpt_options=rcpt_options,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as refused:
            return DeliveryResult(
                accepted=[],
                refused={
                    r.recipient: Refusal(r.code, _reply_text(r.code, r.message))
                    for r in refused.recipients
                },
            )
        except aiosmtplib.SMTPResponseException as error:
            return DeliveryResult(
                accepted=[], whole=Refusal(error.code, _reply_text(error.code, error.message))
            )
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            client.close()
            failure = connection_failure(error)
            return DeliveryResult(
                accepted=[],
                whole=Refusal(
                    0, f"The connection to the relay failed: {error}", unreached=failure.code
                ),
            )
        refused_map = {
            address: Refusal(response.code, _reply_text(response.code, response.message))
            for address, response in errors.items()
        }
        return DeliveryResult(
            accepted=[r for r in envelope.recipients if r not in refused_map],
            reply=reply,
            refused=refused_map,
        )


async def probe_sender(session: RelaySession, address: str) -> Refusal | None:
    """Would the relay take `address` as envelope sender? Asked with MAIL FROM and undone with
    RSET, so nothing is sent. Some hosted relays refuse senders outside the account."""
    client = session.client
    assert client is not None
    try:
        await client.mail(address, timeout=session.timeout)
    except aiosmtplib.SMTPResponseException as refused:
        return Refusal(refused.code, _reply_text(refused.code, refused.message))
    finally:
        try:
            await client.rset(timeout=session.timeout)
        except (aiosmtplib.SMTPException, OSError):
            client.close()
    return None
