"""The imports room as a Piccolo app: its tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from organisatrice.imports.tables import ImportJob

APP_CONFIG = AppConfig(
    app_name="imports",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[ImportJob],
    migration_dependencies=["organisatrice.orders.piccolo_app"],
    commands=[],
)
