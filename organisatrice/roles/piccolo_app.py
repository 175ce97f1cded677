"""The roles room as a Piccolo app: its tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from organisatrice.roles.tables import (
    ApiToken,
    Company,
    Employee,
    PasswordLink,
    PermissionChange,
    SignInFailure,
    SignInSession,
)

APP_CONFIG = AppConfig(
    app_name="roles",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        Company,
        Employee,
        SignInSession,
        SignInFailure,
        PermissionChange,
        ApiToken,
        PasswordLink,
    ],
    migration_dependencies=[],
    commands=[],
)
