"""A capture SMTP server on loopback for trying the app without a mail server: it accepts
every email, keeps it as an .eml file and logs who it was for. `make run` starts it as the
default relay."""

from __future__ import annotations

import email
import email.policy
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

log = logging.getLogger("organisatrice.capture")


class _Keep:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.count = 0

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.count += 1
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        path = self.folder / f"{stamp}-{self.count:05d}.eml"
        path.write_bytes(envelope.original_content)
        subject = email.message_from_bytes(
            envelope.original_content, policy=email.policy.default
        ).get("Subject", "")
        log.info(
            "captured %r for %s (saved as %s)", subject, ", ".join(envelope.rcpt_tos), path.name
        )
        return "250 OK: captured, not delivered"


def start_capture(host: str, port: int, folder: Path) -> Controller:
    """Start the capture server in its own thread; stop it with `.stop()`."""
    folder.mkdir(parents=True, exist_ok=True)
    controller = Controller(_Keep(folder), hostname=host, port=port)
    controller.start()
    log.info("capture SMTP server on %s:%s keeps emails in %s", host, port, folder)
    return controller
