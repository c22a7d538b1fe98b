"""The queries that run per chat line or per page read only what they need, on a table of any size.

SQLite's own ``EXPLAIN QUERY PLAN`` for the exact SQL each repository call sends (captured from the engine),
never a timing: counts and queue pages go through the live index, a purge through the login-key index, and a
filtered history page reads a bounded window. bench/history_scale.py measures the same calls at 10^6 rows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from core.chat import DeleteReason, QueueName, Source, Status
from storage import history
from storage.database import create_database
from storage.messages import MessageStore, NewMessage, utcnow


@pytest.fixture
def store(tmp_path: Path) -> Iterator[MessageStore]:
    store = MessageStore(create_database(f"sqlite:///{tmp_path / 'plans.db'}"))
    ids = store.insert_many([NewMessage(queue=QueueName.MENTIONS, source=Source.TWITCH, sent_by=f"user{n % 7}",
                                        text=f"hello {n}", spoken_text=f"hello {n}") for n in range(60)])
    for message_id in ids[:50]:  # history
        store.transition(message_id, [Status.PENDING], Status.PLAYED)
    yield store
    store.engine.dispose()


def plans(store: MessageStore, call: Callable[[], Any]) -> list[str]:
    """``EXPLAIN QUERY PLAN`` of every SELECT/UPDATE ``call`` sends, one line per statement (batched UPDATEs by
    primary key, sent as executemany, are left out)."""
    sent: list[tuple[str, Any]] = []

    def grab(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE")) and not executemany:
            sent.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", grab)
    try:
        call()
    finally:
        event.remove(store.engine, "before_cursor_execute", grab)
    with store.engine.connect() as connection:
        raw = connection.connection.driver_connection
        assert raw is not None
        return [" / ".join(str(r[3]) for r in raw.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
                for sql, params in sent]


def only_through(index: str, found: list[str]) -> None:
    assert found, "no query was sent"
    for plan in found:
        assert "SCAN messages" not in plan, plan  # a full table walk: history rows read on the way
        assert f"INDEX {index} (queue=? AND is_deleted=? AND status=?" in plan or \
            f"INDEX {index} (login_key=? AND is_deleted=? AND status=?" in plan, plan


@pytest.mark.parametrize("name", ["counts", "queue page", "queue page after", "next playable", "oldest held",
                                  "claim", "audio cap", "stale", "live audio paths"])
def test_queue_reads_use_the_live_index(store: MessageStore, name: str) -> None:
    calls: dict[str, Callable[[], Any]] = {
        "counts": store.counts,
        "queue page": lambda: store.waiting(QueueName.MENTIONS, 101),
        "queue page after": lambda: store.waiting(QueueName.MENTIONS, 101, after=55),
        "next playable": lambda: store.next_playable(QueueName.MENTIONS, utcnow()),
        "oldest held": lambda: store.oldest_held(QueueName.MENTIONS),
        "claim": lambda: store.claim_for_synthesis(QueueName.MENTIONS, 2),
        "audio cap": lambda: store.enforce_audio_cap(QueueName.MENTIONS, 10**9),
        "stale": lambda: store.drop_stale(QueueName.MENTIONS, utcnow().replace(year=2000)),
        "live audio paths": store.live_audio_paths,
    }
    found = [p for p in plans(store, calls[name]) if "PRIMARY KEY (rowid=?)" not in p]  # writes by id are fine
    only_through("ix_messages_live", found)


def test_counts_are_live_rows_only(store: MessageStore) -> None:
    assert store.counts() == {"mentions": {"pending": 10}, "bits": {}}


def test_purge_uses_the_login_key_index(store: MessageStore) -> None:
    found = plans(store, lambda: store.remove_user("@USER3", DeleteReason.REMOVED))
    only_through("ix_messages_login_key", found[:1])


def test_a_filtered_history_page_reads_a_bounded_window(store: MessageStore) -> None:
    for plan in plans(store, lambda: history.history_page(store, user="user3", text="hello")):
        # the window, then rows by id; ``min(id)`` is one step down the primary key ("SEARCH messages")
        assert "CO-ROUTINE" in plan or "PRIMARY KEY" in plan or plan == "SEARCH messages", plan
    # 50 finished rows, a window of 20: the page holds the matches among ids 60..41 and continues below them
    first = history.history_page(store, user="user3", limit=50, scan_rows=20)
    assert [e.item.sent_by for e in first.entries] == ["user3"] * len(first.entries)
    assert first.next_before == 41
    rest = history.history_page(store, user="user3", limit=50, scan_rows=20, before=first.next_before)
    older = history.history_page(store, user="user3", limit=50, scan_rows=20, before=rest.next_before)
    assert older.next_before is None  # 60 rows in all: the third window reaches the first row
    everything = history.history_page(store, user="USER3", limit=50)
    assert [e.item.id for e in first.entries + rest.entries + older.entries] == \
        [e.item.id for e in everything.entries] and everything.entries
