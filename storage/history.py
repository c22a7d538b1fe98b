"""What already happened to the queue: finished items, newest first, and replaying one of them.

Pages use keyset pagination on the primary key (``id < before``), so a page costs the same on a table of
ten rows or ten million and nothing ever loads the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from core.chat import LIVE_STATUSES, Status
from storage.messages import MessageStore, StoredMessage, utcnow
from storage.models import MessageRow

#: End states a finished (history) item can be in; deleted rows are history whatever their status.
_FINISHED = [Status.PLAYED.value, Status.SKIPPED.value, Status.ERROR.value]


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    """A finished item: how it ended (``outcome``: played, skipped, error or the delete reason) and when."""

    item: StoredMessage
    outcome: str
    ended_at: datetime


@dataclass(frozen=True, slots=True)
class HistoryPage:
    entries: list[HistoryEntry]
    #: Pass as ``before`` for the next (older) page; ``None`` when this is the last page.
    next_before: int | None


def _like(value: str) -> str:
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def history_page(store: MessageStore, *, user: str = "", text: str = "", before: int | None = None,
                 limit: int = 50) -> HistoryPage:
    """Finished items newest first; ``user`` and ``text`` filter case-insensitively by substring."""
    query = (select(MessageRow)
             .where(or_(MessageRow.is_deleted.is_(True), MessageRow.status.in_(_FINISHED)))
             .order_by(MessageRow.id.desc()).limit(limit + 1))
    if before is not None:
        query = query.where(MessageRow.id < before)
    if user:
        query = query.where(func.lower(MessageRow.sent_by).like(_like(user.lower()), escape="\\"))
    if text:
        query = query.where(or_(MessageRow.text.like(_like(text), escape="\\"),
                                MessageRow.spoken_text.like(_like(text), escape="\\")))
    with Session(store.engine) as session:
        rows = list(session.scalars(query))
    more = len(rows) > limit
    entries = [_entry(row) for row in rows[:limit]]
    return HistoryPage(entries, entries[-1].item.id if more and entries else None)


def _entry(row: MessageRow) -> HistoryEntry:
    item = StoredMessage.of(row)
    if row.is_deleted:
        return HistoryEntry(item, row.deleted_reason or "deleted", row.timestamp_deleted or row.received_at)
    if item.status is Status.PLAYED:
        return HistoryEntry(item, "played", row.played_at or row.received_at)
    return HistoryEntry(item, item.status.value, row.synthesized_at or row.received_at)


def replay_refusal(item: StoredMessage | None) -> str | None:
    """Why ``item`` cannot be replayed (HTTP 409), or ``None``. Only what was (or would have been) spoken."""
    if item is None:
        return None
    if not item.is_deleted and item.status in LIVE_STATUSES:  # still queued or playing: not replayable
        return f"message {item.id} is still in the queue"
    if not item.is_deleted and item.status is Status.SKIPPED:
        return f"message {item.id} was never spoken ({item.reason or 'skipped'})"
    if not (item.spoken_text or "").strip():
        return f"message {item.id} has nothing to say"
    return None


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """``item``: the new queued copy; ``refusal`` set (and ``item`` None) when it cannot be replayed."""

    item: StoredMessage | None
    refusal: str | None = None
    found: bool = True


def replay(store: MessageStore, message_id: int) -> ReplayResult:
    """Queue a fresh copy of a finished item at the front of its queue; it is synthesised again.

    A copy (not the old row revived) keeps the history true: the original stays played/removed, the copy
    is a new item that says which one it repeats (``replay_of``).
    """
    with Session(store.engine, expire_on_commit=False) as session, session.begin():
        original = session.get(MessageRow, message_id)
        if original is None:
            return ReplayResult(None, f"message {message_id} not found", found=False)
        refusal = replay_refusal(StoredMessage.of(original))
        if refusal is not None:
            return ReplayResult(None, refusal)
        copy = MessageRow(
            queue=original.queue, source=original.source, sent_by=original.sent_by, text=original.text,
            spoken_text=original.spoken_text, bits_amount=original.bits_amount, status=Status.PENDING.value,
            is_deleted=False, received_at=utcnow(), replay_of=original.id,
            voice=original.voice, lang=original.lang)  # the same viewer keeps sounding the same
        session.add(copy)
        session.flush()
        return ReplayResult(StoredMessage.of(copy))

