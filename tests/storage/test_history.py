"""History pages and replays against a real SQLite file: keyset pages, filters, replay rules and order."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import event, text

from core.chat import QueueName, Source, Status
from storage.database import create_database
from storage.history import history_page, replay
from storage.messages import MessageStore, NewMessage


@pytest.fixture
def store(tmp_path: Path) -> MessageStore:
    return MessageStore(create_database(f"sqlite:///{tmp_path / 'history.db'}"))


def new(text: str, user: str = "v", status: Status = Status.PENDING, reason: str | None = None) -> NewMessage:
    return NewMessage(queue=QueueName.MENTIONS, source=Source.APP_HTTP, sent_by=user, text=f"@streamer {text}",
                      spoken_text=text, status=status, reason=reason)


def test_pages_walk_a_big_history_newest_first_with_bounded_reads(store: MessageStore) -> None:
    store.insert_many([new(f"line {n}", user=f"user{n % 10}", status=Status.SKIPPED, reason="banned word")
                       for n in range(3000)])
    statements: list[tuple[str, object]] = []

    @event.listens_for(store.engine, "before_cursor_execute")
    def record(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        statements.append((statement, parameters))

    page = history_page(store, limit=50)
    assert len(page.entries) == 50 and page.entries[0].item.id == 3000 and page.next_before == 2951
    second = history_page(store, limit=50, before=page.next_before)
    assert [e.item.id for e in second.entries] == list(range(2950, 2900, -1))
    # one SELECT per page with LIMIT 51 (a page and one more): the table is never loaded whole
    assert len(statements) == 2 and all("LIMIT" in sql and 51 in params for sql, params in statements)  # type: ignore[operator]
    event.remove(store.engine, "before_cursor_execute", record)
    assert page.entries[0].outcome == "skipped" and page.entries[0].item.reason == "banned word"

    user7 = history_page(store, user="USER7", limit=5)
    assert {e.item.sent_by for e in user7.entries} == {"user7"} and len(user7.entries) == 5
    assert [e.item.id for e in history_page(store, text="line 1234").entries] == [1235]
    assert history_page(store, text="no such words").entries == []
    assert history_page(store, user="%").entries == []  # wildcards are literal


def test_replay_rules_and_order(store: MessageStore) -> None:
    played, skipped, waiting = store.insert_many([new("played"), new("skipped", status=Status.SKIPPED,
                                                                       reason="banned word"), new("waiting")])
    store.transition(played, [Status.PENDING], Status.PLAYED)
    assert replay(store, 999).found is False
    assert "still in the queue" in (replay(store, waiting).refusal or "")
    assert "never spoken" in (replay(store, skipped).refusal or "")
    first = replay(store, played).item
    assert first is not None and replay(store, played).item == first  # a double-click: one replay
    with store.engine.begin() as connection:  # a second later, replaying again is allowed: the original stays
        connection.execute(text("UPDATE messages SET received_at = datetime(received_at, '-2 seconds') "
                                "WHERE id = :id"), {"id": first.id})
    first = store.get(first.id)
    second = replay(store, played).item
    assert first is not None and second is not None and first.replay_of == second.replay_of == played
    # replays first, in the order they were asked, then the rest; the page cursor skips them
    assert [m.id for m in store.waiting(QueueName.MENTIONS)] == [first.id, second.id, waiting]
    assert [m.id for m in store.waiting(QueueName.MENTIONS, limit=1)] == [first.id]
    assert [m.id for m in store.waiting(QueueName.MENTIONS, after=0)] == [waiting]
    assert [e.item.id for e in history_page(store).entries] == [skipped, played]
