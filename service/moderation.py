"""Queue moderation: remove one item, a chatter's lines or a Twitch message; approve or reject held cheers.

The one implementation behind the HTTP routes, the WebSocket frames, the Twitch bot's chat commands and
moderation events, and the dashboard. Every change runs through ``PlaybackController.moderate`` so the item
playing is stopped (``stop`` to players, the autoplay run goes on) in the same step as its row is deleted.
The rules (what may be removed, hold, stale) are pure functions in ``core.moderation``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from core.chat import DeleteReason, QueueName, Status
from core.errors import Conflict, NotFound
from core.logins import login_key
from core.moderation import removal_refusal
from service.database import AsyncStore
from service.playback import PlaybackController
from service.signals import QueueSignals
from service.synthesis import remove_files
from service.writer import GroupCommitWriter
from storage.messages import RemovedAudio, StoredMessage

log = logging.getLogger(__name__)


class UnknownMessage(NotFound):
    """No message with that id."""


class ModerationConflict(Conflict, RuntimeError):
    """The item is not in a state this action applies to; the message says why."""


@dataclass(frozen=True, slots=True)
class Removal:
    """What a removal did: how many items were removed, and which one was playing (stopped), if any."""

    removed: int
    stopped: int | None = None
    ids: tuple[int, ...] = ()


class Moderator:
    def __init__(self, db: AsyncStore, writer: GroupCommitWriter, playback: PlaybackController,
                 signals: QueueSignals) -> None:
        self._db = db
        self._writer = writer
        self._playback = playback
        self._signals = signals

    async def remove(self, message_id: int) -> Removal:
        """Remove one item (soft delete, reason ``removed``); stop it when it is playing."""
        item = await self._get(message_id)
        self._refuse_unless_live(item)
        removal = await self._remove(lambda i: i.id == message_id,
                                     lambda: self._db.call(self._db.store.remove_ids, [message_id],
                                                           DeleteReason.REMOVED))
        if not removal.removed:  # it ended between the check and the delete (played, cleared...)
            self._refuse_unless_live(await self._get(message_id))
        log.info("message %d removed%s", message_id, " (it was playing)" if removal.stopped else "")
        return removal

    async def remove_user(self, login: str) -> Removal:
        """Remove every waiting item of one chatter in both queues (and stop theirs if it plays)."""
        login = login_key(login)
        await self._writer.flush()  # lines accepted a moment ago are removed too
        removal = await self._remove(lambda i: login_key(i.sent_by) == login,
                                     lambda: self._db.call(self._db.store.remove_user, login, DeleteReason.REMOVED))
        log.info("removed %d item(s) of %s%s", removal.removed, login, " (one was playing)" if removal.stopped else "")
        return removal

    async def remove_external(self, external_id: str) -> Removal:
        """A Twitch message was deleted: remove its item (stop it when playing). Unknown ids are a no-op."""
        await self._writer.flush()
        rows = await self._db.call(self._db.store.by_external_id, external_id)
        live = [r.id for r in rows if removal_refusal(r.status, r.is_deleted, r.deleted_reason) is None]
        if not live:
            log.debug("deleted Twitch message %s is not in a queue; nothing to do", external_id)
            return Removal(0)
        removal = await self._remove(lambda i: i.id in live,
                                     lambda: self._db.call(self._db.store.remove_ids, live, DeleteReason.REMOVED))
        log.info("Twitch message %s deleted by a moderator: removed %d item(s)", external_id, removal.removed)
        return removal

    async def approve(self, message_id: int) -> StoredMessage:
        """A cheer waiting for approval may play now (in its place in the queue)."""
        item = await self._get(message_id)
        if not await self._db.call(self._db.store.approve, message_id):
            raise ModerationConflict(self._not_awaiting(await self._get(message_id)))
        self._signals.items_changed()
        self._signals.state_changed()
        log.info("cheer %d approved", message_id)
        return item

    async def reject(self, message_id: int) -> Removal:
        """A cheer waiting for approval is dropped (soft delete, reason ``rejected``)."""
        item = await self._get(message_id)
        if not item.awaiting_approval or removal_refusal(item.status, item.is_deleted, item.deleted_reason):
            raise ModerationConflict(self._not_awaiting(item))
        removal = await self._remove(lambda i: False, lambda: self._db.call(self._db.store.reject, message_id))
        if not removal.removed:
            raise ModerationConflict(self._not_awaiting(await self._get(message_id)))
        log.info("cheer %d rejected", message_id)
        return removal

    # --- internals ----------------------------------------------------------------------------------
    async def _get(self, message_id: int) -> StoredMessage:
        item = await self._db.call(self._db.store.get, message_id)
        if item is None:
            raise UnknownMessage(f"no message with id {message_id}")
        return item

    @staticmethod
    def _refuse_unless_live(item: StoredMessage) -> None:
        problem = removal_refusal(item.status, item.is_deleted, item.deleted_reason)
        if problem is not None:
            raise ModerationConflict(f"message {item.id}: {problem}")

    @staticmethod
    def _not_awaiting(item: StoredMessage) -> str:
        problem = removal_refusal(item.status, item.is_deleted, item.deleted_reason)
        if problem is not None:
            return f"message {item.id}: {problem}"
        if item.queue is not QueueName.BITS or item.status is Status.PLAYING or not item.awaiting_approval:
            return f"message {item.id} is not waiting for approval"
        return f"message {item.id} changed meanwhile"

    async def _remove(self, stops: Callable[[StoredMessage], bool],
                      delete: Callable[[], Awaitable[list[RemovedAudio]]]) -> Removal:
        async def work(hit: StoredMessage | None) -> list[RemovedAudio]:
            removed = await delete()
            if hit is not None and hit.id not in {r.id for r in removed}:
                # the item is stopped, so it must leave the queue too: never a live row left ``playing``
                removed += await self._db.call(self._db.store.remove_ids, [hit.id], DeleteReason.REMOVED)
            remove_files([r.audio_path for r in removed])
            return removed

        removed, stopped = await self._playback.moderate(stops, work)
        return Removal(len(removed), stopped.id if stopped else None, tuple(r.id for r in removed))
