"""History lines in our words are written in English and read back as code and params; a
relay's own words are not ours and have no code."""

from __future__ import annotations

from organisatrice.core.codes import HistoryCode
from organisatrice.mail.lines import Line, line, read_line


def test_each_line_we_write_reads_back_as_its_code_and_params() -> None:
    params = {
        "reply": "250 2.0.0 Ok: queued as 4XyZ",
        "hours": "48",
        "relay_code": "connection_refused",
    }
    for code in HistoryCode:
        written = line(code, **params)
        read = read_line(written)
        assert read.code is code, written
        assert line(code, **read.params) == written


def test_the_lines_read_as_they_always_were_written() -> None:
    assert read_line("Queued for sending.") == Line(HistoryCode.QUEUED, {})
    assert read_line("Refused by the relay: 550 5.1.1 User unknown") == Line(
        HistoryCode.RELAY_REFUSED, {"reply": "550 5.1.1 User unknown"}
    )


def test_a_relays_own_words_have_no_code() -> None:
    assert read_line("451 4.3.0 Try again later") == Line()
