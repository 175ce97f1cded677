"""The compose room as a Piccolo app: its tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from organisatrice.compose.tables import Draft, EmailTemplate, ReportSignature

APP_CONFIG = AppConfig(
    app_name="compose",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[EmailTemplate, Draft, ReportSignature],
    # Drafts name the client reply they answer (a mail table).
    migration_dependencies=["organisatrice.orders.piccolo_app", "organisatrice.mail.piccolo_app"],
    commands=[],
)
