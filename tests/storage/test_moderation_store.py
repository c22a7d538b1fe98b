"""The moderation block of MessageStore against a real SQLite file: removal, skip, approval, hold and stale."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.chat import DeleteReason, QueueName, Source, Status
from storage.database import create_database
from storage.messages import MessageStore, NewMessage, utcnow


@pytest.fixture
def store(tmp_path: Path) -> MessageStore:
    return MessageStore(create_database(f"sqlite:///{tmp_path / 'test.db'}"))


def new(queue: QueueName, sent_by: str = "viewer", *, external_id: str | None = None,
        awaiting_approval: bool = False) -> NewMessage:
    return NewMessage(queue=queue, source=Source.TWITCH, sent_by=sent_by, text="hi", spoken_text="hi",
                      bits_amount=10 if queue is QueueName.BITS else None, external_id=external_id,
                      awaiting_approval=awaiting_approval)


def test_remove_user_matches_the_login_in_both_queues_and_only_live_rows(store: MessageStore) -> None:
    troll_mention, troll_cheer, kind = store.insert_many(
        [new(QueueName.MENTIONS, "Troll_99"), new(QueueName.BITS, "troll_99"), new(QueueName.MENTIONS, "kind")])
    played = store.insert_many([new(QueueName.MENTIONS, "troll_99")])[0]
    store.transition(played, [Status.PENDING], Status.PLAYED)
    removed = store.remove_user("TROLL_99", DeleteReason.REMOVED)
    assert sorted(r.id for r in removed) == [troll_mention, troll_cheer]
    assert [m.id for m in store.waiting(QueueName.MENTIONS)] == [kind]
    gone = store.get(troll_mention)
    assert gone is not None and gone.is_deleted and gone.deleted_reason == "removed"
    assert not store.get(played).is_deleted  # type: ignore[union-attr]  # history stays
    assert store.remove_user("troll_99", DeleteReason.REMOVED) == []


def test_by_external_id_and_remove_ids(store: MessageStore) -> None:
    first, _ = store.insert_many([new(QueueName.MENTIONS, external_id="abc"), new(QueueName.MENTIONS)])
    assert [m.id for m in store.by_external_id("abc")] == [first]
    assert store.by_external_id("nope") == []
    assert [r.id for r in store.remove_ids([first], DeleteReason.REMOVED)] == [first]
    assert store.remove_ids([first], DeleteReason.REMOVED) == []  # already removed: nothing


def test_mark_skipped_only_live_rows(store: MessageStore) -> None:
    [item] = store.insert_many([new(QueueName.MENTIONS)])
    assert store.mark_skipped(item, "skipped by a moderator") == (True, None)
    skipped = store.get(item)
    assert skipped is not None and skipped.status is Status.SKIPPED and skipped.reason == "skipped by a moderator"
    assert store.mark_skipped(item, "again") == (False, None)


def test_next_playable_passes_over_unapproved_and_held_items(store: MessageStore) -> None:
    waiting, approved = store.insert_many([new(QueueName.BITS, awaiting_approval=True), new(QueueName.BITS)])
    later = utcnow() + timedelta(seconds=1)
    assert store.next_playable(QueueName.BITS, later).id == approved  # type: ignore[union-attr]
    assert store.approve(waiting) and not store.approve(waiting)
    assert store.next_playable(QueueName.BITS, later).id == waiting  # type: ignore[union-attr]

    [mention] = store.insert_many([new(QueueName.MENTIONS)])
    received = store.get(mention).received_at  # type: ignore[union-attr]
    assert store.next_playable(QueueName.MENTIONS, received - timedelta(seconds=0.5)) is None  # still held
    assert store.oldest_held(QueueName.MENTIONS).id == mention  # type: ignore[union-attr]
    assert store.next_playable(QueueName.MENTIONS, received).id == mention  # type: ignore[union-attr]


def test_drop_stale_removes_only_waiting_items_received_before_the_cutoff(store: MessageStore) -> None:
    old, playing = store.insert_many([new(QueueName.MENTIONS), new(QueueName.MENTIONS)])
    store.transition(playing, [Status.PENDING], Status.PLAYING)
    [fresh] = store.insert_many([new(QueueName.MENTIONS)])
    dropped = store.drop_stale(QueueName.MENTIONS, store.get(fresh).received_at)  # type: ignore[union-attr]
    assert [d.id for d in dropped] == [old]
    assert store.get(old).deleted_reason == "stale"  # type: ignore[union-attr]
    assert not store.get(playing).is_deleted and not store.get(fresh).is_deleted  # type: ignore[union-attr]
