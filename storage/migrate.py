"""Bring an existing database up to the current models: create missing tables, add missing columns.

StreamVoice only ever *adds* tables and nullable (or defaulted) columns, so an older ``streamvoice.db`` is
upgraded in place at startup by ``ALTER TABLE ... ADD COLUMN``; nothing is dropped or rewritten.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, inspect, text
from sqlalchemy.schema import CreateColumn

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
    if added:
        log.info("database upgraded: added column(s) %s", ", ".join(added))
    return added
