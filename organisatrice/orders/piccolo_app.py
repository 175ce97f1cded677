"""The orders room as a Piccolo app: its tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from organisatrice.orders.tables import (
    Building,
    Client,
    Contact,
    Document,
    Material,
    Order,
    OrderBuilding,
    OrderResponsible,
    Photo,
    RecordChange,
    WorkItem,
)

APP_CONFIG = AppConfig(
    app_name="orders",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        Client,
        Building,
        Contact,
        Order,
        OrderBuilding,
        OrderResponsible,
        WorkItem,
        Material,
        Photo,
        Document,
        RecordChange,
    ],
    migration_dependencies=["organisatrice.roles.piccolo_app"],
    commands=[],
)
