"""The fields every view of an item shares, and a queue's size, each written once."""

from __future__ import annotations

from datetime import datetime

from core.chat import QueueName, Source, Status
from service.views import item_fields, queue_sizes
from storage.messages import StoredMessage


def _item(**changes: object) -> StoredMessage:
    fields: dict[str, object] = dict(
        id=7, queue=QueueName.BITS, source=Source.APP_HTTP, sent_by="Ada", text="hi", spoken_text="hi",
        bits_amount=100, status=Status.READY, reason=None, is_deleted=False, deleted_reason=None,
        received_at=datetime(2026, 1, 1), audio_path=None, audio_bytes=None, duration_s=1.5)
    fields.update(changes)
    return StoredMessage(**fields)  # type: ignore[arg-type]


def test_item_fields_are_the_shared_part_of_every_item_view() -> None:
    assert item_fields(_item()) == {
        "id": 7, "queue": "bits", "sent_by": "Ada", "text": "hi", "spoken_text": "hi", "bits_amount": 100,
        "status": "ready", "duration": 1.5, "source": _item().kind.value,
        "redemption_status": None, "redemption_error": None,
    }


def test_queue_size_counts_every_waiting_status_of_that_queue_only() -> None:
    counts = {"mentions": {"pending": 2, "synthesizing": 1, "ready": 3, "playing": 1, "played": 9, "error": 4},
              "bits": {"ready": 5}}
    assert queue_sizes(counts, QueueName.MENTIONS) == {"size": 6, "ready": 3}  # pending + synthesizing + ready
    assert queue_sizes(counts, QueueName.BITS) == {"size": 5, "ready": 5}
    assert queue_sizes({}, QueueName.BITS) == {"size": 0, "ready": 0}
