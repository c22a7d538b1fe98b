"""What already happened to the queue: finished items, newest first, and replaying one of them.

Pages use keyset pagination on the primary key (``id < before``), so a page costs the same on a table of
ten rows or ten million and nothing ever loads the whole table.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from core.chat import LIVE_STATUSES, DeleteReason, Status
from core.logins import login_key
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


#: A filtered page reads at most this many rows (newest first from ``before``), matching or not: a filter that
#: matches nothing costs the same on ten rows of history or ten million. ``next_before`` then continues below.
FILTER_SCAN_ROWS = 5_000


def history_page(store: MessageStore, *, user: str = "", text: str = "", before: int | None = None,
                 limit: int = 50, scan_rows: int = FILTER_SCAN_ROWS) -> HistoryPage:
    """Finished items newest first; ``user`` (on the login key) and ``text`` filter case-insensitively by substring.

    Unfiltered pages walk the primary key down from ``before``. Filtered pages are a bounded scan: the matches
    among the next ``scan_rows`` rows, so a page may hold fewer than ``limit`` entries (even none) and still have
    a ``next_before``; ``next_before`` is ``None`` only when the history is exhausted."""
    finished = or_(MessageRow.is_deleted.is_(True), MessageRow.status.in_(_FINISHED))
    query = select(MessageRow).where(finished).order_by(MessageRow.id.desc()).limit(limit + 1)
    below = [] if before is None else [MessageRow.id < before]
    filters: list[ColumnElement[bool]] = []
    if user:
        filters.append(MessageRow.login_key.like(_like(login_key(user)), escape="\\"))
    if text:
        filters.append(or_(MessageRow.text.like(_like(text), escape="\\"),
                           MessageRow.spoken_text.like(_like(text), escape="\\")))
    window = None
    if filters:
        window = select(MessageRow.id).where(*below).order_by(MessageRow.id.desc()).limit(scan_rows).subquery()
        query = query.where(MessageRow.id.in_(select(window.c.id)), *filters)
    else:
        query = query.where(*below)
    with Session(store.engine) as session:
        rows = list(session.scalars(query))
        floor = None
        if window is not None and len(rows) <= limit:
            scanned, lowest = session.execute(select(func.count(), func.min(window.c.id))).one()
            first = session.execute(select(func.min(MessageRow.id))).scalar()
            floor = lowest if scanned >= scan_rows and lowest != first else None
    more = len(rows) > limit
    entries = [_entry(row) for row in rows[:limit]]
    if more and entries:
        return HistoryPage(entries, entries[-1].item.id)
    return HistoryPage(entries, floor)


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


#: Replays of the same item this close together are one replay (a double-click queues one copy).
REPLAY_DEBOUNCE = timedelta(seconds=1)


def needs_approval(original: MessageRow) -> bool:
    """A replay keeps the approval rule: a cheer a moderator rejected, or one never approved before it left the
    queue, comes back waiting for approval (``approve``/``reject`` decide again), never straight to the speaker."""
    return bool(original.awaiting_approval) or original.deleted_reason == DeleteReason.REJECTED.value


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
        now = utcnow()
        recent = session.scalars(select(MessageRow)
                                 .where(MessageRow.replay_of == original.id,
                                        MessageRow.received_at >= now - REPLAY_DEBOUNCE)
                                 .order_by(MessageRow.id.desc()).limit(1)).first()
        if recent is not None:  # a double-click: the copy queued a moment ago is this replay
            return ReplayResult(StoredMessage.of(recent))
        copy = MessageRow(
            queue=original.queue, source=original.source, sent_by=original.sent_by, text=original.text,
            spoken_text=original.spoken_text, bits_amount=original.bits_amount, status=Status.PENDING.value,
            is_deleted=False, received_at=now, replay_of=original.id, login_key=login_key(original.sent_by),
            voice=original.voice, origin=original.origin, lang=original.lang,  # the viewer keeps sounding the same
            awaiting_approval=needs_approval(original))
        session.add(copy)
        session.flush()
        return ReplayResult(StoredMessage.of(copy))

