from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import ForeignKey

ID = "2026-12-06T03:37:36:289937"
VERSION = "1.38.0"
DESCRIPTION = "Index the drafts' contact: deleting contacts scanned every draft per contact"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="compose", description=DESCRIPTION
    )

    manager.alter_column(
        table_class_name="Draft",
        tablename="draft",
        column_name="contact",
        db_column_name="contact",
        params={"index": True},
        old_params={"index": False},
        column_class=ForeignKey,
        old_column_class=ForeignKey,
        schema=None,
    )

    return manager
