from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.columns.column_types import Varchar
from piccolo.columns.indexes import IndexMethod

ID = "2026-12-05T08:34:15:202897"
VERSION = "1.38.0"
DESCRIPTION = "A keyed archive: version, trail, signed heads, note MACs"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="archive", description=DESCRIPTION
    )

    manager.add_column(
        table_class_name="InternalNote",
        tablename="internal_note",
        column_name="mac",
        db_column_name="mac",
        column_class_name="Varchar",
        column_class=Varchar,
        params={
            "length": 64,
            "default": "",
            "null": False,
            "primary_key": False,
            "unique": False,
            "index": False,
            "index_method": IndexMethod.btree,
            "choices": None,
            "db_column_name": None,
            "secret": False,
        },
        schema=None,
    )

    return manager
