"""The only code that speaks SMTP: one connection to a relay, reused for a batch of emails,
each sent as its archived bytes, one transaction per recipient (see mail/outbox.envelopes).

Every step has a timeout, so a hanging relay never blocks the queue. DSN parameters are sent
only when the relay advertises DSN: a relay without it refuses them (aiosmtpd answers 555).
"""

from __future__ import annotations

import ssl
from types import TracebackType

import aiosmtplib
import msgspec

from organisatrice.core.errors import Invalid
from organisatrice.core.outbound import MAIL_PORTS, outbound_address
from organisatrice.mail.relay import Relay


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    sender: str
    recipients: list[str]
    data: bytes
    envelope_id: str


class Refusal(msgspec.Struct, frozen=True):
    code: int
    text: str

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


class RelayUnavailable(Exception):
    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


def connection_failure(error: BaseException) -> str:
    """What went wrong connecting to a relay, in words, never the peer's own bytes: a peer that
    is no SMTP server (a web server, a database) must not be read out through the relay test."""
    if isinstance(error, aiosmtplib.SMTPAuthenticationError):
        return f"it refused the user name or password (SMTP {error.code})."
    if isinstance(error, aiosmtplib.SMTPTimeoutError | TimeoutError):
        return "it did not answer in time."
    if isinstance(error, ssl.SSLError):
        return "the TLS handshake failed (wrong TLS mode for this port, or a bad certificate)."
    if isinstance(error, aiosmtplib.SMTPConnectResponseError | aiosmtplib.SMTPServerDisconnected):
        return "what answers there is not an SMTP server, or it closed the connection at once."
    if isinstance(error, aiosmtplib.SMTPNotSupported):
        return "it does not offer what the TLS mode asks for (STARTTLS, say)."
    if isinstance(error, aiosmtplib.SMTPResponseException):
        if 200 <= error.code < 600:
            return f"it answered SMTP {error.code}: {_reply_text(error.code, error.message)}"
        return "what answers there is not an SMTP server."
    if isinstance(error, ConnectionRefusedError) or isinstance(
        error.__cause__, ConnectionRefusedError
    ):
        return "nothing answers on that port."
    if isinstance(error, aiosmtplib.SMTPConnectError | OSError):
        return "it cannot be reached (no route, no such host, or the connection failed)."
    return "the connection failed."


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
        if relay.guarded:
            # A relay back-office typed in goes through the outbound guard, at every connection
            # (a name may point elsewhere by now); the operator's own default relay does not.
            try:
                await outbound_address(relay.host, relay.port, usual_ports=MAIL_PORTS, field="host")
            except Invalid as refused:
                raise RelayUnavailable(refused.detail) from None
        client = aiosmtplib.SMTP(
            hostname=relay.host,
            port=relay.port,
            timeout=self.timeout,
            use_tls=relay.tls_mode == "tls",
            start_tls=relay.tls_mode == "starttls",
            tls_context=ssl.create_default_context() if relay.tls_mode != "none" else None,
        )
        try:
            await client.connect()
            # The extensions (DSN above all) are known only after EHLO, and must be known
            # before the first MAIL FROM.
            if client.last_ehlo_response is None:
                await client.ehlo()
            if relay.username:
                await client.login(relay.username, relay.password)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
            client.close()
            raise RelayUnavailable(
                f"The relay {relay.host}:{relay.port} could not be reached or refused the "
                f"connection: {connection_failure(error)}"
            ) from error
        self.client = client

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
            return DeliveryResult(
                accepted=[], whole=Refusal(0, f"The connection to the relay failed: {error}")
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
