"""Viewers' ``!lang`` choices and each item's language in SQLite; older databases gain both."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from core.chat import QueueName, Source
from storage.database import create_database
from storage.messages import MessageStore, NewMessage
from storage.viewer_languages import ViewerLanguageStore


def test_old_database_gains_the_lang_column_and_the_viewer_languages_table(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a database from before languages: no lang, no viewer_languages
        db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, queue VARCHAR(16), source VARCHAR(16), "
                   "sent_by VARCHAR(64), text TEXT, spoken_text TEXT, bits_amount INTEGER, status VARCHAR(16), "
                   "reason TEXT, is_deleted BOOLEAN, timestamp_deleted DATETIME, deleted_reason VARCHAR(16), "
                   "received_at DATETIME, synthesized_at DATETIME, played_at DATETIME, audio_path VARCHAR(255), "
                   "audio_bytes INTEGER, duration_s FLOAT, voice VARCHAR(128))")
        db.execute("INSERT INTO messages (queue, source, sent_by, text, status, is_deleted, received_at) "
                   "VALUES ('mentions', 'app_http', 'viewer', '@streamer hi', 'pending', 0, '2026-01-01 00:00:00')")
    engine = create_database(f"sqlite:///{path}")
    store = MessageStore(engine)
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert "lang" in columns and "viewer_languages" in tables
    old = store.get(1)
    assert old is not None and old.lang is None  # an old row: spoken in lang_code
    [new_id] = store.insert_many([NewMessage(queue=QueueName.MENTIONS, source=Source.APP_HTTP, sent_by="ana",
                                             text="@streamer hola", spoken_text="hola", voice="ef_dora", lang="e")])
    new = store.get(new_id)
    assert new is not None and (new.lang, new.voice) == ("e", "ef_dora")


def test_viewer_language_choices_are_kept(tmp_path: Path) -> None:
    store = ViewerLanguageStore(create_database(f"sqlite:///{tmp_path / 'db.sqlite'}"))
    store.set("ana", "e")
    store.set("bob", "f")
    store.set("ana", "p")
    assert store.all() == {"ana": "p", "bob": "f"}
    assert store.reset("ana") and not store.reset("ana")
    assert store.all() == {"bob": "f"}
