"""The OAuth side of the drain benchmark, in a process of its own so that its Python does not
run on the measured process's time: the project's local OAuth server and an aiosmtpd relay that
takes XOAUTH2 with that server's tokens, checking each (tests/oauth_server.py). The relay also
takes mail without sign-in, so the same receiver serves the comparison without OAuth.

    python -m bench.oauth_relay OAUTH_PORT SMTP_PORT

serves on 127.0.0.1 until it is terminated. The one client it knows is CLIENT_ID/CLIENT_SECRET.
"""

from __future__ import annotations

import sys
import threading

from tests.oauth_server import oauth_server, xoauth2_relay

CLIENT_ID = "bench-app"
CLIENT_SECRET = "bench-secret"  # noqa: S105 - a throwaway client of a loopback server


def main(oauth_port: int, smtp_port: int) -> None:
    with oauth_server(port=oauth_port) as issuer, xoauth2_relay(issuer, port=smtp_port):
        issuer.clients[CLIENT_ID] = CLIENT_SECRET
        threading.Event().wait()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
