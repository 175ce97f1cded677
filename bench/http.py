"""HTTP: the app under uvicorn (`organisatrice serve`, a process of its own on a free loopback
port) and 32 concurrent clients in this process (one httpx.AsyncClient, 32 connections, signed
in as a dispatcher). Every load is bounded in requests and in seconds.

- Draft creation: `POST /api/orders/{id}/drafts` (template rendered, greeting, six blocks,
  attachments listed) against `GET /api/health` on the same server, the framework's floor.
- Send request: `POST …/drafts/{id}/send` for drafts composed beforehand (untimed): the email
  assembled from the draft and its attached document, frozen into the archive (blob written
  durably, archive row, hash chain, outbox row) and queued. The worker is off in the server, so
  the request is measured alone. The health endpoint runs alternately, for information.
  The p99 target is judged with 32 clients that each send once a second (a busy office). With
  32 clients that send again the moment they are answered, 32 requests are always in the
  server, and by Little's law a p99 under 50 ms would need more than 640 answers a second, more
  than the health endpoint gives on this machine: that row shows the capacity (sends/s).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx

from bench.common import (
    Measurement,
    Row,
    alternate,
    free_port,
    percentile,
    ratio_row,
    start_child,
    stop_child,
    with_cores_busy,
)

CONCURRENCY = 32
PACED_RATE = float(CONCURRENCY)  # requests per second, all clients together


@contextmanager
def app_server(env: dict[str, str], data_dir: Path, *, workers: int = 1) -> Iterator[str]:
    """The app on a free loopback port, on the benchmark's database; stopped on exit, and by the
    kernel if this process dies. Answers its base URL."""
    port = free_port()
    server_env = dict(env, HOST="127.0.0.1", PORT=str(port), WORKER_IN_APP="0")
    import os

    server_env = {**os.environ, **server_env}
    log = data_dir / f"server-{port}.log"
    command = [sys.executable, "-m", "organisatrice", "serve", "--workers", str(workers)]
    if profile := os.environ.get("BENCH_PROFILE"):
        spy = str(Path(sys.executable).parent / "py-spy")
        command = [spy, "record", "--nonblocking", "--format", "raw", "-o", profile, "--", *command]
    child = start_child(command, env=server_env, log=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/api/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if child.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the app server did not start:\n" + log.read_text()[-3000:])
            time.sleep(0.1)
        yield base
    except BaseException:
        # The scratch folder goes with the run: show why the server failed while it is there.
        print("the app server's log, last lines:\n" + log.read_text()[-3000:], file=sys.stderr)
        raise
    finally:
        if profile:
            # py-spy writes its profile when interrupted, and stops the server with it.
            child.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                child.wait(timeout=60)
        stop_child(child)


class Load:
    """`count` requests made by `clients` tasks, stopped after `seconds` whatever is left.

    Without a rate each client sends its next request as soon as the last one is answered (a
    closed loop: the server is kept saturated). With `rate` (requests per second, all clients
    together) request n is due at start + n / rate, whoever is free takes it, and its latency
    counts from when it was due, so a server that falls behind is charged for the wait."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        count: int,
        seconds: float,
        clients: int = CONCURRENCY,
        rate: float | None = None,
    ) -> None:
        self.client = client
        self.count = count
        self.seconds = seconds
        self.clients = clients
        self.rate = rate

    async def run(self, request: Callable[[int], Awaitable[httpx.Response]]) -> Measurement:
        latencies: list[float] = []
        failures: list[str] = []
        next_index = iter(range(self.count))
        start = time.perf_counter()
        deadline = start + self.seconds

        async def worker() -> None:
            for n in next_index:
                if time.perf_counter() > deadline:
                    return
                began = time.perf_counter()
                if self.rate is not None:
                    began = start + n / self.rate
                    await asyncio.sleep(max(0.0, began - time.perf_counter()))
                answer = await request(n)
                latencies.append((time.perf_counter() - began) * 1000)
                if answer.status_code >= 300:
                    failures.append(f"{answer.status_code} {answer.text[:300]}")

        await asyncio.gather(*(worker() for _ in range(self.clients)))
        seconds = time.perf_counter() - start
        if failures:
            raise RuntimeError(f"{len(failures)} requests failed, the first: {failures[0]}")
        return {
            "requests/s": len(latencies) / seconds,
            "p50 ms": percentile(latencies, 50),
            "p99 ms": percentile(latencies, 99),
            "requests": float(len(latencies)),
        }


class Office:
    """A company ready to email, made directly in the database: a dispatcher, an order with work
    done and a contact, a work report template, a template that attaches the order's documents,
    and a relay whose limits a benchmark does not reach."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.company: int = values["company"]
        self.dispatcher: str = values["dispatcher"]
        self.order: int = values["order"]
        self.contact: int = values["contact"]
        self.report_template: int = values["report_template"]
        self.document_template: int = values["document_template"]


async def make_office() -> Office:
    from organisatrice.roles.policy import Role
    from tests.factories import (
        make_company,
        make_contact,
        make_employee,
        make_order,
        make_relay,
        make_template,
        set_company,
    )

    company = await make_company(f"Bench AG {time.time_ns()}")
    await make_relay(company, 2525, daily_limit=10**9, monthly_limit=10**9)
    await set_company(company, phone="+41 44 123 45 67", email="info@bench.example")
    dispatcher = await make_employee(company, roles={Role.DISPATCHER}, first_name="Lea")
    technician = await make_employee(company, roles={Role.TECHNICIAN}, first_name="Tom")
    order = await make_order(company, technician_id=technician.id)
    contact = await make_contact(company, client_id=order.client_id)
    report_template = await make_template(company, attachments=["work_report"])
    document_template = await make_template(
        company, kind="general", name="Documents", attachments=["documents"]
    )
    return Office(
        {
            "company": company,
            "dispatcher": dispatcher.email,
            "order": order.id,
            "contact": contact,
            "report_template": report_template,
            "document_template": document_template,
        }
    )


def csrf_headers(client: httpx.AsyncClient) -> dict[str, str]:
    return {"x-csrftoken": client.cookies.get("csrftoken") or ""}


async def signed_in(base: str, email: str) -> httpx.AsyncClient:
    from tests.factories import DEFAULT_PASSWORD

    client = httpx.AsyncClient(
        base_url=base,
        timeout=120,
        limits=httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY),
    )
    await client.get("/api/health")  # hands out the CSRF cookie, as the page load does
    answer = await client.post(
        "/api/session",
        json={"email": email, "password": DEFAULT_PASSWORD},
        headers=csrf_headers(client),
    )
    answer.raise_for_status()
    return client


def _attachment() -> bytes:
    """An offer PDF of about 20 KB, so that the email is about 30 KB."""
    from tests.factories import make_pdf

    # The text makes it that long: a real PDF, which the upload's check opens.
    return make_pdf("Offer 4711 " + "x" * 20_000)


async def run(
    name: str,
    size: str,
    database: str,
    *,
    rounds: int,
    warmup: int,
    env: dict[str, str],
    data_dir: Path,
) -> list[Row]:
    count, seconds = (1000, 15.0) if size == "full" else (20, 30.0)
    office = await make_office()
    if name == "send_workers":
        with app_server(env, data_dir) as one, app_server(env, data_dir, workers=2) as two:
            clients = {1: await signed_in(one, office.dispatcher)}
            clients[2] = await signed_in(two, office.dispatcher)
            try:
                return [await _scale_out(clients, office, count // 3, database, rounds, warmup)]
            finally:
                for client in clients.values():
                    await client.aclose()
    with app_server(env, data_dir) as base:
        client = await signed_in(base, office.dispatcher)
        try:
            if name == "drafts":
                return [await _drafts(client, office, count, seconds, database, rounds, warmup)]
            return await _sends(client, office, count // 3, seconds, database, rounds, warmup)
        finally:
            await client.aclose()


async def _health(load: Load) -> Measurement:
    client = load.client
    return await load.run(lambda _: client.get("/api/health"))


async def _drafts(
    client: httpx.AsyncClient,
    office: Office,
    count: int,
    seconds: float,
    database: str,
    rounds: int,
    warmup: int,
) -> Row:
    load = Load(client, count=count, seconds=seconds)
    url = f"/api/orders/{office.order}/drafts"
    body = {"template_id": office.report_template, "contact_id": office.contact}
    headers = csrf_headers(client)

    async def drafts() -> Measurement:
        return await load.run(lambda _: client.post(url, json=body, headers=headers))

    async def health() -> Measurement:
        return await _health(load)

    measured = await alternate({"drafts": drafts, "health": health}, rounds=rounds, warmup=warmup)
    return ratio_row(
        benchmark=f"Draft creation, {CONCURRENCY} clients",
        database=database,
        unit="requests/s",
        ours=measured["drafts"],
        baseline=measured["health"],
        baseline_name="GET /api/health, same server",
        key="requests/s",
        target="≥ 0.3× health",
        met=lambda r: r is not None and r >= 0.3,
        note=(
            f"p99 {measured['drafts']['p99 ms']:.0f} ms "
            f"(health {measured['health']['p99 ms']:.0f} ms)"
        ),
    )


async def _sends(
    client: httpx.AsyncClient,
    office: Office,
    count: int,
    seconds: float,
    database: str,
    rounds: int,
    warmup: int,
) -> list[Row]:
    headers = csrf_headers(client)
    uploaded = await client.post(
        f"/api/orders/{office.order}/documents",
        files={"file": ("Offer 4711.pdf", _attachment(), "application/pdf")},
        data={"kind": "offer"},
        headers=headers,
    )
    if uploaded.status_code != 201:
        raise RuntimeError(f"the offer's upload was refused: {uploaded.text}")
    body = _document_email(office)
    compose = Load(client, count=count, seconds=600)
    shapes = [
        # 32 clients that each send once a second: busy, but not more than the server can serve.
        _SendShape(
            " paced",
            Load(client, count=count, seconds=seconds, rate=PACED_RATE),
            f"{CONCURRENCY} clients sending once a second each",
            health="same pace",
        ),
        # 32 clients sending back to back: the server's capacity.
        _SendShape(
            "",
            Load(client, count=count, seconds=seconds),
            f"{CONCURRENCY} clients sending back to back",
            target=False,
            saturated=True,
        ),
        # One client at a time: the request's own time, without waiting behind 31 others.
        _SendShape(
            " alone",
            Load(client, count=min(count, 100), seconds=seconds, clients=1),
            "one client at a time",
            health="one client",
            target=False,
        ),
    ]
    drafts: list[int] = []
    send_one = _sender(client, office, drafts)

    async def between(contender: str) -> None:
        if contender.startswith("send"):
            await _compose(compose, office, body, drafts)

    contenders: dict[str, Callable[[], Awaitable[Measurement]]] = {}
    for shape in shapes:
        contenders[f"send{shape.suffix}"] = functools.partial(shape.load.run, send_one)
        contenders[f"health{shape.suffix}"] = functools.partial(_health, shape.load)
    measured = await alternate(contenders, rounds=rounds, warmup=warmup, between=between)
    rows = []
    for shape in shapes:
        ours = measured[f"send{shape.suffix}"]
        row = ratio_row(
            benchmark=f"Send request (about 30 KB), {shape.label}",
            database=database,
            unit="p99 ms",
            ours=ours,
            baseline=measured[f"health{shape.suffix}"],
            baseline_name=f"GET /api/health p99, {shape.health}",
            key="p99 ms",
            target="p99 < 50 ms" if shape.target else "(information)",
            note=f"p50 {ours['p50 ms']:.1f} ms, {ours['requests/s']:.0f} sends/s"
            + (_little(measured) if shape.saturated else ""),
        )
        if shape.target:
            row.met = ours["p99 ms"] < 50
        rows.append(row)
    return rows


def _document_email(office: Office) -> dict[str, int]:
    return {"template_id": office.document_template, "contact_id": office.contact}


async def _compose(load: Load, office: Office, body: dict[str, int], drafts: list[int]) -> None:
    """`load.count` new drafts into `drafts`, to be sent next."""
    drafts.clear()
    client = load.client
    headers = csrf_headers(client)

    async def one(_: int) -> httpx.Response:
        answer = await client.post(f"/api/orders/{office.order}/drafts", json=body, headers=headers)
        if answer.status_code == 201:
            drafts.append(int(answer.json()["id"]))
        return answer

    await load.run(one)


def _sender(
    client: httpx.AsyncClient, office: Office, drafts: list[int]
) -> Callable[[int], Awaitable[httpx.Response]]:
    headers = csrf_headers(client)

    def send_one(n: int) -> Awaitable[httpx.Response]:
        return client.post(f"/api/orders/{office.order}/drafts/{drafts[n]}/send", headers=headers)

    return send_one


async def _scale_out(
    clients: dict[int, httpx.AsyncClient],
    office: Office,
    count: int,
    database: str,
    rounds: int,
    warmup: int,
) -> Row:
    """Send requests back to back from CONCURRENCY clients to `serve --workers 2` and to
    `--workers 1`, the same server otherwise, on the same database."""
    body = _document_email(office)
    drafts: dict[int, list[int]] = {workers: [] for workers in clients}
    contenders: dict[str, Callable[[], Awaitable[Measurement]]] = {}
    for workers, client in clients.items():
        load = Load(client, count=count, seconds=600)
        contenders[f"{workers}"] = functools.partial(
            with_cores_busy, functools.partial(load.run, _sender(client, office, drafts[workers]))
        )

    async def between(contender: str) -> None:
        client = clients[int(contender)]
        await _compose(Load(client, count=count, seconds=600), office, body, drafts[int(contender)])

    measured = await alternate(contenders, rounds=rounds, warmup=warmup, between=between)
    return ratio_row(
        benchmark=f"Send requests, {CONCURRENCY} clients back to back: 2 app processes vs 1",
        database=database,
        unit="sends/s",
        ours=measured["2"],
        baseline=measured["1"],
        baseline_name="the same server with 1 process",
        key="requests/s",
        target="≥ 1.5× (2 cores)",
        met=lambda r: r is not None and r >= 1.5,
        note=(
            f"p99 {measured['2']['p99 ms']:.0f} ms with 2 processes, "
            f"{measured['1']['p99 ms']:.0f} ms with 1; the {CONCURRENCY} clients run on the "
            f"same 2 cores; cores busy (every process: servers, their render workers, the "
            f"database, the clients): {measured['1']['cores busy']:.2f} of 2 with 1 process, "
            f"{measured['2']['cores busy']:.2f} with 2 (a second process can only add what the "
            f"first leaves idle)"
        ),
    )


def _little(measured: dict[str, Measurement]) -> str:
    """Why a closed loop of 32 cannot have a p99 under 50 ms here (Little's law: requests in
    the server = answers per second × seconds each)."""
    needed = CONCURRENCY / 0.050
    floor = measured["health"]["requests/s"]
    return (
        f"; {CONCURRENCY} always waiting: a p99 under 50 ms needs over {needed:.0f} answers/s, "
        f"GET /api/health gives {floor:.0f}/s"
    )


class _SendShape(NamedTuple):
    """One way the send request is loaded, and the row that reports it."""

    suffix: str
    load: Load
    label: str
    health: str = "same server"
    target: bool = True
    saturated: bool = False  # a closed loop: its note says why no p99 target can hold
