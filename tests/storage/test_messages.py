"""MessageStore against a real SQLite file: ordering, conditional transitions, caps, recovery."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from core.chat import Origin, QueueName, Source, Status
from storage.database import create_database
from storage.messages import MessageStore, NewMessage


@pytest.fixture
def store(tmp_path: Path) -> MessageStore:
    return MessageStore(create_database(f"sqlite:///{tmp_path / 'db' / 'test.db'}"))


def new(queue: QueueName, text: str = "hi", bits: int | None = None) -> NewMessage:
    return NewMessage(queue=queue, source=Source.APP_HTTP, sent_by="v", text=text, spoken_text=text, bits_amount=bits)


def test_sqlite_runs_in_wal_mode(store: MessageStore) -> None:
    with store.engine.connect() as connection:
        assert connection.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_insert_many_keeps_order_and_commits(store: MessageStore, tmp_path: Path) -> None:
    ids = store.insert_many([new(QueueName.MENTIONS, f"m{n}") for n in range(5)])
    assert ids == sorted(ids) and len(set(ids)) == 5
    reopened = MessageStore(create_database(f"sqlite:///{tmp_path / 'db' / 'test.db'}"))
    assert [m.text for m in reopened.waiting(QueueName.MENTIONS)] == [f"m{n}" for n in range(5)]


def test_claim_order_preferred_then_active_then_other(store: MessageStore) -> None:
    bits = store.insert_many([new(QueueName.BITS, "b1", 5)])
    mentions = store.insert_many([new(QueueName.MENTIONS, "m1"), new(QueueName.MENTIONS, "m2")])
    assert [m.id for m in store.claim_for_synthesis(QueueName.MENTIONS, 1, prefer=mentions[1])] == [mentions[1]]
    assert [m.id for m in store.claim_for_synthesis(QueueName.MENTIONS, 5)] == [mentions[0], bits[0]]
    assert store.claim_for_synthesis(QueueName.MENTIONS, 5) == []
    assert {m.status for m in store.waiting(QueueName.MENTIONS)} == {Status.SYNTHESIZING}


def test_cleared_item_never_becomes_ready(store: MessageStore) -> None:
    (message_id,) = store.insert_many([new(QueueName.MENTIONS)])
    store.claim_for_synthesis(QueueName.MENTIONS)
    removed = store.clear(QueueName.MENTIONS)
    assert [r.id for r in removed] == [message_id]
    assert not store.finish_synthesis(message_id, audio_path="x.wav", audio_bytes=10, duration_s=1.0, voice="v")
    item = store.get(message_id)
    assert item is not None and item.is_deleted and item.deleted_reason == "cleared" and item.audio_path is None


def test_error_and_skip_do_not_touch_other_rows(store: MessageStore) -> None:
    first, second = store.insert_many([new(QueueName.MENTIONS, "a"), new(QueueName.MENTIONS, "b")])
    store.claim_for_synthesis(QueueName.MENTIONS, 2)
    store.end_synthesis(first, Status.ERROR, "boom")
    failed, other = store.get(first), store.get(second)
    assert failed is not None and failed.status is Status.ERROR and failed.reason == "boom"
    assert other is not None and other.status is Status.SYNTHESIZING


def test_audio_cap_drops_oldest_but_never_the_protected(store: MessageStore) -> None:
    ids = store.insert_many([new(QueueName.MENTIONS, f"m{n}") for n in range(4)])
    store.claim_for_synthesis(QueueName.MENTIONS, 4)
    for message_id in ids:
        store.finish_synthesis(message_id, audio_path=f"{message_id}.wav", audio_bytes=100, duration_s=1, voice="v")
    removed = store.enforce_audio_cap(QueueName.MENTIONS, 250, protect=ids[0])
    assert [r.id for r in removed] == [ids[1], ids[2]]
    assert all(r.audio_path for r in removed)
    dropped = store.get(ids[1])
    assert dropped is not None and dropped.deleted_reason == "overflow"
    assert store.enforce_audio_cap(QueueName.MENTIONS, 250) == []


def test_state_persists(store: MessageStore) -> None:
    assert store.load_state() == (QueueName.MENTIONS, False)
    store.save_state(active_queue=QueueName.BITS)
    store.save_state(autoplay=True)
    assert store.load_state() == (QueueName.BITS, True)


def test_recover(store: MessageStore, tmp_path: Path) -> None:
    synth, ready_missing, ready_ok, playing = store.insert_many([new(QueueName.MENTIONS) for _ in range(4)])
    store.claim_for_synthesis(QueueName.MENTIONS, 4)
    wav = tmp_path / "ok.wav"
    wav.write_bytes(b"RIFF")
    for message_id, path in ((ready_missing, tmp_path / "gone.wav"), (ready_ok, wav), (playing, wav)):
        store.finish_synthesis(message_id, audio_path=str(path), audio_bytes=4, duration_s=1, voice="v")
    store.transition(playing, [Status.READY], Status.PLAYING)
    report = store.recover(lambda path: Path(path).exists())
    assert (report.synthesizing_to_pending, report.missing_wav_to_pending, report.playing_to_ready) == (1, 1, 1)
    statuses = {m.id: m.status for m in store.waiting(QueueName.MENTIONS)}
    assert statuses == {synth: Status.PENDING, ready_missing: Status.PENDING, ready_ok: Status.READY,
                        playing: Status.READY}


def test_a_streamed_row_plays_while_it_renders_and_gets_its_wav(store: MessageStore) -> None:
    """A long line: synthesizing -> playing (from its first sentence) -> its WAV arrives, still playing."""
    (message_id,) = store.insert_many([new(QueueName.MENTIONS)])
    store.claim_for_synthesis(QueueName.MENTIONS)
    assert store.transition(message_id, [Status.SYNTHESIZING], Status.PLAYING)
    assert store.finish_synthesis(message_id, audio_path="x.wav", audio_bytes=10, duration_s=2.5, voice="v")
    item = store.get(message_id)
    assert item is not None and item.status is Status.PLAYING and item.duration_s == 2.5 and item.audio_path


def test_a_streamed_row_stopped_before_its_wav_never_gets_one(store: MessageStore) -> None:
    (message_id,) = store.insert_many([new(QueueName.MENTIONS)])
    store.claim_for_synthesis(QueueName.MENTIONS)
    store.transition(message_id, [Status.SYNTHESIZING], Status.PLAYING)
    assert store.transition(message_id, [Status.PLAYING], Status.PLAYED)
    assert not store.finish_synthesis(message_id, audio_path="x.wav", audio_bytes=10, duration_s=1, voice="v")
    store.end_synthesis(message_id, Status.ERROR, "late failure")  # a late failure does not rewrite history
    item = store.get(message_id)
    assert item is not None and item.status is Status.PLAYED and item.audio_path is None


def test_unplay_puts_a_streamed_row_back_to_rendering_and_a_whole_one_to_ready(store: MessageStore) -> None:
    streamed, whole = store.insert_many([new(QueueName.MENTIONS, "a"), new(QueueName.MENTIONS, "b")])
    store.claim_for_synthesis(QueueName.MENTIONS, 2)
    store.finish_synthesis(whole, audio_path="b.wav", audio_bytes=10, duration_s=1, voice="v")
    store.transition(streamed, [Status.SYNTHESIZING], Status.PLAYING)
    store.transition(whole, [Status.READY], Status.PLAYING)
    assert store.unplay(streamed) and store.unplay(whole) and not store.unplay(whole)
    assert [store.get(i).status for i in (streamed, whole)] == [Status.SYNTHESIZING, Status.READY]  # type: ignore[union-attr]


def test_a_crash_while_streaming_renders_the_line_again(store: MessageStore) -> None:
    (message_id,) = store.insert_many([new(QueueName.MENTIONS)])
    store.claim_for_synthesis(QueueName.MENTIONS)
    store.transition(message_id, [Status.SYNTHESIZING], Status.PLAYING)
    report = store.recover(lambda path: False)
    item = store.get(message_id)
    assert item is not None and item.status is Status.PENDING and report.missing_wav_to_pending == 1


def test_origin_is_stored_and_old_rows_get_the_one_their_line_implies(store: MessageStore) -> None:
    ids = store.insert_many([
        NewMessage(QueueName.BITS, Source.TWITCH, "viewer", "hi", origin=Origin.CHANNEL_POINTS),
        NewMessage(QueueName.BITS, Source.APP_HTTP, "cheerer", "hello", bits_amount=100),
        NewMessage(QueueName.MENTIONS, Source.APP_WS, "fan", "@streamer hi"),
    ])
    kinds = [store.get(i).kind for i in ids]  # type: ignore[union-attr]
    assert kinds == [Origin.CHANNEL_POINTS, Origin.CHEER, Origin.MENTION]
    assert store.get(ids[1]).origin is None  # type: ignore[union-attr]
