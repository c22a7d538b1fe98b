"""RedemptionStore against a real SQLite file: each redemption queued once, one decision each, the outbox."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from core.chat import DeleteReason, Origin, QueueName, Source, Status
from core.refunds import RedemptionStatus
from storage.database import create_database
from storage.messages import MessageStore, NewMessage, utcnow
from storage.redemptions import RedemptionStore, RewardRecord, TwitchUpdate

FULFILLED, CANCELED = RedemptionStatus.FULFILLED, RedemptionStatus.CANCELED


@pytest.fixture
def stores(tmp_path: Path) -> tuple[MessageStore, RedemptionStore]:
    engine = create_database(f"sqlite:///{tmp_path / 'test.db'}")
    return MessageStore(engine), RedemptionStore(engine)


def queue_redemption(stores: tuple[MessageStore, RedemptionStore], redemption_id: str, who: str = "viewer") -> int:
    messages, redemptions = stores
    assert redemptions.claim(redemption_id, "1001", "reward-1")
    (row_id,) = messages.insert_many([NewMessage(
        queue=QueueName.BITS, source=Source.TWITCH, sent_by=who, text="hello", spoken_text="hello",
        origin=Origin.CHANNEL_POINTS, redemption_id=redemption_id, redemption_status="unfulfilled")])
    redemptions.attach(redemption_id, row_id)
    return row_id


def test_reward_record_round_trip(stores: tuple[MessageStore, RedemptionStore]) -> None:
    _, redemptions = stores
    assert redemptions.reward("1001") is None
    record = RewardRecord("1001", "reward-1", "TTS", 300, "Say it", 10, 2)
    redemptions.save_reward(record)
    assert redemptions.reward("1001") == record


def test_a_redemption_is_claimed_once(stores: tuple[MessageStore, RedemptionStore]) -> None:
    _, redemptions = stores
    row_id = queue_redemption(stores, "r1")
    assert not redemptions.claim("r1", "1001", "reward-1")
    item = redemptions.item("r1")
    assert item is not None and item.id == row_id and item.redemption_status == "unfulfilled"


def test_a_claim_without_its_item_is_claimed_again(stores: tuple[MessageStore, RedemptionStore]) -> None:
    """A crash between recording the redemption and storing its item: the next delivery queues it."""
    _, redemptions = stores
    assert redemptions.claim("r1", "1001", "reward-1")
    assert redemptions.claim("r1", "1001", "reward-1")


def test_ended_items_are_settled_once(stores: tuple[MessageStore, RedemptionStore]) -> None:
    messages, redemptions = stores
    played, removed, waiting = (queue_redemption(stores, f"r{n}") for n in range(3))
    messages.transition(played, [Status.PENDING], Status.PLAYED)
    messages.remove_ids([removed], DeleteReason.REMOVED)
    assert [i.id for i in redemptions.to_settle()] == [played, removed]
    assert redemptions.decide(played, FULFILLED)
    assert not redemptions.decide(played, CANCELED)  # the first decision wins
    assert redemptions.decide(removed, CANCELED)
    assert redemptions.to_settle() == []
    assert messages.get(played).redemption_status == "pending: fulfilled"  # type: ignore[union-attr]
    assert [(e.redemption_id, e.status) for e in redemptions.due(utcnow())] == [("r0", FULFILLED), ("r1", CANCELED)]
    assert waiting not in {e.redemption_id for e in redemptions.due(utcnow())}


def test_outbox_retry_sent_and_dropped(stores: tuple[MessageStore, RedemptionStore]) -> None:
    messages, redemptions = stores
    first, second = queue_redemption(stores, "r1"), queue_redemption(stores, "r2")
    redemptions.decide(first, CANCELED)
    redemptions.decide(second, CANCELED)
    redemptions.mark_retry("r1", 60, "HTTP 500")
    assert [e.redemption_id for e in redemptions.due(utcnow())] == ["r2"]
    assert [e.attempts for e in redemptions.due(utcnow() + timedelta(seconds=61))] == [1, 0]
    assert redemptions.mark_sent("r1")
    assert not redemptions.mark_sent("r1")  # exactly once
    assert messages.get(first).redemption_status == "canceled"  # type: ignore[union-attr]
    redemptions.mark_dropped("r2", "HTTP 400: redemption already fulfilled")
    dropped = messages.get(second)
    assert dropped is not None and dropped.redemption_status == "failed: canceled"
    assert dropped.redemption_error == "HTTP 400: redemption already fulfilled"
    assert redemptions.due(utcnow() + timedelta(days=1)) == [] and redemptions.pending_count() == 0


def test_twitch_side_decisions(stores: tuple[MessageStore, RedemptionStore]) -> None:
    messages, redemptions = stores
    open_item, pending_item, overruled = (queue_redemption(stores, f"r{n}") for n in range(3))
    assert redemptions.twitch_decided("r0", FULFILLED) == (TwitchUpdate.SETTLED, open_item)
    assert not redemptions.decide(open_item, CANCELED)  # Twitch decided: nothing is sent
    redemptions.decide(pending_item, CANCELED)
    assert redemptions.twitch_decided("r1", CANCELED) == (TwitchUpdate.ACK, pending_item)
    redemptions.decide(overruled, CANCELED)
    assert redemptions.twitch_decided("r2", FULFILLED) == (TwitchUpdate.OVERRULED, overruled)
    assert redemptions.due(utcnow()) == []
    assert redemptions.twitch_decided("r0", CANCELED)[0] is TwitchUpdate.IGNORED
    assert redemptions.twitch_decided("elsewhere", CANCELED) == (TwitchUpdate.UNKNOWN, None)
    statuses = [getattr(messages.get(i), "redemption_status", None) for i in (open_item, pending_item, overruled)]
    assert statuses == ["fulfilled", "canceled", "fulfilled"]


def test_live_items_of_a_viewer(stores: tuple[MessageStore, RedemptionStore]) -> None:
    messages, redemptions = stores
    mine = queue_redemption(stores, "r1", who="Viewer_One")
    played = queue_redemption(stores, "r2", who="viewer_one")
    queue_redemption(stores, "r3", who="someone_else")
    messages.transition(played, [Status.PENDING], Status.PLAYED)
    assert [i.id for i in redemptions.live_unfulfilled_of("VIEWER_ONE")] == [mine]


def test_an_item_without_its_redemption_record_leaves_the_settling_list(
        stores: tuple[MessageStore, RedemptionStore]) -> None:
    """A row edited by hand (its redemption record gone) cannot be sent; it is shown as such, never retried."""
    messages, redemptions = stores
    (row_id,) = messages.insert_many([NewMessage(
        queue=QueueName.BITS, source=Source.TWITCH, sent_by="v", text="x", spoken_text="x",
        origin=Origin.CHANNEL_POINTS, redemption_id="lost", redemption_status="unfulfilled")])
    messages.remove_ids([row_id], DeleteReason.REMOVED)
    assert not redemptions.decide(row_id, CANCELED)
    assert redemptions.to_settle() == []
    assert messages.get(row_id).redemption_status == "failed: untracked"  # type: ignore[union-attr]


def test_an_older_database_gains_the_redemption_columns_and_tables(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:  # a messages table from before channel points
        db.execute("CREATE TABLE messages (id INTEGER PRIMARY KEY, queue VARCHAR(16), source VARCHAR(16), "
                   "sent_by VARCHAR(64), text TEXT, status VARCHAR(16), is_deleted BOOLEAN, "
                   "received_at DATETIME)")
    create_database(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        columns = {row[1] for row in db.execute("PRAGMA table_info(messages)")}
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        indexes = {row[1] for row in db.execute("PRAGMA index_list(messages)")}
    assert {"redemption_id", "redemption_status", "redemption_error"} <= columns
    assert {"redemptions", "channel_point_rewards"} <= tables
    assert "ix_messages_redemption" in indexes
