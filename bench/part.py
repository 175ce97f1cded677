"""One process of a benchmark run: `python -m bench.part NAME… --size S --out FILE`.

The app reads its settings and picks its database once per process, so each database gets its
own process (`bench/__main__.py` starts them; on PostgreSQL through tests/postgres_server.py).
This process sets the environment, migrates a fresh database, runs the named benchmarks in order
and writes their rows as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import logging
import shutil
import signal
import sys
import traceback
from pathlib import Path

from bench.common import Row, app_environment, dump_rows, scratch_dir

# In the order they run: the archive's million rows come last, so they slow nothing else.
NAMES = (
    "photos",
    "pdf",
    "blobs",
    "drain",
    "send_request",
    "send_workers",
    "drafts",
    "import_orders",
    "import_contacts",
    "replies",
    "sign_in_load",
    "archive_verify",
    "archive",
)
NEEDS_DATABASE = {
    # Not the database: the bucket, which the PostgreSQL part has (SeaweedFS).
    "blobs",
    "drain",
    "send_request",
    "send_workers",
    "drafts",
    "import_orders",
    "import_contacts",
    "replies",
    "sign_in_load",
    "archive_verify",
    "archive",
}


def rounds_for(size: str) -> tuple[int, int]:
    """(rounds, warm-up rounds): at full size a median of 5 after one warm-up; tiny once."""
    return (5, 1) if size == "full" else (1, 0)


async def _run(names: list[str], size: str, data_dir: Path, env: dict[str, str]) -> list[Row]:
    from organisatrice.core.db import migrate, prepare_engine, release_engine
    from organisatrice.settings import get_settings

    database = "PostgreSQL" if get_settings().database_kind == "postgresql" else "SQLite"
    rounds, warmup = rounds_for(size)
    rows: list[Row] = []
    if NEEDS_DATABASE & set(names):
        with contextlib.redirect_stdout(io.StringIO()):  # Piccolo prints every migration
            await migrate()
        await prepare_engine()
    try:
        for name in names:
            print(f"[{name}] {database if name in NEEDS_DATABASE else ''}", flush=True)
            try:
                rows.extend(await _one(name, size, database, rounds, warmup, data_dir, env))
            except Exception as error:
                traceback.print_exc()
                rows.append(
                    Row(
                        benchmark=name,
                        database=database if name in NEEDS_DATABASE else "-",
                        unit="",
                        ours=None,
                        note=f"failed: {type(error).__name__}: {error}",
                    )
                )
    finally:
        if NEEDS_DATABASE & set(names):
            await release_engine()
    return rows


async def _one(
    name: str,
    size: str,
    database: str,
    rounds: int,
    warmup: int,
    data_dir: Path,
    env: dict[str, str],
) -> list[Row]:
    if name == "photos":
        from bench import photos

        return await photos.run(size, rounds=rounds, warmup=warmup)
    if name == "pdf":
        from bench import pdf

        return await pdf.run(size, rounds=rounds, warmup=warmup)
    if name == "blobs":
        from bench import blobs

        return await blobs.run(size, database, rounds=rounds, warmup=warmup)
    if name == "replies":
        from bench import replies

        return await replies.run(size, database, rounds=rounds, warmup=warmup)
    if name == "drain":
        from bench import drain

        return await drain.run(size, database, rounds=rounds, warmup=warmup)
    if name in ("send_request", "send_workers", "drafts"):
        from bench import http

        return await http.run(
            name, size, database, rounds=rounds, warmup=warmup, env=env, data_dir=data_dir
        )
    if name in ("sign_in_load", "archive_verify"):
        from bench import hardening

        return await hardening.run(
            name, size, database, rounds=rounds, warmup=warmup, env=env, data_dir=data_dir
        )
    if name in ("import_orders", "import_contacts"):
        from bench import data_in

        return await data_in.run(
            name, size, database, rounds=rounds, warmup=warmup, env=env, data_dir=data_dir
        )
    if name == "archive":
        from bench import archive

        return await archive.run(size, database, rounds=rounds, warmup=warmup)
    raise ValueError(f"no benchmark named {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.part", description=__doc__)
    parser.add_argument("names", nargs="+", choices=NAMES)
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    # Stopped (SIGTERM): unwind, so that the scratch folder and the servers go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    data_dir = scratch_dir("part")
    env = app_environment(data_dir)
    try:
        rows = asyncio.run(_run(args.names, args.size, data_dir, env))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    dump_rows(rows, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
