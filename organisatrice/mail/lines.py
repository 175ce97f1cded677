"""The lines of an email's history that are our words (not a relay's or a report's): written
in English into the sealed archive, as they always were, and read back as a code and params,
so the UI words them in the reader's language. One table for both ways; a line that is not
ours (a relay's own reply) has no code and is shown as it is."""

from __future__ import annotations

import msgspec

from organisatrice.core.codes import HistoryCode
from organisatrice.core.sentences import read_back

_LINES: dict[HistoryCode, str] = {
    HistoryCode.QUEUED: "Queued for sending.",
    HistoryCode.INTERRUPTED: (
        "Interrupted attempt: the sending process stopped while talking to the relay. "
        "Sending again; the client may receive it twice."
    ),
    HistoryCode.RELAY_ACCEPTED: "Accepted by the relay: {reply}",
    HistoryCode.RELAY_DEFERRED: "Not accepted yet, trying again later: {reply}",
    # `relay_code`: what failed, in the relay test's codes (connection_refused, …). Before
    # RELAY_GAVE_UP, whose pattern would take these lines too.
    HistoryCode.RELAY_UNREACHED: (
        "The relay could not be reached ({relay_code}); trying again later."
    ),
    HistoryCode.RELAY_GAVE_UP_UNREACHED: (
        "Given up after {hours} hours: the relay could not be reached ({relay_code})."
    ),
    HistoryCode.RELAY_GAVE_UP: "Given up after {hours} hours: {reply}",
    HistoryCode.RELAY_REFUSED: "Refused by the relay: {reply}",
    HistoryCode.REPORT_DELIVERED: "Delivered to the recipient's mail server.",
    HistoryCode.REPORT_DELAYED: "Delivery is delayed; the servers on the way keep trying.",
    HistoryCode.REPORT_BOUNCED: "The recipient's mail server refused the email.",
    HistoryCode.REPORT_READ: "The recipient confirmed reading it.",
}


class Line(msgspec.Struct, frozen=True):
    """A history line's code and params; no code for words that are not ours."""

    code: HistoryCode | None = None
    params: dict[str, str] = msgspec.field(default_factory=dict)


def line(code: HistoryCode, **params: str | int) -> str:
    """The English line for the archive."""
    return _LINES[code].format(**params).strip()


def read_line(detail: str) -> Line:
    """The code and params of a line we wrote."""
    for code, text in _LINES.items():
        params = read_back(text, detail)
        if params is not None:
            return Line(code, params)
    return Line()
