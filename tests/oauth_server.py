"""A local OAuth 2.0 server for tests, on 127.0.0.1, stopped when the test leaves it: Microsoft's
client-credentials token endpoint (`/{tenant}/oauth2/v2.0/token`) and Google's consent page and
token endpoint (`/authorize`, which consents at once and sends the browser back, and `/token`
for the code, with PKCE, and for refresh tokens). It remembers every access token it issued, so a
test relay can ask whether one is valid, and can revoke a grant or shorten token lifetimes; and
that relay (aiosmtpd, XOAUTH2 only, every token checked with the server)."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from tests.smtp_relay import free_port


class OAuthServer:
    def __init__(self) -> None:
        self.clients: dict[str, str] = {}
        self.lifetime = 3600
        # access token -> (expires at, scope)
        self.access_tokens: dict[str, tuple[float, str]] = {}
        self.refresh_tokens: set[str] = set()
        # code -> (client id, redirect uri, PKCE challenge)
        self.codes: dict[str, tuple[str, str, str]] = {}
        self.token_requests = 0
        self.port = 0
        self.lock = threading.Lock()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def valid(self, token: str) -> bool:
        with self.lock:
            expires = self.access_tokens.get(token, (0.0, ""))[0]
        return time.time() < expires

    def revoke_all(self) -> None:
        """The account holder withdrew the app's access: its tokens stop working."""
        with self.lock:
            self.refresh_tokens.clear()
            self.access_tokens.clear()

    def _issue(self, scope: str, *, refresh: bool) -> dict[str, Any]:
        token = secrets.token_urlsafe(24)
        answer: dict[str, Any] = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": self.lifetime,
            "scope": scope,
        }
        self.access_tokens[token] = (time.time() + self.lifetime, scope)
        if refresh:
            answer["refresh_token"] = secrets.token_urlsafe(24)
            self.refresh_tokens.add(answer["refresh_token"])
        return answer

    def token(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        with self.lock:
            self.token_requests += 1
            client = form.get("client_id", "")
            if self.clients.get(client) != form.get("client_secret") or not client:
                return 401, {"error": "invalid_client", "error_description": "unknown client"}
            grant = form.get("grant_type")
            if path.endswith("/oauth2/v2.0/token") and grant == "client_credentials":
                return 200, self._issue(form.get("scope", ""), refresh=False)
            if path == "/token" and grant == "authorization_code":
                known = self.codes.pop(form.get("code", ""), None)
                verifier = form.get("code_verifier", "")
                challenge = (
                    base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
                    .decode()
                    .rstrip("=")
                )
                if known is None or known != (client, form.get("redirect_uri", ""), challenge):
                    return 400, {"error": "invalid_grant", "error_description": "bad code"}
                return 200, self._issue("https://mail.google.com/", refresh=True)
            if path == "/token" and grant == "refresh_token":
                if form.get("refresh_token") not in self.refresh_tokens:
                    return 400, {
                        "error": "invalid_grant",
                        "error_description": "Token has been expired or revoked.",
                    }
                return 200, self._issue("https://mail.google.com/", refresh=False)
            return 400, {"error": "unsupported_grant_type"}

    def authorize(self, query: dict[str, str]) -> str:
        """Consent at once: where the browser goes back to, with a code."""
        code = secrets.token_urlsafe(12)
        with self.lock:
            self.codes[code] = (
                query["client_id"],
                query["redirect_uri"],
                query["code_challenge"],
            )
        answer = urlencode({"code": code, "state": query["state"]})
        return f"{query['redirect_uri']}?{answer}"


def _handler(server: OAuthServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _json(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            self._json(*server.token(urlsplit(self.path).path, form))

        def do_GET(self) -> None:
            url = urlsplit(self.path)
            if url.path != "/authorize":
                self._json(404, {"error": "not_found"})
                return
            query = {k: v[0] for k, v in parse_qs(url.query).items()}
            self.send_response(302)
            self.send_header("Location", server.authorize(query))
            self.send_header("Content-Length", "0")
            self.end_headers()

    return Handler


@contextmanager
def oauth_server(*, port: int = 0) -> Iterator[OAuthServer]:
    server = OAuthServer()
    http = ThreadingHTTPServer(("127.0.0.1", port), _handler(server))
    server.port = http.server_address[1]
    thread = threading.Thread(target=http.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        http.shutdown()
        http.server_close()


class XOAuth2Relay:
    """An aiosmtpd handler that takes XOAUTH2 only, with a token the OAuth server issued and
    that has not expired; it keeps the EHLO names it was greeted with."""

    def __init__(self, issuer: OAuthServer) -> None:
        self.issuer = issuer
        self.helo_names: list[str] = []
        self.signed_in: list[str] = []

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.helo_names.append(hostname)
        session.host_name = hostname
        return responses

    async def auth_XOAUTH2(self, server: Any, args: list[str]) -> AuthResult:
        try:
            said = base64.b64decode(args[1]).decode()
            user, auth, *_ = said.split("\x01")
            token = auth.removeprefix("auth=Bearer ")
        except (IndexError, ValueError):
            return AuthResult(success=False, handled=False, message="501 5.5.2 Cannot decode")
        if not user.startswith("user=") or not self.issuer.valid(token):
            return AuthResult(success=False, handled=False, message="535 5.7.8 Token refused")
        self.signed_in.append(user.removeprefix("user="))
        return AuthResult(success=True)


@contextmanager
def xoauth2_relay(
    issuer: OAuthServer, *, port: int | None = None
) -> Iterator[tuple[XOAuth2Relay, int]]:
    handler = XOAuth2Relay(issuer)
    port = port or free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        # Loopback without TLS in tests; the mechanisms a password would use are not offered.
        auth_require_tls=False,
        auth_exclude_mechanism=["LOGIN", "PLAIN"],
    )
    controller.start()
    try:
        yield handler, port
    finally:
        controller.stop()
