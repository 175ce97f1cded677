"""The benchmarks (`bench/`, `make bench`) run end to end once at tiny size, so that they cannot
rot: each writes its result rows. Nothing here looks at a timing.

On the SQLite run of the suite every benchmark runs on SQLite; on the PostgreSQL run the database
ones run again on a throwaway PostgreSQL server of their own (the suite's database is not used:
the archive benchmark bulk-loads and rebuilds indexes)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.part import NAMES, NEEDS_DATABASE
from bench.photos import libvips_available
from bench.sink import sink_binary
from organisatrice.core.db import is_sqlite

ROOT = Path(__file__).resolve().parent.parent
MISSING = {
    name: reason
    for name, reason in (
        ("smtp-sink", None if sink_binary() else "Postfix's smtp-sink is not installed"),
        ("libvips", None if libvips_available() else "pyvips/libvips is not installed"),
    )
    if reason
}
MAKE_INSTALLS = " (`make test` and `make bench` install it)"

pytestmark = pytest.mark.bench


def _run(names: list[str], database: str, out: Path) -> list[dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "bench",
            "--size",
            "tiny",
            "--only",
            *names,
            "--databases",
            database,
            "--out-dir",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert finished.returncode == 0, finished.stdout[-3000:] + finished.stderr[-3000:]
    assert (out / "results.md").read_text().startswith("# Benchmarks")
    rows: list[dict[str, object]] = json.loads((out / "results.json").read_text())["rows"]
    return rows


def test_every_benchmark_runs_at_tiny_size_and_writes_its_rows(tmp_path: Path) -> None:
    database = "sqlite" if is_sqlite() else "postgresql"
    names = [n for n in NAMES if is_sqlite() or n in NEEDS_DATABASE]
    if "smtp-sink" in MISSING:
        names.remove("drain")
    rows = _run(names, database, tmp_path)

    failed = [r for r in rows if r["ours"] is None and "TODO" not in str(r["note"])]
    assert not failed, failed
    written = {str(r["benchmark"]).split(",")[0].split(":")[0].split(" (")[0] for r in rows}
    expected = {
        "photos": "Photos 12 MP → 1600 px",
        "pdf": "Work report PDF",
        "drain": "Send path drain",
        "send_request": "Send request",
        "send_workers": "Send requests",
        "blobs": "Blobs write",
        "drafts": "Draft creation",
        "import_orders": "Orders in through the API",
        "import_contacts": "Contacts in from a CSV file",
        "replies": "Client replies in",
        "sign_in_load": "Health p99 while 8 clients sign in back to back",
        "archive_verify": "Archive verify",
        "archive": "Archive listing",
    }
    # Blobs are compared with raw calls where they live in a bucket: on the PostgreSQL run.
    assert {expected[n] for n in names if n != "blobs" or not is_sqlite()} <= written
    for row in rows:
        assert row["target"], row


@pytest.mark.parametrize("tool", ["smtp-sink", "libvips"])
def test_the_tools_the_benchmarks_compare_against_are_installed(tool: str) -> None:
    if tool in MISSING:
        pytest.skip(MISSING[tool] + MAKE_INSTALLS)
