"""The message repository: every query and state transition of a queued message, in one place.

Methods are synchronous and short; the service layer runs them on one dedicated database thread.
Transitions are conditional UPDATEs (``WHERE status = ...``) so a racing Clear or playback change can
never be overwritten by a slower synthesis result.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, case, func, insert, literal_column, or_, select, update
from sqlalchemy.orm import Session

from core.chat import LIVE_STATUSES, WAITING_STATUSES, DeleteReason, Origin, QueueName, Source, Status
from core.logins import login_key
from storage.models import MessageRow, ServerStateRow


def _rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE matched (DML results are cursor results; the generic type does not say so)."""
    return cast("CursorResult[Any]", result).rowcount


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message the queue manager accepted, about to be stored."""

    queue: QueueName
    source: Source
    sent_by: str
    text: str
    spoken_text: str | None = None
    bits_amount: int | None = None
    external_id: str | None = None
    status: Status = Status.PENDING
    reason: str | None = None
    awaiting_approval: bool = False
    #: The voice spec decided at accept time (``core.viewer_voice.resolve_voice``); synthesis speaks with it.
    voice: str | None = None
    origin: Origin | None = None
    #: Channel points: the Twitch redemption and its status (``unfulfilled`` when stored).
    redemption_id: str | None = None
    redemption_status: str | None = None
    #: The Kokoro language code it is spoken in (``core.language``); None: the engine's ``lang_code``.
    lang: str | None = None


@dataclass(frozen=True, slots=True)
class StoredMessage:
    """A read-only snapshot of a row (never an ORM object, so it can cross threads freely)."""

    id: int
    queue: QueueName
    source: Source
    sent_by: str
    text: str
    spoken_text: str | None
    bits_amount: int | None
    status: Status
    reason: str | None
    is_deleted: bool
    deleted_reason: str | None
    received_at: datetime
    audio_path: str | None
    audio_bytes: int | None
    duration_s: float | None
    awaiting_approval: bool = False
    external_id: str | None = None
    replay_of: int | None = None
    voice: str | None = None
    #: Word timings JSON for captions (``core.captions``), set when synthesised.
    word_timings: str | None = None
    origin: Origin | None = None
    redemption_id: str | None = None
    redemption_status: str | None = None
    redemption_error: str | None = None

    @property
    def kind(self) -> Origin:
        """The item's origin; rows stored before origins existed get the one their queue implies."""
        return self.origin or Origin.default_for(self.bits_amount)
    lang: str | None = None

    @classmethod
    def of(cls, row: MessageRow) -> StoredMessage:
        return cls(
            id=row.id, queue=QueueName(row.queue), source=Source(row.source), sent_by=row.sent_by,
            text=row.text, spoken_text=row.spoken_text, bits_amount=row.bits_amount,
            status=Status(row.status), reason=row.reason, is_deleted=row.is_deleted,
            deleted_reason=row.deleted_reason, received_at=row.received_at, audio_path=row.audio_path,
            audio_bytes=row.audio_bytes, duration_s=row.duration_s,
            awaiting_approval=bool(row.awaiting_approval), external_id=row.external_id, replay_of=row.replay_of,
            voice=row.voice, word_timings=row.word_timings, origin=Origin(row.origin) if row.origin else None,
            redemption_id=row.redemption_id, redemption_status=row.redemption_status,
            redemption_error=row.redemption_error,
            lang=row.lang,
        )


@dataclass(frozen=True, slots=True)
class RemovedAudio:
    """A row that was soft-deleted (or finished) whose WAV must now be removed from disk."""

    id: int
    audio_path: str | None


@dataclass(frozen=True, slots=True)
class RecoveryReport:
    synthesizing_to_pending: int
    missing_wav_to_pending: int
    playing_to_ready: int


_INSERT_COLUMNS = ("queue", "source", "sent_by", "text", "spoken_text", "bits_amount", "external_id", "status",
                   "reason", "is_deleted", "received_at", "awaiting_approval", "voice", "origin",
                   "redemption_id", "redemption_status", "login_key", "lang")
_SQLITE_INSERT = (f"INSERT INTO {MessageRow.__tablename__} ({', '.join(_INSERT_COLUMNS)}) "
                  f"VALUES ({', '.join('?' * len(_INSERT_COLUMNS))})")
_WAITING = [s.value for s in WAITING_STATUSES]
_LIVE = [s.value for s in LIVE_STATUSES]


def _not_indexed(column: Any) -> Any:
    """``column`` as SQLite's planner may not use an index for (``+column``, the documented way to say so): the
    queue reads must go through ``ix_messages_live`` (queue, is_deleted, status, id), the rows still in a queue.
    Given ``replay_of IS NULL`` the planner prefers ``ix_messages_replay_of`` and reads every played row on the
    way (300 ms at 400,000 rows of history)."""
    return literal_column(f"+{MessageRow.__tablename__}.{column.key}")


class MessageStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- ingest -------------------------------------------------------------------------------------------
    def insert_many(self, messages: Sequence[NewMessage]) -> list[int]:
        """Insert and commit in one transaction (group commit); returns ids in input order."""
        now = utcnow()
        if self.engine.dialect.name == "sqlite":
            return self._insert_many_sqlite(messages, now)
        rows = [
            {
                "queue": m.queue.value, "source": m.source.value, "sent_by": m.sent_by, "text": m.text,
                "spoken_text": m.spoken_text, "bits_amount": m.bits_amount, "external_id": m.external_id,
                "status": m.status.value, "reason": m.reason, "is_deleted": False, "received_at": now,
                "awaiting_approval": m.awaiting_approval, "voice": m.voice,
                "origin": m.origin.value if m.origin else None,
                "redemption_id": m.redemption_id, "redemption_status": m.redemption_status,
                "login_key": login_key(m.sent_by),
                "lang": m.lang,
            }
            for m in messages
        ]
        with self._session() as session, session.begin():
            result = session.execute(insert(MessageRow).returning(MessageRow.id, sort_by_parameter_order=True),
                                     rows)
            return [row_id for (row_id,) in result]

    def _insert_many_sqlite(self, messages: Sequence[NewMessage], now: datetime) -> list[int]:
        """The ingest hot path on SQLite: plain DBAPI inserts in one transaction, ids from ``lastrowid``.

        Same rows and the same stored formats as the ORM insert (SQLAlchemy keeps SQLite datetimes as
        ``YYYY-MM-DD HH:MM:SS.ffffff`` text and booleans as 0/1), at a third of its CPU cost per row.
        """
        received = now.strftime("%Y-%m-%d %H:%M:%S.%f")
        with self.engine.begin() as connection:
            cursor = connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
            ids = []
            for m in messages:
                cursor.execute(_SQLITE_INSERT, (m.queue.value, m.source.value, m.sent_by, m.text, m.spoken_text,
                                                m.bits_amount, m.external_id, m.status.value, m.reason, 0, received,
                                                int(m.awaiting_approval), m.voice,
                                                m.origin.value if m.origin else None,
                                                m.redemption_id, m.redemption_status, login_key(m.sent_by),
                                                m.lang))
                ids.append(int(cursor.lastrowid))
            cursor.close()
            return ids

    # --- reads --------------------------------------------------------------------------------------------
    def get(self, message_id: int) -> StoredMessage | None:
        with self._session() as session:
            row = session.get(MessageRow, message_id)
            return StoredMessage.of(row) if row else None

    def waiting(self, queue: QueueName, limit: int | None = None, after: int | None = None) -> list[StoredMessage]:
        """The queue's pending/synthesizing/ready items in play order: dashboard replays first, then the rest,
        each oldest first. ``after`` (a page cursor: the last non-replay id shown, 0 for none) skips the
        replays and every item up to that id."""
        live = (MessageRow.queue == queue.value, MessageRow.is_deleted.is_(False), MessageRow.status.in_(_WAITING))
        with self._session() as session:
            rows: list[MessageRow] = []
            if after is None:
                rows += session.scalars(select(MessageRow).where(*live, _not_indexed(MessageRow.replay_of).is_not(None))
                                        .order_by(MessageRow.id).limit(limit))
            if limit is None or len(rows) < limit:
                rest = (select(MessageRow).where(*live, _not_indexed(MessageRow.replay_of).is_(None),
                                                 MessageRow.id > (after or 0))
                        .order_by(MessageRow.id).limit(None if limit is None else limit - len(rows)))
                rows += session.scalars(rest)
            return [StoredMessage.of(r) for r in rows]

    def next_to_play(self, queue: QueueName) -> StoredMessage | None:
        """The head of ``queue``: the item a render for it should favour (``cpu_priority: low``)."""
        items = self.waiting(queue, limit=1)
        return items[0] if items else None

    def counts(self) -> dict[str, dict[str, int]]:
        """Live rows (pending, synthesizing, ready, playing; not deleted) per queue and status.

        Read through the live index only, so it costs the same on ten rows of history or ten million: it runs
        for every state snapshot, i.e. after every accepted chat line while a page or player is open."""
        result: dict[str, dict[str, int]] = {q.value: {} for q in QueueName}
        with self._session() as session:
            for queue in QueueName:
                query = (select(MessageRow.status, func.count())
                         .where(MessageRow.queue == queue.value, MessageRow.is_deleted.is_(False),
                                MessageRow.status.in_(_LIVE))
                         .group_by(MessageRow.status))
                for status, count in session.execute(query):
                    result[queue.value][status] = count
            return result

    # --- synthesis ----------------------------------------------------------------------------------------
    def claim_for_synthesis(self, active: QueueName, limit: int = 1,
                            prefer: int | None = None) -> list[StoredMessage]:
        """Mark the next pending items ``synthesizing`` and return them.

        Order: ``prefer`` (the item a player is waiting for) first, then the active queue oldest first,
        then the other queue.
        """
        claimed: list[StoredMessage] = []
        with self._session() as session, session.begin():
            candidates: list[MessageRow] = []
            if prefer is not None:
                row = session.get(MessageRow, prefer)
                if row is not None and row.status == Status.PENDING.value and not row.is_deleted:
                    candidates.append(row)
            for queue in (active, active.other()):
                if len(candidates) >= limit:
                    break
                query = (select(MessageRow)
                         .where(MessageRow.queue == queue.value, MessageRow.is_deleted.is_(False),
                                MessageRow.status == Status.PENDING.value, MessageRow.id != (prefer or -1))
                         .order_by(MessageRow.id).limit(limit - len(candidates)))
                candidates.extend(session.scalars(query))
            for row in candidates[:limit]:
                row.status = Status.SYNTHESIZING.value
                claimed.append(StoredMessage.of(row))
        return claimed

    def finish_synthesis(self, message_id: int, *, audio_path: str, audio_bytes: int, duration_s: float,
                         voice: str, word_timings: str | None = None) -> bool:
        """``synthesizing`` -> ``ready``; a row already ``playing`` (streamed while it rendered) keeps playing and
        gets its WAV. False when the row was cleared, skipped or played meanwhile (caller drops the WAV)."""
        with self._session() as session, session.begin():
            result = session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id, MessageRow.is_deleted.is_(False),
                       MessageRow.status.in_([Status.SYNTHESIZING.value, Status.PLAYING.value]))
                .values(status=case((MessageRow.status == Status.PLAYING.value, Status.PLAYING.value),
                                    else_=Status.READY.value),
                        audio_path=audio_path, audio_bytes=audio_bytes,
                        duration_s=duration_s, voice=voice, word_timings=word_timings,
                        synthesized_at=utcnow()))
            return _rowcount(result) == 1

    def release_all_claims(self) -> int:
        """Every ``synthesizing`` row back to ``pending`` (a clean stop: only this process claims, see
        ``service.instance_lock``); returns how many."""
        with self._session() as session, session.begin():
            return _rowcount(session.execute(
                update(MessageRow).where(MessageRow.status == Status.SYNTHESIZING.value)
                .values(status=Status.PENDING.value)))

    # --- captions (word timings) --------------------------------------------------------------------------
    def word_timings(self, message_id: int) -> tuple[bool, str | None]:
        """(row exists, its word-timings JSON or None). Deleted rows count as unknown."""
        with self._session() as session:
            row = session.execute(select(MessageRow.word_timings)
                                  .where(MessageRow.id == message_id, MessageRow.is_deleted.is_(False))).first()
            return (False, None) if row is None else (True, row[0])

    def end_synthesis(self, message_id: int, status: Status, reason: str) -> None:
        """``synthesizing`` (or ``playing`` while streamed) -> ``error`` (synthesis raised) or ``skipped``."""
        with self._session() as session, session.begin():
            session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id,
                       MessageRow.status.in_([Status.SYNTHESIZING.value, Status.PLAYING.value]))
                .values(status=status.value, reason=reason[:2000]))

    def release_claims(self, message_ids: Sequence[int]) -> None:
        """Put claimed items back to ``pending`` (engine went away before rendering them)."""
        with self._session() as session, session.begin():
            session.execute(
                update(MessageRow)
                .where(MessageRow.id.in_(list(message_ids)), MessageRow.status == Status.SYNTHESIZING.value)
                .values(status=Status.PENDING.value))

    # --- playback -------------------------------------------------------------------------------------
    def transition(self, message_id: int, from_statuses: Sequence[Status], to: Status,
                   reason: str | None = None) -> bool:
        values: dict[str, object] = {"status": to.value}
        if reason is not None:
            values["reason"] = reason
        if to is Status.PLAYED:
            values["played_at"] = utcnow()
        with self._session() as session, session.begin():
            result = session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id, MessageRow.is_deleted.is_(False),
                       MessageRow.status.in_([s.value for s in from_statuses]))
                .values(**values))
            return _rowcount(result) == 1

    def unplay(self, message_id: int) -> bool:
        """A ``playing`` row back to waiting (a mode switch): ``ready`` when its WAV exists, else
        ``synthesizing`` (it was streamed while rendering; the render goes on and makes it ready)."""
        with self._session() as session, session.begin():
            result = session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id, MessageRow.is_deleted.is_(False),
                       MessageRow.status == Status.PLAYING.value)
                .values(status=case((MessageRow.audio_path.is_(None), Status.SYNTHESIZING.value),
                                    else_=Status.READY.value)))
            return _rowcount(result) == 1

    def forget_audio(self, message_id: int) -> str | None:
        """Detach the WAV from a played row (metadata stays); returns the path to delete."""
        with self._session() as session, session.begin():
            row = session.get(MessageRow, message_id)
            if row is None or row.audio_path is None:
                return None
            path, row.audio_path = row.audio_path, None
            return path

    # --- queue rules --------------------------------------------------------------------------------------
    def clear(self, queue: QueueName) -> list[RemovedAudio]:
        """Soft-delete the queue's pending/synthesizing/ready/playing rows; played/error rows untouched."""
        return self._soft_delete(queue, DeleteReason.CLEARED, None)

    def _soft_delete(self, queue: QueueName, reason: DeleteReason, ids: Sequence[int] | None) -> list[RemovedAudio]:
        where = [MessageRow.queue == queue.value]
        if ids is not None:
            where.append(MessageRow.id.in_(list(ids)))
        return self._delete_live(reason, *where)

    def enforce_audio_cap(self, queue: QueueName, max_bytes: int, protect: int | None = None) -> list[RemovedAudio]:
        """Soft-delete the oldest not-yet-played items (reason overflow) until their WAVs fit ``max_bytes``.

        ``protect`` (the item playing right now) is never dropped.
        """
        with self._session() as session:
            query = (select(MessageRow.id, MessageRow.audio_bytes)
                     .where(MessageRow.queue == queue.value, MessageRow.is_deleted.is_(False),
                            MessageRow.status.in_(_LIVE), MessageRow.audio_path.is_not(None))
                     .order_by(MessageRow.id))
            rows = list(session.execute(query))
        total = sum(size or 0 for _, size in rows)
        victims: list[int] = []
        for row_id, size in rows:
            if total <= max_bytes:
                break
            if row_id == protect:
                continue
            victims.append(row_id)
            total -= size or 0
        return self._soft_delete(queue, DeleteReason.OVERFLOW, victims) if victims else []

    def live_audio_paths(self) -> set[str]:
        """Every WAV path a live row still points to (startup garbage collection keeps these)."""
        with self._session() as session:
            query = select(MessageRow.audio_path).where(
                MessageRow.queue.in_([q.value for q in QueueName]), MessageRow.is_deleted.is_(False),
                MessageRow.status.in_(_LIVE), MessageRow.audio_path.is_not(None))
            return {p for (p,) in session.execute(query) if p}

    def recover(self, wav_exists: Callable[[str], bool]) -> RecoveryReport:
        """Repair rows a crash left mid-flight (see docs/queue-rules.md)."""
        with self._session() as session, session.begin():
            synth = session.execute(
                update(MessageRow).where(MessageRow.status == Status.SYNTHESIZING.value,
                                         MessageRow.is_deleted.is_(False))
                .values(status=Status.PENDING.value))
            playing = session.execute(
                update(MessageRow).where(MessageRow.status == Status.PLAYING.value, MessageRow.is_deleted.is_(False))
                .values(status=Status.READY.value))
            missing = 0
            query = select(MessageRow).where(MessageRow.status == Status.READY.value,
                                             MessageRow.is_deleted.is_(False))
            for row in session.scalars(query):
                if not row.audio_path or not wav_exists(row.audio_path):
                    row.status, row.audio_path, row.audio_bytes, row.duration_s = Status.PENDING.value, None, None, None
                    missing += 1
            return RecoveryReport(_rowcount(synth), missing, _rowcount(playing))

    # --- server state -------------------------------------------------------------------------------------
    def load_state(self) -> tuple[QueueName, bool]:
        with self._session() as session, session.begin():
            row = session.get(ServerStateRow, 1)
            if row is None:
                row = ServerStateRow(id=1, active_queue=QueueName.MENTIONS.value, autoplay=False)
                session.add(row)
            return QueueName(row.active_queue), bool(row.autoplay)

    def save_state(self, *, active_queue: QueueName | None = None, autoplay: bool | None = None) -> None:
        with self._session() as session, session.begin():
            row = session.get(ServerStateRow, 1) or ServerStateRow(id=1)
            session.add(row)
            if active_queue is not None:
                row.active_queue = active_queue.value
            if autoplay is not None:
                row.autoplay = autoplay

    # --- resilience (a WAV that vanished before PLAY is made again) ---------------------------------------
    def requeue_missing_audio(self, message_id: int) -> bool:
        """``ready`` -> ``pending`` with the audio fields cleared (its WAV is gone: synthesise it again).
        False when the row is no longer a live ready item (cleared, already played)."""
        with self._session() as session, session.begin():
            result = session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id, MessageRow.status == Status.READY.value,
                       MessageRow.is_deleted.is_(False))
                .values(status=Status.PENDING.value, audio_path=None, audio_bytes=None, duration_s=None))
            return _rowcount(result) == 1

    # --- moderation (remove, skip, purge, hold, approval, stale) ------------------------------------------
    def remove_ids(self, ids: Sequence[int], reason: DeleteReason) -> list[RemovedAudio]:
        """Soft-delete these rows if they are still live (any queue, playing included)."""
        return self._delete_live(reason, MessageRow.id.in_(list(ids)))

    def remove_user(self, login: str, reason: DeleteReason) -> list[RemovedAudio]:
        """Soft-delete every live row of one chatter (both queues): the stored ``login_key`` equals the login's
        (``core.logins.login_key``: ``@Troll42`` and ``troll42`` are one chatter, ``Ärger`` and ``ärger`` too)."""
        return self._delete_live(reason, MessageRow.login_key == login_key(login))

    def _delete_live(self, reason: DeleteReason, *where: Any) -> list[RemovedAudio]:
        """Soft-delete the live (waiting or playing) rows matching ``where``; returns their WAVs to remove."""
        with self._session() as session, session.begin():
            query = select(MessageRow).where(MessageRow.is_deleted.is_(False), MessageRow.status.in_(_LIVE), *where)
            removed = []
            now = utcnow()
            for row in session.scalars(query):
                removed.append(RemovedAudio(row.id, row.audio_path))
                row.is_deleted, row.timestamp_deleted, row.deleted_reason = True, now, reason.value
            return removed

    def by_external_id(self, external_id: str) -> list[StoredMessage]:
        """Every row stored for one Twitch message id (normally one), newest first."""
        with self._session() as session:
            query = (select(MessageRow).where(MessageRow.external_id == external_id)
                     .order_by(MessageRow.id.desc()))
            return [StoredMessage.of(r) for r in session.scalars(query)]

    def mark_skipped(self, message_id: int, reason: str) -> tuple[bool, str | None]:
        """A live row -> ``skipped`` with ``reason`` (a moderator's SKIP); returns (done, WAV path to delete)."""
        with self._session() as session, session.begin():
            row = session.get(MessageRow, message_id)
            if row is None or row.is_deleted or row.status not in _LIVE:
                return False, None
            path = row.audio_path
            row.status, row.reason, row.audio_path = Status.SKIPPED.value, reason, None
            return True, path

    def approve(self, message_id: int) -> bool:
        """A cheer waiting for approval may now play. False when it is not live or not waiting for approval."""
        with self._session() as session, session.begin():
            result = session.execute(
                update(MessageRow)
                .where(MessageRow.id == message_id, MessageRow.is_deleted.is_(False),
                       MessageRow.status.in_(_LIVE), MessageRow.awaiting_approval.is_(True))
                .values(awaiting_approval=False))
            return _rowcount(result) == 1

    def reject(self, message_id: int) -> list[RemovedAudio]:
        """A cheer waiting for approval is dropped (reason ``rejected``), in one conditional step with ``approve``:
        of an approve and a reject racing, exactly one matches the row (empty list: approved or gone meanwhile)."""
        return self._delete_live(DeleteReason.REJECTED, MessageRow.id == message_id,
                                 MessageRow.awaiting_approval.is_(True))

    def next_playable(self, queue: QueueName, received_before: datetime) -> StoredMessage | None:
        """The oldest waiting item that may play now: approved, and received at or before ``received_before``.

        Dashboard replays (``replay_of`` set) go first, as in ``waiting``."""
        with self._session() as session:
            query = (select(MessageRow)
                     .where(MessageRow.queue == queue.value, MessageRow.is_deleted.is_(False),
                            MessageRow.status.in_(_WAITING), MessageRow.awaiting_approval.is_(False),
                            # a replay is a moderator's own choice: never held
                            or_(MessageRow.received_at <= received_before, MessageRow.replay_of.is_not(None)))
                     .order_by(MessageRow.replay_of.is_(None), MessageRow.id).limit(1))
            row = session.scalars(query).first()
            return StoredMessage.of(row) if row else None

    def oldest_held(self, queue: QueueName) -> StoredMessage | None:
        """The oldest waiting item not waiting for approval (when nothing is playable, the next hold to expire)."""
        with self._session() as session:
            query = (select(MessageRow)
                     .where(MessageRow.queue == queue.value, MessageRow.is_deleted.is_(False),
                            MessageRow.status.in_(_WAITING), MessageRow.awaiting_approval.is_(False))
                     .order_by(MessageRow.id).limit(1))
            row = session.scalars(query).first()
            return StoredMessage.of(row) if row else None

    def drop_stale(self, queue: QueueName, received_before: datetime) -> list[RemovedAudio]:
        """Soft-delete (reason stale) the queue's waiting items received before ``received_before``."""
        return self._delete_live(
            DeleteReason.STALE, MessageRow.queue == queue.value, MessageRow.status.in_(_WAITING),
            MessageRow.received_at < received_before)
