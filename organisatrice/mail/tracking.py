"""Tracking health: can delivery reports find their way back to the app?

Every status after "sent" depends on reports reaching the inbound receiver: the relay must
take our return address, and mail for the bounce domain must reach the receiver (the domain's
MX record). A probe travels that whole way: a short email from the company's sending address,
through its relay, to a return address of its own (bounce+TOKEN@bounce-domain). When the
receiver takes it, tracking is verified; when it has not come back within PROBE_DEADLINE,
the check says what to look at. Back-office sends one by hand or has one go out every day
(the mail worker sends those). The reports the receiver kept but could not attribute are
listed beside it, for back-office to look at.
"""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from organisatrice.core.blobs import blob_store
from organisatrice.core.codes import Code
from organisatrice.core.errors import NotFound
from organisatrice.core.structs import In, Out
from organisatrice.mail.message import Address, MessageSpec, build_message
from organisatrice.mail.outbox import bounce_domain, new_token, tracking_address
from organisatrice.mail.relay import relay_of
from organisatrice.mail.smtp import Envelope, RelaySession, RelayUnavailable
from organisatrice.mail.tables import InboundReport, TrackingCheck
from organisatrice.roles.policy import Actor
from organisatrice.roles.staff import sender_address
from organisatrice.roles.tables import Company
from organisatrice.settings import get_settings

# Reports come back in seconds through a working MX; ten minutes leaves room for a relay
# that queues before delivering.
PROBE_DEADLINE = timedelta(minutes=10)
DAILY = timedelta(days=1)
UNMATCHED_SHOWN = 50
_PROBE_TEXT = (
    "This message checks that delivery reports reach Organisatrice for {company}. "
    "It was sent to the company's own return address; nobody needs to read it."
)


class TrackingState(StrEnum):
    NEVER = "never"
    WAITING = "waiting"
    VERIFIED = "verified"
    NOT_RETURNED = "not_returned"
    FAILED = "failed"


class UnmatchedReportOut(Out):
    """A report the receiver kept without being able to say what it is about."""

    id: int
    received_at: datetime
    envelope_from: str
    kind: str
    problem: str
    email_id: int | None


class TrackingOut(Out):
    """The last probe: `state` and `code` are stable (the UI words them), `detail` says it in
    English. `verified_at` is when a probe last came back, whatever the last one did."""

    state: TrackingState
    code: str
    detail: str
    daily: bool
    bounce_domain: str
    sent_at: datetime | None
    verified_at: datetime | None
    unmatched: list[UnmatchedReportOut]


class TrackingIn(In):
    daily: bool


def _now() -> datetime:
    return datetime.now(UTC)


async def _check(company_id: int) -> dict[str, object] | None:
    row = await TrackingCheck.select().where(TrackingCheck.company == company_id).first()
    return dict(row) if row else None


async def _save(company_id: int, values: dict[str, object]) -> None:
    """Change the company's one check row, made on first use."""
    await TrackingCheck.insert(TrackingCheck(company=company_id)).on_conflict(
        target=TrackingCheck.company, action="DO NOTHING"
    )
    await TrackingCheck.update(
        {getattr(TrackingCheck, name): value for name, value in values.items()}
    ).where(TrackingCheck.company == company_id)


async def send_probe(company_id: int) -> None:
    """Send a probe through the company's relay to its own return address, and remember its
    token; a relay that cannot be reached or refuses it is recorded as what broke."""
    relay = await relay_of(company_id)
    sender = await sender_address(company_id)
    token = new_token()
    values: dict[str, object] = {
        "probe_token": token,
        "sent_at": _now(),
        "returned_at": None,
        "problem": "",
        "problem_code": "",
    }
    if not sender:
        values |= {
            "problem": "The company has no sending address: enter one in the company details.",
            "problem_code": "sender_missing",
        }
        await _save(company_id, values)
        return
    address = tracking_address(token, relay, sender)
    company = await Company.select(Company.name).where(Company.id == company_id).first()
    name = company["name"] if company else ""
    built = build_message(
        MessageSpec(
            sender=Address(sender, name),
            reply_to=None,
            to=[Address(address)],
            cc=[],
            bcc=[],
            subject="Tracking check",
            text=_PROBE_TEXT.format(company=name),
            html=f"<!doctype html><p>{html.escape(_PROBE_TEXT.format(company=name))}</p>",
            attachments=[],
            inline_images=[],
            message_id_domain=sender.rsplit("@", 1)[-1],
            date=_now(),
            # RFC 3834: no mail program answers it with an out-of-office.
            headers={"Auto-Submitted": "auto-generated"},
        )
    )
    # Saved before sending: the receiver may take the probe before the relay has answered.
    await _save(company_id, values)
    envelope = Envelope(sender=address, recipients=[address], data=built.data, envelope_id=token)
    try:
        async with RelaySession(relay, timeout=min(get_settings().smtp_timeout, 15)) as session:
            result = await session.send(envelope)
    except RelayUnavailable as unavailable:
        await _failed(company_id, token, unavailable.text, unavailable.code or "connection_failed")
        return
    refusal = result.whole or next(iter(result.refused.values()), None)
    if refusal is not None:
        await _failed(
            company_id,
            token,
            f"The relay refused the probe to {address}: {refusal.text}",
            "probe_refused",
        )


async def _failed(company_id: int, token: str, problem: str, code: str) -> None:
    await TrackingCheck.update(
        {TrackingCheck.problem: problem, TrackingCheck.problem_code: code}
    ).where((TrackingCheck.company == company_id) & (TrackingCheck.probe_token == token))


async def known_probe(token: str) -> bool:
    return bool(await TrackingCheck.exists().where(TrackingCheck.probe_token == token))


async def probe_returned(token: str) -> bool:
    """The receiver took mail for `token`: when it is a probe's, tracking is verified (again:
    the relay's own delivery report may follow the probe) and the answer is True."""
    if not await known_probe(token):
        return False
    now = _now()
    await TrackingCheck.update(
        {TrackingCheck.returned_at: now, TrackingCheck.verified_at: now}
    ).where((TrackingCheck.probe_token == token) & TrackingCheck.returned_at.is_null())
    return True


def _state(row: dict[str, object] | None, now: datetime) -> tuple[TrackingState, str]:
    if row is None or row["sent_at"] is None:
        return TrackingState.NEVER, "tracking_never"
    if row["problem_code"]:
        return TrackingState.FAILED, str(row["problem_code"])
    if row["returned_at"] is not None:
        return TrackingState.VERIFIED, "tracking_verified"
    sent_at = row["sent_at"]
    assert isinstance(sent_at, datetime)
    if now - sent_at < PROBE_DEADLINE:
        return TrackingState.WAITING, "tracking_waiting"
    return TrackingState.NOT_RETURNED, "tracking_not_returned"


def _detail(state: TrackingState, row: dict[str, object] | None, domain: str, zone: str) -> str:
    def at(name: str) -> str:
        value = row[name] if row else None
        assert isinstance(value, datetime)
        return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")

    if state is TrackingState.NEVER:
        return "No probe has been sent yet."
    if state is TrackingState.FAILED:
        assert row is not None
        return str(row["problem"])
    if state is TrackingState.VERIFIED:
        return f"Tracking verified at {at('returned_at')}: reports sent to {domain} reach the app."
    if state is TrackingState.WAITING:
        return f"The probe went out at {at('sent_at')}; waiting for it to come back."
    minutes = int(PROBE_DEADLINE.total_seconds() // 60)
    return (
        f"The probe went out at {at('sent_at')} but did not come back within {minutes} "
        f"minutes: mail for {domain} does not reach the inbound receiver. Check that the MX "
        f"record of {domain} points to it."
    )


async def unmatched_reports(actor: Actor) -> list[UnmatchedReportOut]:
    rows = (
        await InboundReport.select()
        .where((InboundReport.company == actor.company_id) & (InboundReport.problem != ""))
        .order_by(InboundReport.received_at, ascending=False)
        .limit(UNMATCHED_SHOWN)
    )
    zone = ZoneInfo(actor.time_zone)
    return [
        UnmatchedReportOut(
            id=r["id"],
            received_at=r["received_at"].astimezone(zone),
            envelope_from=r["envelope_from"],
            kind=r["kind"],
            problem=r["problem"],
            email_id=r["sent_email"],
        )
        for r in rows
    ]


async def tracking_health(actor: Actor) -> TrackingOut:
    row = await _check(actor.company_id)
    relay = await relay_of(actor.company_id)
    domain = bounce_domain(relay, await sender_address(actor.company_id))
    state, code = _state(row, _now())
    zone = ZoneInfo(actor.time_zone)

    def local(name: str) -> datetime | None:
        value = row[name] if row else None
        return value.astimezone(zone) if isinstance(value, datetime) else None

    return TrackingOut(
        state=state,
        code=code,
        detail=_detail(state, row, domain, actor.time_zone),
        daily=bool(row and row["daily"]),
        bounce_domain=domain,
        sent_at=local("sent_at"),
        verified_at=local("verified_at"),
        unmatched=await unmatched_reports(actor),
    )


async def verify_tracking(actor: Actor) -> TrackingOut:
    await send_probe(actor.company_id)
    return await tracking_health(actor)


async def set_daily(actor: Actor, data: TrackingIn) -> TrackingOut:
    await _save(actor.company_id, {"daily": data.daily})
    return await tracking_health(actor)


async def failing_check(company_id: int) -> tuple[str, str, datetime] | None:
    """(code, detail, since) when the company's daily check found tracking broken: back-office
    is told, as for a relay that refuses its token."""
    row = await _check(company_id)
    if row is None or not row["daily"]:
        return None
    state, code = _state(row, _now())
    if state not in (TrackingState.FAILED, TrackingState.NOT_RETURNED):
        return None
    relay = await relay_of(company_id)
    domain = bounce_domain(relay, await sender_address(company_id))
    sent_at = row["sent_at"]
    assert isinstance(sent_at, datetime)
    return code, _detail(state, row, domain, "UTC"), sent_at


async def send_daily_probes() -> int:
    """Send the probes that are due (daily on, none sent for a day); answers how many. Each is
    claimed by moving its `sent_at` first, so two workers never both send one."""
    now = _now()
    due = await TrackingCheck.select(TrackingCheck.company, TrackingCheck.sent_at).where(
        TrackingCheck.daily.eq(True)
        & (TrackingCheck.sent_at.is_null() | (TrackingCheck.sent_at < now - DAILY))
    )
    sent = 0
    for row in due:
        claim = TrackingCheck.update({TrackingCheck.sent_at: now}).where(
            TrackingCheck.company == row["company"]
        )
        claim = claim.where(
            TrackingCheck.sent_at.is_null()
            if row["sent_at"] is None
            else TrackingCheck.sent_at == row["sent_at"]
        )
        if await claim.returning(TrackingCheck.id):
            await send_probe(row["company"])
            sent += 1
    return sent


async def report_bytes(actor: Actor, report_id: int) -> bytes:
    """A kept report as it arrived, for back-office to look at."""
    row = (
        await InboundReport.select(InboundReport.blob_sha256)
        .where((InboundReport.company == actor.company_id) & (InboundReport.id == report_id))
        .first()
    )
    if row is None:
        raise NotFound(
            f"Report {report_id} does not exist.",
            code=Code.REPORT_NOT_FOUND,
            params={"id": report_id},
        )
    return await blob_store().read(row["blob_sha256"])
