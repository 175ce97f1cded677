"""`python -m bench` (what `make bench` runs): every benchmark against its baseline, measured
alternately in one run, written to bench/results.md (a table) and bench/results.json.

    python -m bench                     full size: about 15–25 minutes on 2 cores
    python -m bench --size tiny         each benchmark once on tiny data (what the tests run)
    python -m bench --only drain pdf    some of them (photos pdf blobs drain send_request
                                        send_workers drafts import_orders import_contacts
                                        replies sign_in_load archive_verify archive)
    python -m bench --databases sqlite  skip PostgreSQL

The database benchmarks run once per database, each in a process of its own with a fresh
database: a SQLite file, and a throwaway PostgreSQL server started by tests/postgres_server.py
with its blobs in a throwaway SeaweedFS (tests/object_store.py).
Every server a benchmark starts (smtp-sink, the app under uvicorn, PostgreSQL) listens on
loopback only and is stopped at the end, also when the run fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from bench.common import ROOT, Row, environment_facts, fsync_ms, load_rows
from bench.part import NAMES, NEEDS_DATABASE, rounds_for

HERE = Path(__file__).resolve().parent


def _postgres_available() -> bool:
    import glob

    return bool(shutil.which("initdb") or glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def run_part(names: list[str], size: str, database: str | None, out: Path) -> list[Row]:
    """One `bench.part` process; on PostgreSQL inside tests/postgres_server.py, with blobs in
    SeaweedFS (tests/object_store.py), as the test suite's PostgreSQL leg."""
    command = [sys.executable, "-m", "bench.part", *names, "--size", size, "--out", str(out)]
    os.environ.pop("DATABASE_URL", None)
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])
    )
    label = database or "no database"
    print(f"== {', '.join(names)} ({label})", flush=True)
    if database == "postgresql":
        from tests.postgres_server import main as with_postgres

        # In this process, so that its `finally` stops the server when the run is stopped.
        os.environ["SEAWEEDFS_VOLUME_MB"] = "4096"
        code = with_postgres([sys.executable, str(ROOT / "tests" / "object_store.py"), *command])
    else:
        code = subprocess.run(command, cwd=ROOT, check=False).returncode  # noqa: S603
    if code != 0 or not out.exists():
        return [
            Row(
                benchmark=name,
                database=label,
                unit="",
                ours=None,
                note=f"the benchmark process failed (exit {code}); see its output",
            )
            for name in names
        ]
    return load_rows(out)


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "–"
    if unit in ("×", "cores busy"):
        text = f"{value:.2f}"
    elif abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.2f}"
    return f"{text} {unit}"


def markdown(rows: list[Row], facts: dict[str, object]) -> str:
    lines = [
        "# Benchmarks",
        "",
        f"Measured {facts['finished']} by `make bench` (`python -m bench --size {facts['size']}`) "
        f"on {facts['cpus']} cores, Python {facts['python']}; load average "
        f"{facts['load_before']} before, {facts['load_after']} after (other work on the machine "
        "slows both sides of a ratio alike, not the absolute numbers); one fsync of 4 KB took "
        f"{facts['fsync_ms']} (each SQLite commit waits for one).",
        "",
        f"Each benchmark alternates ours and its baseline in one run: {facts['rounds']} rounds "
        f"after {facts['warmup']} warm-up round(s), medians. Ratio = ours ÷ baseline in the "
        "row's unit (for throughput higher is better, for milliseconds lower is better).",
        "",
        "| benchmark | database | ours | baseline | ratio | target | met? |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in rows:
        baseline = _number(row.baseline, row.unit)
        if row.baseline is not None and row.baseline_name:
            baseline += f" ({row.baseline_name})"
        ratio = f"{row.ratio:.2f}×" if row.ratio is not None else "–"
        met = {True: "yes", False: "**no**", None: "–"}[row.met]
        lines.append(
            f"| {row.benchmark} | {row.database} | {_number(row.ours, row.unit)} | {baseline} "
            f"| {ratio} | {row.target or '–'} | {met} |"
        )
    notes = [f"- {row.benchmark} ({row.database}): {row.note}" for row in rows if row.note]
    if notes:
        lines += ["", "## Notes", "", *notes]
    lines += ["", "Absolute medians of every measurement are in results.json (`details`).", ""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--size", choices=("full", "tiny"), default="full")
    parser.add_argument("--only", nargs="+", choices=NAMES, default=list(NAMES))
    parser.add_argument(
        "--databases", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"]
    )
    parser.add_argument("--out-dir", type=Path, default=HERE, help="where results.md/json go")
    args = parser.parse_args(argv)
    # Stopped (SIGTERM): unwind, so that every server this run started is stopped too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    started = time.time()
    load_before = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    fsync_before = fsync_ms()
    rows: list[Row] = []
    scratch = Path(tempfile.mkdtemp(prefix="organisatrice-bench-"))
    try:
        plain = [n for n in args.only if n not in NEEDS_DATABASE]
        if plain:
            rows += run_part(plain, args.size, None, scratch / "plain.json")
        with_db = [n for n in args.only if n in NEEDS_DATABASE]
        for database in args.databases if with_db else []:
            if database == "postgresql" and not _postgres_available():
                rows += [
                    Row(
                        benchmark=n,
                        database="PostgreSQL",
                        unit="",
                        ours=None,
                        note="skipped: no PostgreSQL server binaries (Debian's postgresql)",
                    )
                    for n in with_db
                ]
                continue
            rows += run_part(with_db, args.size, database, scratch / f"{database}.json")
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    rounds, warmup = rounds_for(args.size)
    facts: dict[str, object] = {
        **environment_facts(),
        "size": args.size,
        "rounds": rounds,
        "warmup": warmup,
        "load_before": load_before,
        "load_after": ", ".join(f"{v:.1f}" for v in os.getloadavg()),
        "fsync_ms": f"{fsync_before} ms before, {fsync_ms()} ms after",
        "seconds": round(time.time() - started),
        "finished": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "results.md").write_text(markdown(rows, facts))
    (args.out_dir / "results.json").write_text(
        json.dumps({"facts": facts, "rows": msgspec.to_builtins(rows)}, indent=2) + "\n"
    )
    print((args.out_dir / "results.md").read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
