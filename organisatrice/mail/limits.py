"""Send limits per company, per day and per month, checked before an email is queued."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from organisatrice.core.errors import TooManyRequests
from organisatrice.core.statements import Statement
from organisatrice.core.structs import Out
from organisatrice.mail.relay import relay_of
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


# Before every send, inside its transaction.
_QUEUED_SINCE = Statement(
    lambda company, since: SentEmail.count().where(
        (SentEmail.company == company) & (SentEmail.queued_at >= since)
    )
)


async def _queued_since(company_id: int, since: datetime) -> int:
    row = await _QUEUED_SINCE.first(company_id, since)
    return int(row["count"]) if row else 0


async def quota(company_id: int, time_zone: str) -> QuotaOut:
    relay = await relay_of(company_id)
    _, day, month = _starts(time_zone)
    return QuotaOut(
        today=await _queued_since(company_id, day),
        daily_limit=relay.daily_limit,
        this_month=await _queued_since(company_id, month),
        monthly_limit=relay.monthly_limit,
    )


async def check_limits(company_id: int, time_zone: str) -> None:
    """Refuse one more email past the day's or the month's limit, with when it may go."""
    used = await quota(company_id, time_zone)
    now, day, _ = _starts(time_zone)
    if used.today >= used.daily_limit:
        tomorrow = day + timedelta(days=1)
        raise TooManyRequests(
            f"Your company has sent its {used.daily_limit} emails for today, the daily limit. "
            "It can send again tomorrow; back-office can raise the limit.",
            retry_after=int((tomorrow - now).total_seconds()) + 1,
        )
    if used.this_month >= used.monthly_limit:
        next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        raise TooManyRequests(
            f"Your company has sent its {used.monthly_limit} emails for this month, the monthly "
            "limit. Back-office can raise the limit.",
            retry_after=int((next_month - now).total_seconds()) + 1,
        )
