"""Send limits per company, per day and per month, checked before an email is queued."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from organisatrice.core.codes import Code
from organisatrice.core.errors import TooManyRequests
from organisatrice.core.structs import Out
from organisatrice.mail.relay import Relay, relay_of
from organisatrice.mail.tables import SentEmail


class QuotaOut(Out):
    today: int
    daily_limit: int
    this_month: int
    monthly_limit: int


def _starts(time_zone: str) -> tuple[datetime, datetime, datetime]:
    now = datetime.now(ZoneInfo(time_zone))
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return now, day, day.replace(day=1)


# Before every send, inside its transaction, while the company's chain head is locked: both
# windows in one statement (the month's start is never after the day's).
_QUEUED_SINCE = (
    "SELECT COUNT(*) AS this_month, "
    "COALESCE(SUM(CASE WHEN queued_at >= {} THEN 1 ELSE 0 END), 0) AS today "
    "FROM sent_email WHERE company = {} AND queued_at >= {}"
)


async def _used(company_id: int, relay: Relay, time_zone: str) -> QuotaOut:
    _, day, month = _starts(time_zone)
    rows = await SentEmail.raw(_QUEUED_SINCE, day, company_id, month)
    return QuotaOut(
        today=int(rows[0]["today"]),
        daily_limit=relay.daily_limit,
        this_month=int(rows[0]["this_month"]),
        monthly_limit=relay.monthly_limit,
    )


async def quota(company_id: int, time_zone: str) -> QuotaOut:
    return await _used(company_id, await relay_of(company_id), time_zone)


async def check_limits(company_id: int, relay: Relay, time_zone: str) -> None:
    """Refuse one more email past the day's or the month's limit of the company's relay, with
    when it may go."""
    used = await _used(company_id, relay, time_zone)
    now, day, _ = _starts(time_zone)
    if used.today >= used.daily_limit:
        tomorrow = day + timedelta(days=1)
        raise TooManyRequests(
            f"Your company has sent its {used.daily_limit} emails for today, the daily limit. "
            "It can send again tomorrow; back-office can raise the limit.",
            code=Code.DAILY_LIMIT_REACHED,
            params={"limit": used.daily_limit},
            retry_after=int((tomorrow - now).total_seconds()) + 1,
        )
    if used.this_month >= used.monthly_limit:
        next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        raise TooManyRequests(
            f"Your company has sent its {used.monthly_limit} emails for this month, the monthly "
            "limit. Back-office can raise the limit.",
            code=Code.MONTHLY_LIMIT_REACHED,
            params={"limit": used.monthly_limit},
            retry_after=int((next_month - now).total_seconds()) + 1,
        )
