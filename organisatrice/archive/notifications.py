"""Notifications: emails that failed or bounced, for their author, for back-office and, when
they are work reports (what the company bills by), for its coordinators, until someone fixed the
address and sent them again; and, for back-office, a relay that can no longer
get an OAuth 2.0 token (a revoked grant, an expired secret), until it gets one again, and a
daily tracking probe that did not come back."""

from __future__ import annotations

from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

import msgspec

from organisatrice.core.codes import HistoryCode
from organisatrice.core.structs import Out
from organisatrice.mail.lines import read_line
from organisatrice.mail.replies import ReplyOut, waiting_replies
from organisatrice.mail.schemas import EmailStatus
from organisatrice.mail.tables import EmailRecipient, MailRelay, SentEmail
from organisatrice.mail.tracking import failing_check
from organisatrice.roles.notices import NoticeKind, choices_of
from organisatrice.roles.policy import Actor, Permission, Role, permissions

NEEDING = (EmailStatus.FAILED.value, EmailStatus.BOUNCED.value)
LIMIT = 50


class FailedRecipientOut(Out):
    email: str
    status: str
    detail: str
    # The detail's code and params when it is in our words, for the UI (mail/lines.py).
    code: HistoryCode | None = None
    params: dict[str, str] = {}


class NotificationOut(Out):
    # Which choice of the employee's it falls under (roles/notices.py).
    kind: NoticeKind
    email_id: int
    order_id: int
    order_number: str
    subject: str
    status: str
    at: datetime
    recipients: list[FailedRecipientOut]
    resent_as: int | None


async def notifications(actor: Actor) -> list[NotificationOut]:
    """Failed or bounced emails of the kinds the actor chose to see."""
    choices = await choices_of(actor)
    where = (SentEmail.company == actor.company_id) & SentEmail.status.is_in(list(NEEDING))
    mine = SentEmail.author == actor.employee_id
    if Permission.MANAGE_COMPANY not in permissions(actor):
        where = where & (
            (mine | (SentEmail.kind == "work_report")) if Role.COORDINATOR in actor.roles else mine
        )
    # Someone else's work report is its own kind; everything else is a failed email.
    others_report = (SentEmail.kind == "work_report") & (
        SentEmail.author.is_null() | (SentEmail.author != actor.employee_id)
    )
    rest = (SentEmail.kind != "work_report") | mine
    report_shown = NoticeKind.WORK_REPORT in choices and choices[NoticeKind.WORK_REPORT].shown
    if not choices[NoticeKind.FAILED_EMAIL].shown:
        if not report_shown:
            return []
        where = where & others_report
    elif not report_shown:
        where = where & rest
    rows = (
        await SentEmail.select(
            SentEmail.id,
            SentEmail.kind,
            SentEmail.author,
            SentEmail.order,
            SentEmail.order_number,
            SentEmail.subject,
            SentEmail.status,
            SentEmail.queued_at,
        )
        .where(where)
        .order_by(SentEmail.id, ascending=False)
        .limit(LIMIT)
    )
    out = []
    for row in rows:
        failed = await EmailRecipient.select().where(
            (EmailRecipient.sent_email == row["id"]) & EmailRecipient.status.is_in(list(NEEDING))
        )
        resend = (
            await SentEmail.select(SentEmail.id).where(SentEmail.resend_of == row["id"]).first()
        )
        others = row["kind"] == "work_report" and row["author"] != actor.employee_id
        out.append(
            NotificationOut(
                kind=NoticeKind.WORK_REPORT if others else NoticeKind.FAILED_EMAIL,
                email_id=row["id"],
                order_id=row["order"],
                order_number=row["order_number"],
                subject=row["subject"],
                status=row["status"],
                at=row["queued_at"].astimezone(ZoneInfo(actor.time_zone)),
                recipients=[
                    FailedRecipientOut(
                        email=r["email"],
                        status=r["status"],
                        detail=r["detail"],
                        **msgspec.structs.asdict(read_line(r["detail"])),
                    )
                    for r in failed
                ],
                resent_as=resend["id"] if resend else None,
            )
        )
    return out


class RelayNoticeOut(Out):
    """The relay's last token request failed (nothing is sent until it works again), or the
    daily tracking probe did not come back: `code` is stable (the UI words it), `detail` says
    it in English; `about` says which."""

    about: Literal["oauth", "tracking"]
    code: str
    detail: str
    at: datetime


async def reply_notices(actor: Actor) -> list[ReplyOut]:
    """Clients' answers waiting for someone, unless the actor chose not to see them."""
    if not (await choices_of(actor))[NoticeKind.CLIENT_REPLY].shown:
        return []
    return await waiting_replies(actor, LIMIT)


async def relay_notices(actor: Actor) -> list[RelayNoticeOut]:
    if Permission.MANAGE_COMPANY not in permissions(actor):
        return []
    if not (await choices_of(actor))[NoticeKind.RELAY].shown:
        return []
    rows = await MailRelay.select(
        MailRelay.oauth_failure, MailRelay.oauth_failure_code, MailRelay.oauth_failed_at
    ).where((MailRelay.company == actor.company_id) & (MailRelay.oauth_failure != ""))
    zone = ZoneInfo(actor.time_zone)
    notices = [
        RelayNoticeOut(
            about="oauth",
            code=row["oauth_failure_code"] or "oauth_failed",
            detail=row["oauth_failure"],
            at=row["oauth_failed_at"].astimezone(zone),
        )
        for row in rows
        if row["oauth_failed_at"] is not None
    ]
    # The daily tracking probe found the way back for reports broken.
    failing = await failing_check(actor.company_id)
    if failing is not None:
        code, detail, since = failing
        notices.append(
            RelayNoticeOut(about="tracking", code=code, detail=detail, at=since.astimezone(zone))
        )
    return notices
