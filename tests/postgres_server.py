"""Run a command against a throwaway PostgreSQL server: `python tests/postgres_server.py CMD…`.

The server lives in a temporary folder, listens on 127.0.0.1 on a free port, and is stopped and
removed whatever the command does. As root, the server runs as the `postgres` user (PostgreSQL
refuses to run as root). DATABASE_URL is set for the command.
"""

from __future__ import annotations

import functools
import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path


def _bin(name: str) -> str:
    found = shutil.which(name) or next(
        iter(sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)), None
    )
    if not found:
        sys.exit(f"PostgreSQL's {name} was not found; install Debian's postgresql package.")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_server_user(args: list[str]) -> list[str]:
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


def main(command: list[str]) -> int:
    if not command:
        sys.exit("usage: python tests/postgres_server.py COMMAND [ARGS…]")
    root = Path(tempfile.mkdtemp(prefix="organisatrice-pg-"))
    data = root / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    # The server user may not enter the caller's folder; run its tools from its own.
    run = functools.partial(subprocess.run, cwd=root)
    run(
        _as_server_user(
            [
                _bin("initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off"
    run(
        _as_server_user(
            [
                _bin("pg_ctl"),
                "-D",
                str(data),
                "-o",
                options,
                "-l",
                str(root / "server.log"),
                "-w",
                "start",
            ]
        ),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        env = dict(os.environ, DATABASE_URL=f"postgresql://postgres@127.0.0.1:{port}/postgres")
        print(f"PostgreSQL started on 127.0.0.1:{port}", flush=True)
        return subprocess.run(command, env=env).returncode
    finally:
        run(
            _as_server_user([_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
            stdout=subprocess.DEVNULL,
        )
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
