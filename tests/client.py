"""An HTTP client for tests that behaves like the browser: cookies, and the CSRF header."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from litestar import Litestar

from tests.factories import DEFAULT_PASSWORD

_clients = itertools.count(1)


def _next_source() -> str:
    n = next(_clients)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


class ApiClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    @classmethod
    @asynccontextmanager
    async def open(cls, app: Litestar, source: str | None = None) -> AsyncIterator[ApiClient]:
        """A browser at the client address `source`; by default an address of its own, as the
        suite's many sign-ins (wrong ones too) come from many people, not from one network that
        the sign-in throttle would pause."""
        transport = httpx.ASGITransport(app=app, client=(source or _next_source(), 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            client = cls(http)
            # The first safe request hands out the CSRF cookie, as the page load does.
            await http.get("/api/health")
            yield client

    @classmethod
    @asynccontextmanager
    async def signed_in(
        cls, app: Litestar, email: str, password: str = DEFAULT_PASSWORD, source: str | None = None
    ) -> AsyncIterator[ApiClient]:
        async with cls.open(app, source) as client:
            answer = await client.post("/api/session", json={"email": email, "password": password})
            assert answer.status_code == 200, answer.text
            yield client

    @classmethod
    @asynccontextmanager
    async def with_token(cls, app: Litestar, secret: str) -> AsyncIterator[ApiClient]:
        """A machine's client: every request carries the API token, no cookie, no CSRF."""
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport,
            base_url="http://testserver",
            headers={"Authorization": f"Bearer {secret}"},
        ) as http:
            yield cls(http)

    def _headers(self, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"x-csrftoken": self.http.cookies.get("csrftoken", "")}
        headers.update(extra or {})
        return headers

    async def get(self, url: str, **kw: Any) -> httpx.Response:
        return await self.http.get(url, **kw)

    async def post(
        self, url: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.post(url, headers=self._headers(headers), **kw)

    async def patch(
        self, url: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.patch(url, headers=self._headers(headers), **kw)

    async def put(
        self, url: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.put(url, headers=self._headers(headers), **kw)

    async def delete(
        self, url: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        return await self.http.delete(url, headers=self._headers(headers), **kw)
