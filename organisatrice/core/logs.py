"""Logging for the app and its commands: our own lines at INFO, other libraries' at WARNING;
with LOG_FORMAT=json, one JSON object per line (python-json-logger) for a log collector, the
server's own lines (uvicorn) too.

The libraries that speak up at INFO: flufl.bounce writes a line per detector for every report it
reads, aiosmtpd (`mail.log`) every SMTP command of the capture relay and the report receiver,
WeasyPrint every step of every PDF, httpx every request with its address (a webhook's may carry
a secret).
"""

from __future__ import annotations

import copy
import logging
from typing import Any

from litestar.logging.config import LoggingConfig

from organisatrice.settings import get_settings

_JSON_FORMATTER = {
    "()": "pythonjsonlogger.json.JsonFormatter",
    "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
    "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
}

# Named, though the root logger is at WARNING as well, so that they stay quiet when the root is
# turned up (a debugging session, pytest's caplog).
QUIET = ("flufl.bounce", "mail.log", "weasyprint", "httpx")


class DetectorErrorsPassedOn(logging.Filter):
    """Drops flufl.bounce's traceback of an error in one of its detectors: it raises the error
    again to its caller, mail/reports.py, which reads it as "no bounce found" (the Yale detector
    fails so on every report without From)."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Exception in detector")


def logging_config() -> LoggingConfig:
    """One configuration for the app (Litestar applies it) and the commands that run without it
    (`configure_logging`)."""
    loggers: dict[str, dict[str, object]] = {
        "organisatrice": {"level": "INFO"},
        **{name: {"level": "WARNING"} for name in QUIET},
    }
    loggers["flufl.bounce"]["filters"] = ["detector_errors_passed_on"]
    config = LoggingConfig(
        root={"level": "WARNING", "handlers": ["queue_listener"]},
        loggers=loggers,
        filters={"detector_errors_passed_on": {"()": DetectorErrorsPassedOn}},
    )
    if _json():
        # Litestar's handlers write with its formatter "standard".
        config.formatters = {"standard": _JSON_FORMATTER}
    return config


def server_log_config() -> dict[str, Any]:
    """uvicorn's logging (its start-up lines, one line per request): its own, or as JSON."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    if _json():
        config["formatters"] = {"default": _JSON_FORMATTER, "access": _JSON_FORMATTER}
    return config


def _json() -> bool:
    return get_settings().log_format == "json"


def configure_logging() -> None:
    """Logging as the app has it, for `organisatrice worker` and `organisatrice inbound`."""
    logging_config().configure()
