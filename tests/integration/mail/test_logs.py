"""Logs a person can read: one line per email state change, with the email's id, its company and
the outcome, and nothing of what the email says; the libraries' chatter (every SMTP command,
every report's detectors, every PDF step) left out, and flufl.bounce's traceback for a report
without From too."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import aiosmtplib
import pytest
from litestar import Litestar
from weasyprint import HTML

from organisatrice.core.logs import QUIET, configure_logging
from organisatrice.mail.reports import parse_report
from organisatrice.mail.schemas import EmailStatus
from organisatrice.mail.state_log import log_email_state
from tests.integration.archive.helpers import drain, office, send
from tests.smtp_relay import smtp_relay

STATES = "organisatrice.mail.states"


def state_lines(caplog: pytest.LogCaptureFixture) -> list[tuple[int, int, str]]:
    return [
        (r.__dict__["email_id"], r.__dict__["company_id"], r.__dict__["outcome"])
        for r in caplog.records
        if r.name == STATES
    ]


async def test_each_attempt_logs_one_line_with_the_email_its_company_and_the_outcome(
    app: Litestar, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="organisatrice")
    with smtp_relay() as (relay, port):
        setup = await office(port, attachments=[])
        delivered = await send(app, setup, "anna.meier@client.example")
        await drain()
        relay.data_replies = ["451 4.3.0 Try again later"]
        deferred = await send(app, setup, "beat.frei@client.example")
        await drain()

    assert state_lines(caplog) == [
        (delivered["id"], setup.company, "queued"),
        (delivered["id"], setup.company, "sent"),
        (deferred["id"], setup.company, "queued"),
        (deferred["id"], setup.company, "deferred"),
    ]
    [line] = [r.getMessage() for r in caplog.records if r.name == STATES][1:2]
    assert line == f"email {delivered['id']} of company {setup.company}: sent"
    # Nothing of the email: not its addresses, its subject or its words.
    written = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("anna.meier", "beat.frei", delivered["subject"], "Im Anhang"):
        assert secret not in written


def test_a_state_line_names_the_email_its_company_and_the_outcome(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=STATES)
    log_email_state(42, 7, EmailStatus.DELIVERED)

    [record] = caplog.records
    assert (record.levelno, record.getMessage()) == (
        logging.INFO,
        "email 42 of company 7: delivered",
    )
    assert state_lines(caplog) == [(42, 7, "delivered")]


@pytest.fixture
def app_logging(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Logging as the app and its commands configure it, seen by caplog (configuring replaces
    the root's handlers, caplog's among them)."""
    configure_logging()
    root = logging.getLogger()
    root.addHandler(caplog.handler)
    yield
    root.removeHandler(caplog.handler)


NO_FROM = (
    b"To: postmaster@firm.example\r\nSubject: Undelivered Mail Returned to Sender\r\n"
    b"Content-Type: text/plain\r\n\r\nThe mail to anna.meier@client.example could not be "
    b"delivered.\r\n"
)


async def test_libraries_keep_quiet_and_our_lines_stay(
    app_logging: None, caplog: pytest.LogCaptureFixture
) -> None:
    with smtp_relay() as (relay, port):
        await aiosmtplib.send(
            b"Subject: x\r\n\r\nhello\r\n",
            sender="office@firm.example",
            recipients=["anna.meier@client.example"],
            hostname="127.0.0.1",
            port=port,
        )
    assert len(relay.received) == 1
    parse_report(NO_FROM)
    HTML(string="<p>Arbeitsrapport</p>").write_pdf()
    log_email_state(1, 2, EmailStatus.SENT)

    assert [r.name for r in caplog.records] == [STATES]


def test_the_noisy_libraries_stay_quiet_when_the_root_is_turned_up(app_logging: None) -> None:
    logging.getLogger().setLevel(logging.DEBUG)
    try:
        for name in QUIET:
            assert not logging.getLogger(name).isEnabledFor(logging.INFO), name
        assert logging.getLogger("organisatrice.mail.states").isEnabledFor(logging.INFO)
    finally:
        logging.getLogger().setLevel(logging.WARNING)
