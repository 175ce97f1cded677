"""What every benchmark shares: the environment the app reads, alternating rounds, medians, the
result rows, and child processes that die with the benchmark.

Nothing here imports the app: `app_environment` must run before `organisatrice` is imported,
because the settings are read once per process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import msgspec

ROOT = Path(__file__).resolve().parent.parent
Size = Literal["full", "tiny"]

# A measurement: named numbers (a rate, percentiles, a peak); the first key is the one compared.
Measurement = dict[str, float]


class Row(msgspec.Struct, kw_only=True):
    """One line of the results table. `ratio` is ours ÷ baseline in the row's own unit; the
    target says which way is good."""

    benchmark: str
    database: str = "-"
    unit: str
    ours: float | None
    baseline: float | None = None
    baseline_name: str = ""
    ratio: float | None = None
    target: str = ""
    met: bool | None = None
    # Absolute medians and other facts, for information.
    details: dict[str, float | str] = {}
    note: str = ""


def app_environment(data_dir: Path, database_url: str | None = None) -> dict[str, str]:
    """The variables the app reads, for this process and the servers it starts: a throwaway data
    folder, a fixed secret, no worker inside the app (benchmarks drive the worker themselves)."""
    env = {
        "DATA_DIR": str(data_dir),
        "BLOB_ROOT": str(data_dir / "blobs"),
        "SECRET_KEY": "benchmark-secret-key-not-for-production",
        "PICCOLO_CONF": "organisatrice.piccolo_conf",
        "DATABASE_URL": database_url
        or os.environ.get("DATABASE_URL")
        or f"sqlite:///{data_dir / 'bench.db'}",
        "WORKER_IN_APP": "0",
        "SMTP_CAPTURE": "0",
        "INBOUND_IN_APP": "0",
        # The relays and sinks the benchmarks start listen on loopback, which the outbound
        # guard refuses for a company's relay unless the operator allows it.
        "OUTBOUND_ALLOWED_HOSTS": "127.0.0.1",
    }
    os.environ.update(env)
    return env


def scratch_dir(prefix: str) -> Path:
    return Path(tempfile.mkdtemp(prefix=f"organisatrice-bench-{prefix}-"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _die_with_parent() -> None:  # pragma: no cover - runs in the child between fork and exec
    # PR_SET_PDEATHSIG: the kernel sends SIGTERM when the benchmark process ends, however it ends.
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(1, signal.SIGTERM)


def start_child(
    args: Sequence[str], *, env: Mapping[str, str] | None = None, log: Path | None = None
) -> subprocess.Popen[bytes]:
    """A server for the benchmark that stops when the benchmark stops, even if it is killed."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - lives with the child
    return subprocess.Popen(  # noqa: S603 - our own commands
        list(args),
        env=dict(env) if env is not None else None,
        stdout=out,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
        preexec_fn=_die_with_parent if sys.platform == "linux" else None,
    )


def stop_child(child: subprocess.Popen[bytes], timeout: float = 10) -> None:
    if child.poll() is None:
        child.terminate()
        try:
            child.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


def wait_for_port(port: int, child: subprocess.Popen[bytes], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise RuntimeError(f"{child.args!r} exited with {child.returncode}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100), nearest rank: an observed value, never an interpolation."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def medians(rounds: list[Measurement]) -> Measurement:
    keys = rounds[0].keys() if rounds else ()
    return {k: statistics.median(r[k] for r in rounds) for k in keys}


async def alternate(
    contenders: Mapping[str, Callable[[], Awaitable[Measurement]]],
    *,
    rounds: int,
    warmup: int,
    between: Callable[[str], Awaitable[None]] | None = None,
) -> dict[str, Measurement]:
    """Run every contender once per round, in an order that rotates each round so that none is
    always first or last; drop the warm-up rounds; answer each contender's medians."""
    names = list(contenders)
    kept: dict[str, list[Measurement]] = {n: [] for n in names}
    for r in range(warmup + rounds):
        shift = r % len(names)
        for name in names[shift:] + names[:shift]:
            if between is not None:
                await between(name)
            measured = await contenders[name]()
            if r >= warmup:
                kept[name].append(measured)
        print(
            f"    round {r + 1}/{warmup + rounds}{' (warm-up)' if r < warmup else ''}: "
            + "; ".join(f"{n} {_brief(kept[n][-1]) if r >= warmup else '-'}" for n in names),
            flush=True,
        )
    return {n: medians(kept[n]) for n in names}


def _brief(measured: Measurement) -> str:
    return ", ".join(f"{key} {value:.3g}" for key, value in measured.items())


def ratio_row(
    *,
    benchmark: str,
    database: str,
    unit: str,
    ours: Measurement,
    baseline: Measurement | None,
    baseline_name: str,
    key: str,
    target: str,
    met: Callable[[float | None], bool | None] | None = None,
    note: str = "",
) -> Row:
    """A row comparing `key` of two measurements; `met` judges the ratio (or None: no target)."""
    value = ours[key]
    base = baseline[key] if baseline is not None else None
    ratio = value / base if base else None
    details: dict[str, float | str] = {f"ours {k}": round(v, 3) for k, v in ours.items()}
    if baseline is not None:
        details.update({f"baseline {k}": round(v, 3) for k, v in baseline.items()})
    return Row(
        benchmark=benchmark,
        database=database,
        unit=unit,
        ours=value,
        baseline=base,
        baseline_name=baseline_name,
        ratio=ratio,
        target=target,
        met=met(ratio) if met is not None else None,
        details=details,
        note=note,
    )


def _cpu_ticks() -> tuple[int, int]:
    """The machine's busy and total CPU ticks since boot (/proc/stat, all cores)."""
    with open("/proc/stat") as stat:
        ticks = [int(v) for v in stat.readline().split()[1:]]
    idle = ticks[3] + ticks[4]  # idle and iowait
    return sum(ticks) - idle, sum(ticks)


async def with_cores_busy(run: Callable[[], Awaitable[Measurement]]) -> Measurement:
    """`run`'s measurement plus how many of the machine's cores were busy meanwhile (every
    process: the server, its helpers, the database and the load generator)."""
    busy, total = _cpu_ticks()
    measured = await run()
    busy_after, total_after = _cpu_ticks()
    share = (busy_after - busy) / max(total_after - total, 1)
    return {**measured, "cores busy": share * (os.cpu_count() or 1)}


def elapsed(start: float) -> float:
    return time.perf_counter() - start


def dump_rows(rows: list[Row], path: Path) -> None:
    path.write_bytes(msgspec.json.encode(rows))


def load_rows(path: Path) -> list[Row]:
    return msgspec.json.decode(path.read_bytes(), type=list[Row])


def fsync_ms(samples: int = 30) -> float:
    """The median time of writing 4 KB and waiting for the disk (what each SQLite commit and each
    durable blob costs), measured in a scratch folder."""
    folder = Path(tempfile.mkdtemp(prefix="organisatrice-bench-fsync-"))
    times = []
    try:
        fd = os.open(folder / "probe", os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            for _ in range(samples):
                start = time.perf_counter()
                os.write(fd, b"x" * 4096)
                os.fsync(fd)
                times.append((time.perf_counter() - start) * 1000)
        finally:
            os.close(fd)
    finally:
        for child in folder.iterdir():
            child.unlink()
        folder.rmdir()
    return round(statistics.median(times), 2)


def environment_facts() -> dict[str, Any]:
    return {"cpus": os.cpu_count() or 1, "python": sys.version.split()[0]}
