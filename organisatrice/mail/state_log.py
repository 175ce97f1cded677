"""One log line per change of an email's state: which email, whose, what became of it; and
the count of each state for /metrics.

Ids and the outcome only, never an address, a subject, a relay's reply or a body: logs are kept
and shipped with less care than the archive.
"""

from __future__ import annotations

import logging

from organisatrice.core.metrics import EMAIL_STATES
from organisatrice.mail.schemas import EmailStatus

log = logging.getLogger("organisatrice.mail.states")


def log_email_state(email_id: int, company_id: int, outcome: EmailStatus) -> None:
    """Log that email `email_id` of company `company_id` is now `outcome` (queued, sent,
    delivered, ...). Call it after the change is committed."""
    EMAIL_STATES.labels(outcome.value).inc()
    log.info(
        "email %s of company %s: %s",
        email_id,
        company_id,
        outcome.value,
        extra={"email_id": email_id, "company_id": company_id, "outcome": outcome.value},
    )
