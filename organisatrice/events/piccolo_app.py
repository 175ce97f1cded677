"""The events room as a Piccolo app: its tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from organisatrice.events.tables import (
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)

APP_CONFIG = AppConfig(
    app_name="events",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[WebhookEndpoint, WebhookEvent, WebhookDelivery, WebhookAttempt],
    migration_dependencies=["organisatrice.roles.piccolo_app"],
    commands=[],
)
