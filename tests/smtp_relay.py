"""A real SMTP relay for tests: aiosmtpd on 127.0.0.1, recording every transaction, with
replies the test can script (a 550 for one address, a 451 before accepting, DSN or not), and
delivering mail for chosen domains onward, as a relay does to a domain's MX."""

from __future__ import annotations

import asyncio
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import aiosmtplib
import msgspec
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP

DSN_PARAMETERS = ("RET", "ENVID", "NOTIFY", "ORCPT")


class Received(msgspec.Struct):
    mail_from: str
    rcpt_tos: list[str]
    mail_options: list[str]
    rcpt_options: list[str]
    data: bytes


class RelayHandler:
    def __init__(self, *, dsn: bool) -> None:
        self.dsn = dsn
        self.received: list[Received] = []
        self.rcpt_replies: dict[str, str] = {}
        self.data_replies: list[str] = []
        self.data_delay = 0.0
        # Domain -> port on loopback: mail for it is delivered there after it was accepted.
        self.mx: dict[str, int] = {}
        # (pattern, reply): MAIL FROM with a matching address is refused with the reply, as a
        # hosted relay refuses senders outside the account.
        self.sender_refusal: tuple[re.Pattern[str], str] | None = None
        self._onward: set[asyncio.Task[None]] = set()

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        session.host_name = hostname
        if self.dsn:
            responses.insert(-1, "250-DSN")
        return responses

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        if self.sender_refusal and self.sender_refusal[0].match(address):
            return self.sender_refusal[1]
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        reply = self.rcpt_replies.get(address)
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(options)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_replies:
            return self.data_replies.pop(0)
        self.received.append(
            Received(
                mail_from=envelope.mail_from,
                rcpt_tos=list(envelope.rcpt_tos),
                mail_options=list(envelope.mail_options),
                rcpt_options=list(envelope.rcpt_options),
                data=envelope.original_content,
            )
        )
        onward = [r for r in envelope.rcpt_tos if r.rsplit("@", 1)[-1].lower() in self.mx]
        for rcpt in onward:
            # After the reply, as a relay queues and then delivers.
            task = asyncio.get_running_loop().create_task(
                self._deliver(envelope.mail_from, rcpt, envelope.original_content)
            )
            self._onward.add(task)
            task.add_done_callback(self._onward.discard)
        return f"250 2.0.0 Ok: queued as T{len(self.received):05d}"

    async def _deliver(self, mail_from: str, rcpt: str, data: bytes) -> None:
        port = self.mx[rcpt.rsplit("@", 1)[-1].lower()]
        await aiosmtplib.send(
            data, sender=mail_from, recipients=[rcpt], hostname="127.0.0.1", port=port
        )


class _DsnSMTP(SMTP):  # type: ignore[misc]
    """aiosmtpd refuses parameters it does not know; a DSN relay takes RET, ENVID, NOTIFY."""

    def _getparams(self, params: list[str]) -> dict[str, Any] | None:
        parsed: dict[str, Any] | None = super()._getparams(params)
        if parsed is not None and self.event_handler.dsn:
            for name in DSN_PARAMETERS:
                parsed.pop(name, None)
        return parsed


class _Controller(Controller):  # type: ignore[misc]
    def factory(self) -> SMTP:
        return _DsnSMTP(self.handler, **self.SMTP_kwargs)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_relay(*, dsn: bool = False, port: int | None = None) -> Iterator[tuple[RelayHandler, int]]:
    handler = RelayHandler(dsn=dsn)
    port = port or free_port()
    controller = _Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
