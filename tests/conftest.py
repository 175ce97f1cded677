"""Test set-up: the environment is fixed before the app is imported, then one database per run.

DATABASE_URL decides the engine: unset, a fresh SQLite file; set (by tests/postgres_server.py),
a fresh PostgreSQL database. BLOB_URL decides the blob store: unset, a fresh folder; set (by
tests/object_store.py), a fresh bucket. Tests isolate themselves by tenancy: each makes its own
company.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

_TMP = Path(tempfile.mkdtemp(prefix="organisatrice-tests-"))
os.environ["DATA_DIR"] = str(_TMP)
os.environ["BLOB_ROOT"] = str(_TMP / "blobs")
os.environ["SECRET_KEY"] = "test-secret-key-not-for-production"
os.environ["PICCOLO_CONF"] = "organisatrice.piccolo_conf"
os.environ.setdefault("DATABASE_URL", f"sqlite:///{_TMP / 'test.db'}")
os.environ.setdefault("MAX_PHOTO_BYTES", str(3 * 1024 * 1024))
os.environ.setdefault("MAX_PHOTO_PIXELS", str(12_000_000))
# Tests drive the sending worker themselves, round by round.
os.environ["WORKER_IN_APP"] = "0"
# Every relay and receiver a test starts is on this machine: the operator's setting for that.
# Tests of the outbound guard itself clear it (tests/integration/events/conftest.py).
os.environ.setdefault("OUTBOUND_ALLOWED_HOSTS", "127.0.0.1")

import httpx  # noqa: E402
import pytest  # noqa: E402
from litestar import Litestar  # noqa: E402

from organisatrice.app import create_app  # noqa: E402
from organisatrice.core.db import migrate, prepare_engine, release_engine  # noqa: E402
from organisatrice.mail.inbound import start_inbound  # noqa: E402
from organisatrice.settings import get_settings  # noqa: E402
from tests.client import ApiClient  # noqa: E402
from tests.smtp_relay import free_port  # noqa: E402


def pytest_report_header() -> list[str]:
    settings = get_settings()
    return [
        f"database: {settings.database_kind} ({settings.database_url})",
        f"blobs: {settings.blob_url}",
    ]


@pytest.fixture(scope="session", autouse=True)
async def database() -> AsyncIterator[None]:
    await migrate()
    await prepare_engine()
    yield
    await release_engine()


@pytest.fixture(scope="session")
def app(database: None) -> Litestar:
    return create_app()


@pytest.fixture
async def anonymous(app: Litestar) -> AsyncIterator[ApiClient]:
    async with ApiClient.open(app) as client:
        yield client


@pytest.fixture
async def receiver() -> AsyncIterator[int]:
    """The receiver of reports and replies on a free loopback port, its database work on the
    test's event loop."""
    port = free_port()
    controller = start_inbound("127.0.0.1", port, asyncio.get_running_loop())
    try:
        yield port
    finally:
        controller.stop()


@pytest.fixture(scope="session")
def live_server(database: None) -> Iterator[str]:
    """The real app under uvicorn on a free loopback port, on the suite's database; stopped at
    the end of the run. Answers its base URL."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = dict(os.environ, HOST="127.0.0.1", PORT=str(port))
    log = open(_TMP / "live_server.log", "wb")  # noqa: SIM115 - lives as long as the server
    server = subprocess.Popen(
        [sys.executable, "-m", "organisatrice", "serve"], env=env, stdout=log, stderr=log
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError((_TMP / "live_server.log").read_text()[-3000:])
            time.sleep(0.1)
        yield base
    finally:
        server.terminate()
        server.wait(timeout=10)
        log.close()


@pytest.fixture
def guard_as_shipped() -> Iterator[None]:
    """The outbound guard with the operator's defaults: no internal address allowed (the suite
    otherwise allows 127.0.0.1, where its relays and receivers listen)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("OUTBOUND_ALLOWED_HOSTS", "")
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()
