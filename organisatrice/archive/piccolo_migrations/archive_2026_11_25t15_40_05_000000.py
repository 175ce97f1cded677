"""Indexes for the archive's cross-order listing and the billing export.

Written by hand: Piccolo declares no composite, partial, GIN or FTS5 index, so they are raw SQL,
one statement each, branching on the engine. `sent_email` is the mail room's table; the archive
owns how it is searched.

- Keyset pagination walks (company, queued_at, id), newest or oldest first; each filter has its
  own (company, <column>, queued_at, id), so a filtered page is read in order from the index and
  stops after `limit` rows. (company, order_number, queued_at, id) also serves the order-number
  sort and the prefix search: on PostgreSQL it uses the "C" collation so that a prefix is a byte
  range whatever the database's locale.
- ("order", queued_at, id): technicians, who see only the emails of their orders.
- The recipient substring: pg_trgm GIN on PostgreSQL; an FTS5 table with the trigram tokenizer
  on SQLite (3.34+), external content on sent_email, kept in step by triggers.
- Billing: sent work reports by send time, a partial index on the work reports only.
- (resend_of): the foreign key's own index, which deletions need.
"""

from piccolo.apps.migrations.auto.migration_manager import MigrationManager
from piccolo.engine.finder import engine_finder

ID = "2026-11-25T15:40:05:000000"
VERSION = "1.38.0"
DESCRIPTION = "Archive listing indexes: keyset per filter, recipient trigram search, billing"

_KEYSET = {
    "sent_email_archive_date": "company, queued_at, id",
    "sent_email_archive_status": "company, status, queued_at, id",
    "sent_email_archive_kind": "company, kind, queued_at, id",
    "sent_email_archive_client": "company, client, queued_at, id",
    "sent_email_archive_author": "company, author, queued_at, id",
    "sent_email_archive_order": '"order", queued_at, id',
    # Deleting an email (retention) looks for the emails that name it as resent: without this,
    # each deleted row reads the whole table, and deleting many takes hours.
    "sent_email_resend_of": "resend_of",
}
_ORDER_NUMBER = "sent_email_archive_order_number"
_BILLING = "sent_email_billing"
_TRIGRAM = "sent_email_archive_recipient"
_FTS = "sent_email_recipients"
_FTS_TRIGGERS = ("sent_email_recipients_ai", "sent_email_recipients_ad", "sent_email_recipients_au")


def _common(collate: str) -> list[str]:
    statements = [
        f"CREATE INDEX IF NOT EXISTS {name} ON sent_email ({columns})"
        for name, columns in _KEYSET.items()
    ]
    statements.append(
        f"CREATE INDEX IF NOT EXISTS {_ORDER_NUMBER} "
        f"ON sent_email (company, order_number{collate}, queued_at, id)"
    )
    statements.append(
        f"CREATE INDEX IF NOT EXISTS {_BILLING} ON sent_email (company, sent_at) "
        "WHERE kind = 'work_report'"
    )
    return statements


_POSTGRES = [
    *_common(' COLLATE "C"'),
    # Trusted since PostgreSQL 13: the database owner may create it without superuser rights.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    f"CREATE INDEX IF NOT EXISTS {_TRIGRAM} ON sent_email USING gin (recipient_list gin_trgm_ops)",
]

_SQLITE = [
    *_common(""),
    f"CREATE VIRTUAL TABLE IF NOT EXISTS {_FTS} USING fts5("
    "recipient_list, content='sent_email', content_rowid='id', tokenize='trigram')",
    f"INSERT INTO {_FTS}({_FTS}) VALUES ('rebuild')",
    f"CREATE TRIGGER IF NOT EXISTS {_FTS_TRIGGERS[0]} AFTER INSERT ON sent_email BEGIN "
    f"INSERT INTO {_FTS}(rowid, recipient_list) VALUES (new.id, new.recipient_list); END",
    f"CREATE TRIGGER IF NOT EXISTS {_FTS_TRIGGERS[1]} AFTER DELETE ON sent_email BEGIN "
    f"INSERT INTO {_FTS}({_FTS}, rowid, recipient_list) "
    "VALUES ('delete', old.id, old.recipient_list); END",
    # Only when the addresses change: the outbox updates statuses all day long.
    f"CREATE TRIGGER IF NOT EXISTS {_FTS_TRIGGERS[2]} AFTER UPDATE OF recipient_list "
    f"ON sent_email BEGIN "
    f"INSERT INTO {_FTS}({_FTS}, rowid, recipient_list) "
    "VALUES ('delete', old.id, old.recipient_list); "
    f"INSERT INTO {_FTS}(rowid, recipient_list) VALUES (new.id, new.recipient_list); END",
]

_DROP_INDEXES = [
    f"DROP INDEX IF EXISTS {name}" for name in [*_KEYSET, _ORDER_NUMBER, _BILLING, _TRIGRAM]
]
_SQLITE_UNDO = [
    *(f"DROP TRIGGER IF EXISTS {name}" for name in _FTS_TRIGGERS),
    f"DROP TABLE IF EXISTS {_FTS}",
    *_DROP_INDEXES,
]
# pg_trgm stays installed: other tables may use it, and it costs nothing.
_POSTGRES_UNDO = _DROP_INDEXES


async def _run(postgres: list[str], sqlite: list[str]) -> None:
    engine = engine_finder()
    assert engine is not None
    if engine.engine_type == "sqlite":
        import sqlite3

        if sqlite3.sqlite_version_info < (3, 34, 0):
            raise RuntimeError(
                "The archive's recipient search needs SQLite 3.34 or newer (FTS5 trigram "
                f"tokenizer); this Python has SQLite {sqlite3.sqlite_version}."
            )
        statements = sqlite
    else:
        statements = postgres
    for statement in statements:
        await engine.run_ddl(statement)


async def forwards():
    manager = MigrationManager(migration_id=ID, app_name="archive", description=DESCRIPTION)

    async def create() -> None:
        await _run(_POSTGRES, _SQLITE)

    async def drop() -> None:
        await _run(_POSTGRES_UNDO, _SQLITE_UNDO)

    manager.add_raw(create)
    manager.add_raw_backwards(drop)
    return manager
