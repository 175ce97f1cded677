"""Tracking health: a probe through the company's relay to its own return address is verified
when the inbound receiver takes it; what broke is said when it cannot be sent or does not come
back; a daily probe goes out once a day and tells back-office when it fails; reports that
could not be attributed are listed and can be downloaded as they arrived."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.policy import default
from typing import Any

from litestar import Litestar

from organisatrice.mail.tables import TrackingCheck
from organisatrice.mail.tracking import send_daily_probes
from organisatrice.roles.policy import Role
from tests.client import ApiClient
from tests.factories import make_company, make_employee, make_relay
from tests.integration.mail.test_inbound import _report, _sent, dsn
from tests.smtp_relay import RelayHandler, free_port, smtp_relay

BOUNCE_DOMAIN = "bounces.test.example"
PROBE_ADDRESS = re.compile(rf"^bounce\+[0-9a-f]{{32}}@{re.escape(BOUNCE_DOMAIN)}$")


async def _company(relay_port: int) -> tuple[int, str]:
    company = await make_company("Muster Haustechnik AG")
    await make_relay(company, relay_port)
    admin = await make_employee(company, roles={Role.BACKOFFICE})
    return company, admin.email


async def _health(app: Litestar, email: str) -> dict[str, Any]:
    async with ApiClient.signed_in(app, email) as api:
        answer = await api.get("/api/mail/tracking")
        assert answer.status_code == 200, answer.text
        health: dict[str, Any] = answer.json()
        return health


async def _verify(app: Litestar, email: str) -> dict[str, Any]:
    async with ApiClient.signed_in(app, email) as api:
        answer = await api.post("/api/mail/tracking/probe")
        assert answer.status_code == 200, answer.text
        health: dict[str, Any] = answer.json()
        return health


async def _until_verified(app: Litestar, email: str) -> dict[str, Any]:
    """The relay delivers onward after it answered; wait for that, as the UI polls."""
    for _ in range(100):
        health = await _health(app, email)
        if health["state"] != "waiting":
            return health
        await asyncio.sleep(0.05)
    return health


def _only_probe(relay: RelayHandler) -> Any:
    [probe] = relay.received
    return probe


async def test_a_probe_that_comes_back_through_the_receiver_verifies_tracking(
    app: Litestar, receiver: int
) -> None:
    with smtp_relay() as (relay, port):
        relay.mx[BOUNCE_DOMAIN] = receiver
        _, admin = await _company(port)
        assert (await _health(app, admin))["state"] == "never"
        sent = await _verify(app, admin)
        assert sent["state"] in ("waiting", "verified")
        health = await _until_verified(app, admin)
    assert health["state"] == "verified" and health["code"] == "tracking_verified"
    assert health["verified_at"] is not None
    assert BOUNCE_DOMAIN in health["detail"]
    probe = _only_probe(relay)
    # The way every report takes: to the return address, from the return address.
    assert PROBE_ADDRESS.match(probe.mail_from)
    assert probe.rcpt_tos == [probe.mail_from]
    message = message_from_bytes(probe.data, policy=default)
    assert message["From"].addresses[0].addr_spec == "office@firm.example"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Message-ID"].endswith("@firm.example>")


async def test_a_probe_that_does_not_come_back_says_to_check_the_mx_record(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        company, admin = await _company(port)
        assert (await _verify(app, admin))["state"] == "waiting"
    assert len(relay.received) == 1
    await TrackingCheck.update(
        {TrackingCheck.sent_at: datetime.now(UTC) - timedelta(minutes=11)}
    ).where(TrackingCheck.company == company)
    health = await _health(app, admin)
    assert health["state"] == "not_returned" and health["code"] == "tracking_not_returned"
    assert f"MX record of {BOUNCE_DOMAIN}" in health["detail"]
    assert health["verified_at"] is None


async def test_a_relay_that_refuses_the_probe_or_cannot_be_reached_is_named(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        _, admin = await _company(port)
        # The relay account may not use the return address.
        relay.sender_refusal = (PROBE_ADDRESS, "550 5.7.1 Sender address not owned by user")
        refused = await _verify(app, admin)
    assert refused["state"] == "failed" and refused["code"] == "probe_refused"
    assert "not owned by user" in refused["detail"]
    closed = free_port()
    _, other_admin = await _company(closed)
    down = await _verify(app, other_admin)
    assert down["state"] == "failed"
    assert down["code"].startswith("connection_"), down
    assert str(closed) in down["detail"]


async def test_a_daily_probe_goes_out_once_a_day_and_tells_back_office_when_it_fails(
    app: Litestar,
) -> None:
    with smtp_relay() as (relay, port):
        company, admin = await _company(port)
        async with ApiClient.signed_in(app, admin) as api:
            answer = await api.put("/api/mail/tracking", json={"daily": True})
            assert answer.status_code == 200, answer.text
            assert answer.json()["daily"] is True
        assert await send_daily_probes() >= 1
        assert len(relay.received) == 1
        await send_daily_probes()
        assert len(relay.received) == 1, "a second probe on the same day"
        # Nothing came back for a day: back-office is told, and tomorrow's probe goes out.
        await TrackingCheck.update(
            {TrackingCheck.sent_at: datetime.now(UTC) - timedelta(days=1, minutes=1)}
        ).where(TrackingCheck.company == company)
        async with ApiClient.signed_in(app, admin) as api:
            notices = (await api.get("/api/notifications/relay")).json()
        assert [n["code"] for n in notices] == ["tracking_not_returned"]
        await send_daily_probes()
        assert len(relay.received) == 2
    assert relay.received[0].mail_from != relay.received[1].mail_from


async def test_reports_that_match_no_recipient_are_listed_and_downloadable(
    app: Litestar, receiver: int
) -> None:
    setup, _email_id, token, message_id = await _sent(app, ["anna@client.example"])
    report = dsn(token, message_id, ("stranger@other.example", "failed", "5.1.1", "unknown"))
    await _report(receiver, token, report)
    async with ApiClient.signed_in(app, setup.dispatcher.email) as api:
        health = (await api.get("/api/mail/tracking")).json()
        [unmatched] = health["unmatched"]
        assert "stranger@other.example" in unmatched["problem"]
        download = await api.get(f"/api/mail/reports/{unmatched['id']}")
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("message/rfc822")
    assert download.content == report
