"""Piccolo's configuration: the engine from settings, and the registry of our rooms' apps."""

from __future__ import annotations

from piccolo.conf.apps import AppRegistry

from organisatrice.core.postgres import SearchingPostgresEngine
from organisatrice.core.sqlite import KeptSQLiteEngine
from organisatrice.settings import get_settings

_settings = get_settings()

DB: SearchingPostgresEngine | KeptSQLiteEngine
if _settings.database_kind == "postgresql":
    DB = SearchingPostgresEngine(config={"dsn": _settings.database_url})
else:
    _settings.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
    # A writer of another process waits up to 30 s for the lock instead of failing at once.
    DB = KeptSQLiteEngine(path=str(_settings.sqlite_path), timeout=30)

APP_REGISTRY = AppRegistry(
    apps=[
        "organisatrice.roles.piccolo_app",
        "organisatrice.orders.piccolo_app",
        "organisatrice.compose.piccolo_app",
        "organisatrice.mail.piccolo_app",
        "organisatrice.archive.piccolo_app",
        "organisatrice.events.piccolo_app",
        "organisatrice.imports.piccolo_app",
    ]
)
