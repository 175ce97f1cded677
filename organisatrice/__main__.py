"""The `organisatrice` command: Litestar's CLI under our name, plus our own commands."""

from __future__ import annotations

import asyncio
import getpass
import os
import sys
import tempfile
from pathlib import Path

import click

os.environ.setdefault("LITESTAR_APP", "organisatrice.app:create_app")

from litestar.cli.main import litestar_group

from organisatrice.core.metrics import MULTIPROCESS_DIR
from organisatrice.settings import get_settings


@litestar_group.command("migrate")
def migrate_command() -> None:
    """Apply every pending database migration."""
    from organisatrice.core.db import migrate

    asyncio.run(migrate())


@litestar_group.command("serve")
@click.option("--workers", default=1, show_default=True, help="Number of app processes.")
def serve_command(workers: int) -> None:
    """Serve the app on HOST:PORT (default 127.0.0.1:8000) with uvicorn, uvloop and httptools."""
    import uvicorn

    from organisatrice.core.logs import server_log_config

    settings = get_settings()
    if settings.log_format != "json":  # a collector reads every line as JSON
        click.echo(
            f"Organisatrice on http://{settings.host}:{settings.port} ({settings.database_kind})"
        )
    if workers > 1 and not os.environ.get(MULTIPROCESS_DIR):
        # The app processes count into one fresh folder, so that /metrics, answered by any one
        # of them, adds up all of them; it goes when they do.
        counts = tempfile.TemporaryDirectory(prefix="organisatrice-metrics-")
        os.environ[MULTIPROCESS_DIR] = counts.name
    uvicorn.run(
        "organisatrice.app:create_served_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        workers=workers,
        loop="uvloop",
        http="httptools",
        proxy_headers=False,
        log_level="info",
        log_config=server_log_config(),
        # Longer than clients keep an idle connection (httpx: 5 s, uvicorn's default too): at
        # equal timeouts the server closed connections that a client was just reusing, and
        # uvloop runs that timer before it reads the request already waiting on the socket.
        timeout_keep_alive=75,
    )


@litestar_group.command("worker")
def worker_command() -> None:
    """Send queued emails, webhook events and notifications employees asked for by email, as a
    process of its own (set WORKER_IN_APP=0 on the app then)."""
    import signal

    from organisatrice.archive.notice_mail import run_notice_mail
    from organisatrice.core.collector import freeze_startup
    from organisatrice.core.db import prepare_engine, release_engine
    from organisatrice.core.logs import configure_logging
    from organisatrice.events.delivery import run_webhooks
    from organisatrice.mail.worker import run_worker

    configure_logging()

    async def work() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await prepare_engine()
        freeze_startup()
        try:
            await asyncio.gather(run_worker(stop), run_webhooks(stop), run_notice_mail(stop))
        finally:
            await release_engine()

    asyncio.run(work())


@litestar_group.command("inbound")
def inbound_command() -> None:
    """Receive delivery reports and read receipts on INBOUND_HOST:INBOUND_PORT."""
    import signal

    from organisatrice.core.collector import freeze_startup
    from organisatrice.core.db import prepare_engine, release_engine
    from organisatrice.core.logs import configure_logging
    from organisatrice.mail.inbound import start_inbound

    configure_logging()

    async def receive() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, stop.set)
        await prepare_engine()
        settings = get_settings()
        controller = start_inbound(settings.inbound_host, settings.inbound_port, loop)
        freeze_startup()
        try:
            await stop.wait()
        finally:
            controller.stop()
            await release_engine()

    asyncio.run(receive())


@litestar_group.command("demo-data")
@click.option("--if-empty", is_flag=True, help="Load only when the database has no company yet.")
@click.option("--orders", default=200, show_default=True, help="Orders per company.")
def demo_data_command(if_empty: bool, orders: int) -> None:
    """Load two demo companies with employees, clients, orders and photos."""
    from organisatrice.demo import load_demo_data

    loaded = asyncio.run(load_demo_data(if_empty=if_empty, orders_per_company=orders))
    click.echo(loaded)


@litestar_group.command("create-employee")
@click.option("--company", "company_name", required=True, help="Company name (created if new).")
@click.option("--email", required=True)
@click.option("--first-name", required=True)
@click.option("--last-name", required=True)
@click.option("--role", "roles", multiple=True, required=True, help="dispatcher, coordinator, ...")
def create_employee_command(
    company_name: str, email: str, first_name: str, last_name: str, roles: tuple[str, ...]
) -> None:
    """Create an employee (asks for the password)."""
    from organisatrice.roles.accounts import create_employee_with_company

    password = os.environ.get("ORGANISATRICE_PASSWORD") or getpass.getpass("Password: ")
    try:
        employee_id = asyncio.run(
            create_employee_with_company(
                company_name=company_name,
                email=email,
                first_name=first_name,
                last_name=last_name,
                roles=roles,
                password=password,
            )
        )
    except Exception as exc:
        detail = getattr(exc, "detail", None)
        if detail is None:
            raise
        click.echo(f"Error: {detail}", err=True)
        sys.exit(2)
    click.echo(f"Employee {employee_id} created.")


@litestar_group.group("archive")
def archive_group() -> None:
    """The sent-mail archive."""


@archive_group.command("verify")
@click.option(
    "--checkpoint",
    "checkpoint_file",
    type=click.Path(exists=True, dir_okay=False),
    help="A file `archive checkpoint` printed: its signed heads must still be in the archive.",
)
def archive_verify_command(checkpoint_file: str | None) -> None:
    """Check every archived email's bytes, facts, notes and history against the keyed chain and
    its signed heads; name the first entry that fails (exit 1)."""
    import msgspec

    from organisatrice.archive.integrity import HeadCheckpoint, verify_all, verify_checkpoint
    from organisatrice.core.db import prepare_engine, release_engine

    kept = (
        [
            msgspec.json.decode(line, type=HeadCheckpoint)
            for line in Path(checkpoint_file).read_bytes().splitlines()
            if line.strip()
        ]
        if checkpoint_file is not None
        else []
    )

    async def verify() -> None:
        await prepare_engine()
        try:
            result = await verify_all()
            problems = [result.problem] if not result.intact else []
            problems += [await verify_checkpoint(checkpoint) for checkpoint in kept]
        finally:
            await release_engine()
        problems = [p for p in problems if p]
        if problems:
            click.echo(f"Archive NOT intact: {problems[0]}", err=True)
            sys.exit(1)
        click.echo(f"Archive intact: {result.entries} emails of {result.companies} companies.")

    asyncio.run(verify())


@archive_group.command("checkpoint")
def archive_checkpoint_command() -> None:
    """Print each company's chain head, signed with the archive key, one JSON line each: keep
    it outside this machine, and give it to `archive verify --checkpoint` later."""
    import msgspec

    from organisatrice.archive.integrity import checkpoints
    from organisatrice.core.db import prepare_engine, release_engine

    async def made() -> None:
        await prepare_engine()
        try:
            for checkpoint in await checkpoints():
                click.echo(msgspec.json.encode(checkpoint).decode())
        finally:
            await release_engine()

    asyncio.run(made())


@litestar_group.command("backup")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def backup_command(folder: Path) -> None:
    """Copy the database, every blob and the data folder's keys into FOLDER (new or empty).
    Safe while the app runs. Keep the folder as safe as the data itself: it holds the keys."""
    from organisatrice.backup import BackupProblem, backup

    try:
        made = asyncio.run(backup(folder))
    except BackupProblem as problem:
        click.echo(f"Error: {problem}", err=True)
        sys.exit(2)
    click.echo(f"Backed up the {made.database} database, {made.blobs} blobs and the keys.")


@litestar_group.command("restore")
@click.argument("folder", type=click.Path(exists=True, file_okay=False, path_type=Path))
def restore_command(folder: Path) -> None:
    """Restore a backup into this installation: a new database (before `migrate`), an empty
    data folder, and the blob store that BLOB_URL names. Then run `archive verify`."""
    from organisatrice.backup import BackupProblem, restore

    try:
        made = asyncio.run(restore(folder))
    except BackupProblem as problem:
        click.echo(f"Error: {problem}", err=True)
        sys.exit(2)
    click.echo(
        f"Restored the backup of {made.made_at:%Y-%m-%d %H:%M} UTC: the database and "
        f"{made.blobs} blobs. Check it with `organisatrice archive verify`."
    )


@litestar_group.group("blobs")
def blobs_group() -> None:
    """The blob store: photos, documents, logos, archived messages."""


@blobs_group.command("sweep")
def blobs_sweep_command() -> None:
    """Remove the blobs that no row names and that are older than BLOB_GRACE_HOURS (failed
    uploads, replaced logos, archives past retention). Safe while the app runs; run it daily."""
    from organisatrice.core.blobs import sweep
    from organisatrice.core.db import prepare_engine, release_engine

    async def swept() -> None:
        await prepare_engine()
        try:
            result = await sweep()
        finally:
            await release_engine()
        click.echo(
            f"Removed {result.removed} of {result.blobs} blobs: named by no row and older than "
            f"{get_settings().blob_grace_hours} h."
        )

    asyncio.run(swept())


def main() -> None:
    litestar_group(prog_name="organisatrice")


if __name__ == "__main__":
    main()
