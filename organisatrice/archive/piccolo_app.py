"""The archive room as a Piccolo app: its tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from organisatrice.archive.tables import (
    InternalNote,
    ManualHandover,
    NoticeEmailed,
    RetentionCheckpoint,
)

APP_CONFIG = AppConfig(
    app_name="archive",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[InternalNote, ManualHandover, RetentionCheckpoint, NoticeEmailed],
    migration_dependencies=["organisatrice.mail.piccolo_app"],
    commands=[],
)
