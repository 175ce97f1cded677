"""A webhook receiver on loopback that checks every signature with `standardwebhooks`, and the
setting that lets endpoints on loopback through the outbound guard."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from standardwebhooks import Webhook, WebhookVerificationError

from organisatrice.events.tables import WebhookDelivery
from organisatrice.settings import get_settings


class Delivered(msgspec.Struct):
    """A request the receiver took: its event, whether the signature held, what it answered."""

    event_id: str
    type: str
    body: bytes
    data: dict[str, Any]
    verified: bool
    answered: int


class Receiver:
    """An HTTP/1.1 endpoint on 127.0.0.1: answers the scripted statuses first, then 200, and
    keeps every request it got."""

    def __init__(self) -> None:
        self.secret = ""
        self.answers: list[int] = []
        self.got: list[Delivered] = []
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks/organisatrice"

    def accepted_ids(self) -> list[str]:
        """The event ids the receiver took (2xx), in order, as a receiver that deduplicates
        would count them."""
        return [d.event_id for d in self.got if d.answered == 200 and d.verified]

    def _take(self, headers: dict[str, str], body: bytes) -> int:
        try:
            Webhook(self.secret).verify(body, headers)
            verified = True
        except WebhookVerificationError:
            verified = False
        answered = self.answers.pop(0) if self.answers else 200
        payload = json.loads(body)
        self.got.append(
            Delivered(
                event_id=headers.get("webhook-id", ""),
                type=payload["type"],
                body=body,
                data=payload["data"],
                verified=verified,
                answered=answered if verified else 401,
            )
        )
        return answered if verified else 401

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while request_line := await reader.readline():
                if not request_line.strip():
                    continue
                headers: dict[str, str] = {}
                while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
                    name, _, value = line.decode("latin-1").partition(":")
                    headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                status = self._take(headers, body)
                writer.write(
                    f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\n\r\nno".encode()
                    if status != 200
                    else b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok"
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    made = Receiver()
    server = await asyncio.start_server(made._serve, "127.0.0.1", 0)
    made.port = server.sockets[0].getsockname()[1]
    try:
        yield made
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def loopback_allowed() -> Iterator[None]:
    """The operator's setting for a receiver on this machine: 127.0.0.1 with any port."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTBOUND_ALLOWED_HOSTS", "127.0.0.1")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(autouse=True)
async def others_wait() -> None:
    """Deliveries other tests left due (the e2e screen's endpoint on a closed port, say) wait
    a year: a delivery round here attempts only what this test made."""
    await WebhookDelivery.update(
        {WebhookDelivery.next_attempt_at: datetime.now(UTC) + timedelta(days=365)}
    ).where(WebhookDelivery.status.is_in(["pending", "failed"]))
