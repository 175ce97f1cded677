"""The remembered recipient-match counts that choose where SQLite starts a recipient search."""

from __future__ import annotations

import pytest

from organisatrice.archive import listing
from organisatrice.archive.listing import MatchCounts


def test_a_count_is_remembered_for_a_minute_then_asked_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [1000.0]
    monkeypatch.setattr(listing, "monotonic", lambda: now[0])
    counts = MatchCounts()
    assert counts.get("zebrowski") is None
    counts.put("zebrowski", True)
    now[0] += 59
    assert counts.get("zebrowski") is True
    now[0] += 2
    assert counts.get("zebrowski") is None


def test_the_oldest_count_makes_room_and_a_new_answer_replaces_the_old() -> None:
    counts = MatchCounts()
    for n in range(MatchCounts.SIZE):
        counts.put(f"text{n}", True)
    counts.put("text0", False)  # answered again: now the newest
    counts.put("one more", True)
    assert counts.get("text1") is None
    assert counts.get("text0") is False
    assert counts.get("one more") is True
    assert counts.get(f"text{MatchCounts.SIZE - 1}") is True
