"""An older database file gains the columns the current models have, keeping its rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from storage.database import create_database
from storage.messages import MessageStore


def test_old_database_gains_missing_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # the first release's table, without later columns
        db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, queue VARCHAR(16), source VARCHAR(16), "
                   "sent_by VARCHAR(64), text TEXT, spoken_text TEXT, bits_amount INTEGER, status VARCHAR(16), "
                   "reason TEXT, is_deleted BOOLEAN, timestamp_deleted DATETIME, deleted_reason VARCHAR(16), "
                   "received_at DATETIME, synthesized_at DATETIME, played_at DATETIME, audio_path VARCHAR(255), "
                   "audio_bytes INTEGER, duration_s FLOAT)")
        db.execute("INSERT INTO messages (queue, source, sent_by, text, status, is_deleted, received_at) "
                   "VALUES ('mentions', 'app_http', 'viewer', '@streamer hi', 'pending', 0, '2026-01-01 00:00:00')")
    store = MessageStore(create_database(f"sqlite:///{path}"))
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
    assert {"external_id", "voice"} <= columns
    row = store.get(1)
    assert row is not None and row.text == "@streamer hi"


def test_older_rows_get_their_login_key_from_the_python_normaliser(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    store = MessageStore(create_database(f"sqlite:///{path}"))
    store.engine.dispose()
    with sqlite3.connect(path) as db:  # a database from before login_key: the column and its index are missing
        db.execute("DROP INDEX ix_messages_login_key")
        db.execute("ALTER TABLE messages DROP COLUMN login_key")
        for sent_by in ("@Troll42", "Ärger", "viewer"):
            db.execute("INSERT INTO messages (queue, source, sent_by, text, status, is_deleted, received_at, "
                       "awaiting_approval) VALUES ('mentions', 'app_http', ?, 'hi', 'pending', 0, "
                       "'2026-01-01 00:00:00', 0)", (sent_by,))
    MessageStore(create_database(f"sqlite:///{path}")).engine.dispose()
    with sqlite3.connect(path) as db:
        keys = [r[0] for r in db.execute("SELECT login_key FROM messages ORDER BY id")]
        indexes = {r[1] for r in db.execute("PRAGMA index_list(messages)")}
    assert keys == ["troll42", "ärger", "viewer"]
    assert "ix_messages_login_key" in indexes
