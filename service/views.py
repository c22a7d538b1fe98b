"""How a stored item and a queue's size read in every view (the App's queue, the dashboard's pages, history,
the ``state`` frame), written once."""

from __future__ import annotations

from typing import Any

from core.chat import WAITING_STATUSES, QueueName, Status
from storage.messages import StoredMessage


def item_fields(item: StoredMessage) -> dict[str, Any]:
    """The fields every view of an item shows; each view adds its own (audio and hold, or outcome and times)."""
    return {
        "id": item.id, "queue": item.queue.value, "sent_by": item.sent_by, "text": item.text,
        "spoken_text": item.spoken_text, "bits_amount": item.bits_amount, "status": item.status.value,
        "duration": item.duration_s, "source": item.kind.value,
        "redemption_status": item.redemption_status, "redemption_error": item.redemption_error,
    }


def queue_sizes(counts: dict[str, dict[str, int]], queue: QueueName) -> dict[str, int]:
    """``size`` (items waiting to play) and ``ready`` (synthesised) of ``queue``, from ``store.counts()``."""
    per_status = counts.get(queue.value, {})
    size = sum(per_status.get(s.value, 0) for s in WAITING_STATUSES)
    return {"size": size, "ready": per_status.get(Status.READY.value, 0)}
