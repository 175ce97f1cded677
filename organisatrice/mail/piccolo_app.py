"""The mail room as a Piccolo app: its tables and migrations."""

from __future__ import annotations

from pathlib import Path

from piccolo.conf.apps import AppConfig

from organisatrice.mail.tables import (
    ChainHead,
    ClientReply,
    DeliveryEvent,
    EmailRecipient,
    InboundReport,
    MailRelay,
    SentEmail,
    TrackingCheck,
)

APP_CONFIG = AppConfig(
    app_name="mail",
    migrations_folder_path=str(Path(__file__).parent / "piccolo_migrations"),
    table_classes=[
        MailRelay,
        SentEmail,
        ChainHead,
        EmailRecipient,
        DeliveryEvent,
        InboundReport,
        ClientReply,
        TrackingCheck,
    ],
    migration_dependencies=["organisatrice.orders.piccolo_app"],
    commands=[],
)
