"""Postfix's `smtp-sink` on loopback: an SMTP receiver that accepts and discards, costing far less
CPU than the client that talks to it, so a benchmark measures the sender, not the receiver."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from bench.common import free_port, start_child, stop_child, wait_for_port

SMTP_SINK = "/usr/sbin/smtp-sink"


def sink_binary() -> str | None:
    return shutil.which("smtp-sink") or (SMTP_SINK if os.path.exists(SMTP_SINK) else None)


@contextmanager
def smtp_sink() -> Iterator[int]:
    """`with smtp_sink() as port:` a running smtp-sink on 127.0.0.1:port, stopped on exit (and by
    the kernel if this process dies)."""
    binary = sink_binary()
    if binary is None:
        raise RuntimeError(
            "smtp-sink is missing: `make bench` installs Debian's postfix package for it"
        )
    port = free_port()
    # As root, smtp-sink must be told whose privileges to drop to after binding the socket.
    user = ["-u", "nobody"] if os.geteuid() == 0 else []
    # Backlog 1000; every reply is 250, and DSN, PIPELINING and 8BITMIME are announced.
    child = start_child([binary, *user, f"127.0.0.1:{port}", "1000"])
    try:
        wait_for_port(port, child)
        yield port
    finally:
        stop_child(child)
