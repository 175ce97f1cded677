from piccolo.apps.migrations.auto.migration_manager import MigrationManager

ID = "2026-12-05T18:12:33:993415"
VERSION = "1.38.0"
DESCRIPTION = "The import's file is named blob_sha256, like every column that names a blob"


async def forwards():
    manager = MigrationManager(
        migration_id=ID, app_name="imports", description=DESCRIPTION
    )

    manager.rename_column(
        table_class_name="ImportJob",
        tablename="import_job",
        old_column_name="blob",
        new_column_name="blob_sha256",
        old_db_column_name="blob",
        new_db_column_name="blob_sha256",
        schema=None,
    )

    return manager
