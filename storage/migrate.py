"""Bring an existing database up to the current models: create missing tables, add missing columns.

StreamVoice only ever *adds* tables and nullable (or defaulted) columns, so an older ``streamvoice.db`` is
upgraded in place at startup by ``ALTER TABLE ... ADD COLUMN``; nothing is dropped or rewritten.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, inspect, text
from sqlalchemy.schema import CreateColumn

from core.logins import login_key
from storage.models import Base

log = logging.getLogger(__name__)


def upgrade_schema(engine: Engine) -> list[str]:
    """Create missing tables, add missing columns and indexes; returns ``table.column`` for each column added."""
    Base.metadata.create_all(engine)
    inspector = inspect(engine)
    added: list[str] = []
    with engine.begin() as connection:
        for table in Base.metadata.sorted_tables:
            present = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name in present:
                    continue
                ddl = CreateColumn(column).compile(dialect=engine.dialect)
                connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {ddl}"))
                added.append(f"{table.name}.{column.name}")
            for index in table.indexes:  # indexes added to an existing table since it was created
                index.create(connection, checkfirst=True)
    backfill_login_keys(engine)
    if added:
        log.info("database upgraded: added column(s) %s", ", ".join(added))
    return added


_BACKFILL_BATCH = 10_000


def backfill_login_keys(engine: Engine) -> int:
    """Give every row stored before ``messages.login_key`` existed its key, computed by the same Python
    normaliser as new rows (``core.logins.login_key``: SQL's ``lower()`` is ASCII-only and keeps the ``@``).
    Runs in batches; returns how many rows it filled (0 on an up-to-date database: one indexed lookup)."""
    filled = 0
    select_nulls = text("SELECT id, sent_by FROM messages WHERE login_key IS NULL LIMIT :n")
    update_key = text("UPDATE messages SET login_key = :key WHERE id = :id")
    while True:
        with engine.begin() as connection:
            rows = connection.execute(select_nulls, {"n": _BACKFILL_BATCH}).all()
            if not rows:
                break
            connection.execute(update_key, [{"key": login_key(sent_by or ""), "id": row_id}
                                            for row_id, sent_by in rows])
            filled += len(rows)
    if filled:
        log.info("database upgraded: login_key filled in for %d older row(s)", filled)
    return filled
