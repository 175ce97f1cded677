"""The reference deployment (deploy/) stays runnable: its units start commands the CLI has, and
its settings file sets only variables the app reads."""

from __future__ import annotations

import re
from pathlib import Path

from click import Group

from organisatrice.__main__ import litestar_group

DEPLOY = Path(__file__).parents[2] / "deploy"
SETTINGS_SOURCE = (Path(__file__).parents[2] / "organisatrice" / "settings.py").read_text()
# Read by libraries rather than by settings.py.
READ_ELSEWHERE = {"PROMETHEUS_MULTIPROC_DIR"}


def _commands(text: str) -> list[list[str]]:
    """The `organisatrice …` invocations in a unit's Exec lines (also inside `sh -c '…'`)."""
    return [
        [word for word in found if word]
        for line in text.splitlines()
        if re.match(r"Exec\w*=", line)
        for found in re.findall(r"(?:^|[=\s/])organisatrice\s+([\w-]+)(?:\s+([a-z][\w-]*))?", line)
    ]


def test_every_unit_runs_a_command_the_cli_has() -> None:
    checked = 0
    for unit in sorted((DEPLOY / "systemd").glob("*.service")):
        for words in _commands(unit.read_text()):
            command = litestar_group.commands.get(words[0])
            assert command is not None, f"{unit.name}: no command {words[0]!r}"
            if isinstance(command, Group) and len(words) > 1:
                assert words[1] in command.commands, f"{unit.name}: no {words[0]} {words[1]}"
            checked += 1
    assert checked >= 6


def test_the_settings_file_sets_only_what_the_app_reads() -> None:
    names = [
        line.split("=", 1)[0]
        for line in (DEPLOY / "organisatrice.env").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert "DATABASE_URL" in names and "BLOB_URL" in names
    unknown = [n for n in names if n not in READ_ELSEWHERE and f'"{n}"' not in SETTINGS_SOURCE]
    assert unknown == []
