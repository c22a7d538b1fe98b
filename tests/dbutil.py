"""Read the real SQLite file directly, the way an auditor would (not through the code under test)."""

from __future__ import annotations

import sqlite3
from typing import Any


def _connect(db_url: str) -> sqlite3.Connection:
    connection = sqlite3.connect(db_url.removeprefix("sqlite:///"))
    connection.row_factory = sqlite3.Row
    return connection


def row(db_url: str, message_id: int) -> dict[str, Any]:
    connection = _connect(db_url)
    try:
        found = connection.execute("SELECT * FROM messages WHERE id = ?", (message_id,)).fetchone()
        return dict(found) if found else {}
    finally:
        connection.close()


def rows(db_url: str, where: str = "1=1", params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    connection = _connect(db_url)
    try:
        return [dict(r) for r in connection.execute(f"SELECT * FROM messages WHERE {where} ORDER BY id", params)]
    finally:
        connection.close()


def execute(db_url: str, sql: str, params: tuple[Any, ...] = ()) -> None:
    connection = _connect(db_url)
    try:
        connection.execute(sql, params)
        connection.commit()
    finally:
        connection.close()


def live_playing_ids(db_url: str) -> list[int]:
    """Ids of live (not deleted) rows in status ``playing``."""
    return [r["id"] for r in rows(db_url, "status = 'playing' AND is_deleted = 0")]


def check_playing_is_current(db_url: str, current_id: int | None) -> None:
    """The playback invariant: nothing is ``playing`` in the database unless it is the current item
    (a ghost ``playing`` row leaves the queue and would come back only after a restart)."""
    playing = live_playing_ids(db_url)
    expected = [] if current_id is None else [current_id]
    assert playing in ([], expected), f"rows {playing} are 'playing' but the current item is {current_id}"
