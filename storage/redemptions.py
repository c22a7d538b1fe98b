"""Channel-point redemptions in the database: our reward's id, each redemption seen once, and the outbox of
status changes for Twitch (stored before they are sent, so a crash or restart loses none and sends none twice).

Synchronous like ``MessageStore``; the service runs it on the same database thread. Every method is one
transaction. The item's own ``redemption_status`` (on the message row) changes in the same transaction as the
outbox row, so views never disagree with what will be sent.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, Result, func, or_, select, update
from sqlalchemy.orm import Session

from core.chat import LIVE_STATUSES, Status
from core.refunds import RedemptionStatus
from storage.messages import StoredMessage, utcnow
from storage.models import MessageRow, RedemptionRow, RewardRow

_ENDED = [Status.PLAYED.value, Status.ERROR.value, Status.SKIPPED.value]
_LIVE = [s.value for s in LIVE_STATUSES]
_UNFULFILLED = RedemptionStatus.UNFULFILLED.value


def _rowcount(result: Result[Any]) -> int:
    return cast("CursorResult[Any]", result).rowcount


class OutboxState(enum.StrEnum):
    OPEN = "open"
    PENDING = "pending"
    SENT = "sent"
    DROPPED = "dropped"
    TWITCH = "twitch"


class TwitchUpdate(enum.StrEnum):
    """What a status change made on Twitch (the ``.update`` event) meant for us."""

    UNKNOWN = "unknown"      # not a redemption we queued
    SETTLED = "settled"      # a moderator decided it in Twitch's queue: the item leaves ours, nothing is sent
    ACK = "ack"              # Twitch confirms the status we sent
    OVERRULED = "overruled"  # a moderator decided otherwise before our change was sent: theirs stands
    IGNORED = "ignored"      # already settled


@dataclass(frozen=True, slots=True)
class RewardRecord:
    broadcaster_id: str
    reward_id: str
    title: str
    cost: int
    prompt: str
    global_cooldown: int = 0
    max_per_user_per_stream: int = 0
    is_paused: bool = False

    @property
    def reward_fields(self) -> tuple[str, int, str, int, int]:
        return (self.title, self.cost, self.prompt, self.global_cooldown, self.max_per_user_per_stream)


@dataclass(frozen=True, slots=True)
class OutboxEntry:
    redemption_id: str
    broadcaster_id: str
    reward_id: str
    status: RedemptionStatus
    attempts: int


class RedemptionStore:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _session(self) -> Session:
        return Session(self.engine, expire_on_commit=False)

    # --- the reward ---------------------------------------------------------------------------------
    def reward(self, broadcaster_id: str) -> RewardRecord | None:
        with self._session() as session:
            row = session.get(RewardRow, broadcaster_id)
            if row is None:
                return None
            return RewardRecord(row.broadcaster_id, row.reward_id, row.title, row.cost, row.prompt,
                                row.global_cooldown, row.max_per_user_per_stream, bool(row.is_paused))

    def save_reward(self, record: RewardRecord) -> None:
        with self._session() as session, session.begin():
            session.merge(RewardRow(
                broadcaster_id=record.broadcaster_id, reward_id=record.reward_id, title=record.title,
                cost=record.cost, prompt=record.prompt, global_cooldown=record.global_cooldown,
                max_per_user_per_stream=record.max_per_user_per_stream, is_paused=record.is_paused,
                created_at=utcnow()))

    # --- redemptions seen ---------------------------------------------------------------------------
    def claim(self, redemption_id: str, broadcaster_id: str, reward_id: str) -> bool:
        """True when this redemption should become an item now: never queued before and not already decided
        on Twitch. Records it (state ``open``) before its item is stored, so its status change is never lost."""
        with self._session() as session, session.begin():
            queued = session.execute(select(MessageRow.id).where(MessageRow.redemption_id == redemption_id)
                                     .limit(1)).first()
            if queued is not None:
                return False
            row = session.get(RedemptionRow, redemption_id)
            if row is not None:
                return row.state == OutboxState.OPEN.value
            session.add(RedemptionRow(redemption_id=redemption_id, broadcaster_id=broadcaster_id,
                                      reward_id=reward_id, state=OutboxState.OPEN.value, status=_UNFULFILLED,
                                      created_at=utcnow()))
            return True

    def attach(self, redemption_id: str, message_id: int) -> None:
        with self._session() as session, session.begin():
            session.execute(update(RedemptionRow).where(RedemptionRow.redemption_id == redemption_id)
                            .values(message_id=message_id))

    def item(self, redemption_id: str) -> StoredMessage | None:
        with self._session() as session:
            row = session.scalars(select(MessageRow).where(MessageRow.redemption_id == redemption_id)
                                  .order_by(MessageRow.id).limit(1)).first()
            return StoredMessage.of(row) if row else None

    def to_settle(self, limit: int = 100) -> list[StoredMessage]:
        """Items whose redemption is still unfulfilled but which left the queue (played, skipped, failed,
        removed, cleared...): each needs its status decided."""
        with self._session() as session:
            query = (select(MessageRow)
                     .where(MessageRow.redemption_status == _UNFULFILLED,
                            or_(MessageRow.is_deleted.is_(True), MessageRow.status.in_(_ENDED)))
                     .order_by(MessageRow.id).limit(limit))
            return [StoredMessage.of(r) for r in session.scalars(query)]

    def live_unfulfilled_of(self, login: str) -> list[StoredMessage]:
        """A viewer's channel-point items still in a queue (or playing) and not yet decided."""
        with self._session() as session:
            query = (select(MessageRow)
                     .where(MessageRow.redemption_status == _UNFULFILLED, MessageRow.is_deleted.is_(False),
                            MessageRow.status.in_(_LIVE), func.lower(MessageRow.sent_by) == login.lower()))
            return [StoredMessage.of(r) for r in session.scalars(query)]

    # --- the outbox ---------------------------------------------------------------------------------
    def decide(self, message_id: int, status: RedemptionStatus) -> bool:
        """Store the status to send for this item's redemption (first decision wins; exactly one per
        redemption). False when it was already decided."""
        with self._session() as session, session.begin():
            item = session.get(MessageRow, message_id)
            if item is None or item.redemption_id is None or item.redemption_status != _UNFULFILLED:
                return False
            tracked = session.get(RedemptionRow, item.redemption_id)
            if tracked is None or tracked.state != OutboxState.OPEN.value:  # decided elsewhere: show that
                item.redemption_status = tracked.status if tracked is not None else "failed: untracked"
                return False
            item.redemption_status = status.pending()
            tracked.state, tracked.status, tracked.next_attempt_at = OutboxState.PENDING.value, status.value, utcnow()
            tracked.message_id = message_id
            return True

    def due(self, now: datetime, limit: int = 20) -> list[OutboxEntry]:
        """Status changes to send now, oldest first."""
        with self._session() as session:
            query = (select(RedemptionRow)
                     .where(RedemptionRow.state == OutboxState.PENDING.value,
                            or_(RedemptionRow.next_attempt_at.is_(None), RedemptionRow.next_attempt_at <= now))
                     .order_by(RedemptionRow.created_at, RedemptionRow.redemption_id).limit(limit))
            return [OutboxEntry(r.redemption_id, r.broadcaster_id, r.reward_id, RedemptionStatus(r.status),
                                r.attempts) for r in session.scalars(query)]

    def next_due(self) -> datetime | None:
        with self._session() as session:
            return session.scalar(select(func.min(RedemptionRow.next_attempt_at))
                                  .where(RedemptionRow.state == OutboxState.PENDING.value))

    def pending_count(self) -> int:
        with self._session() as session:
            return int(session.scalar(select(func.count()).select_from(RedemptionRow)
                                      .where(RedemptionRow.state == OutboxState.PENDING.value)) or 0)

    def mark_sent(self, redemption_id: str) -> bool:
        """Twitch acknowledged the change: the item shows the final status. False when it was not pending."""
        with self._session() as session, session.begin():
            row = session.get(RedemptionRow, redemption_id)
            if row is None or row.state != OutboxState.PENDING.value:
                return False
            row.state, row.sent_at, row.error = OutboxState.SENT.value, utcnow(), None
            self._set_item(session, redemption_id, row.status)
            return True

    def mark_retry(self, redemption_id: str, delay_s: float, error: str) -> None:
        with self._session() as session, session.begin():
            row = session.get(RedemptionRow, redemption_id)
            if row is None or row.state != OutboxState.PENDING.value:
                return
            row.attempts += 1
            row.next_attempt_at = utcnow() + timedelta(seconds=delay_s)
            row.error = error[:500]

    def mark_dropped(self, redemption_id: str, error: str) -> None:
        """Twitch refused the change (HTTP 4xx): never retried; the reason is kept on the item."""
        with self._session() as session, session.begin():
            row = session.get(RedemptionRow, redemption_id)
            if row is None or row.state != OutboxState.PENDING.value:
                return
            row.state, row.error = OutboxState.DROPPED.value, error[:500]
            self._set_item(session, redemption_id, f"failed: {row.status}", error[:500])

    def twitch_decided(self, redemption_id: str, status: RedemptionStatus) -> tuple[TwitchUpdate, int | None]:
        """Twitch says the redemption is now ``status`` (the ``.update`` event). Returns what that meant and the
        item's id (to take it out of the queue when a moderator settled it)."""
        with self._session() as session, session.begin():
            row = session.get(RedemptionRow, redemption_id)
            if row is None:
                return TwitchUpdate.UNKNOWN, None
            item = session.scalars(select(MessageRow).where(MessageRow.redemption_id == redemption_id)
                                   .limit(1)).first()
            item_id = item.id if item is not None else None
            if row.state == OutboxState.PENDING.value and row.status == status.value:
                row.state, row.sent_at, row.error = OutboxState.SENT.value, utcnow(), None
                self._set_item(session, redemption_id, status.value)
                return TwitchUpdate.ACK, item_id
            if row.state in {OutboxState.OPEN.value, OutboxState.PENDING.value}:
                outcome = TwitchUpdate.SETTLED if row.state == OutboxState.OPEN.value else TwitchUpdate.OVERRULED
                row.state, row.status = OutboxState.TWITCH.value, status.value
                self._set_item(session, redemption_id, status.value)
                return outcome, item_id
            return TwitchUpdate.IGNORED, item_id

    @staticmethod
    def _set_item(session: Session, redemption_id: str, status: str, error: str | None = None) -> None:
        session.execute(update(MessageRow).where(MessageRow.redemption_id == redemption_id)
                        .values(redemption_status=status, redemption_error=error))
