"""Channel-point TTS: redemptions become queue items, and Twitch hears how each one ended (refund or not).

The one implementation behind the Twitch bot's EventSub path, the list of unfulfilled redemptions read at start,
the chat fallback (``channel_points.reward_id``), the dashboard and the HTTP/WebSocket views.

How an item ended is read from its stored row (``core.refunds.ending_of``), so every way an item leaves the queue
(played, STOP, SKIP, removal, Clear, stale, failed synthesis, refused by the rules) is covered without a hook in
each; the two endings a row cannot tell apart are decided first: a timeout or ban (``user_moderated``: points
kept) and a moderator's decision in Twitch's own queue (``twitch_update``: nothing sent). The status change is
stored in the outbox (``storage.redemptions``) before it is sent; the ``redemptions`` loop sends it, retries with
backoff while Twitch is away or answers 5xx, drops it with the reason on the item when Twitch answers 4xx, and
shows in ``/api/health`` like every other loop.

Talking to Twitch is the bot's job (``bot.channel_points``): it hands this service a ``RewardClient`` while it is
connected with the broadcaster's ``channel:manage:redemptions`` token.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Protocol

from core.channel_points import Redemption, decide_redemption
from core.chat import IncomingChat, Origin, Source
from core.refunds import RedemptionStatus, ending_of, refund_status, twitch_status
from core.settings import ChannelPointsSettings, Settings
from core.viewer_voice import resolve_voice
from service.log_hygiene import escape_controls
from service.moderation import ModerationConflict, UnknownMessage
from service.resilience import Backoff
from storage.messages import NewMessage, utcnow
from storage.redemptions import OutboxEntry, RedemptionStore, RewardRecord, TwitchUpdate

if TYPE_CHECKING:
    from service.streamvoice import AcceptResult, StreamVoice

log = logging.getLogger(__name__)

#: The loop's entry in ``/api/health`` ``loops``.
LOOP = "redemptions"
#: ``/api/health`` ``channel_points`` when the broadcaster's token cannot manage the reward.
NEEDS_SCOPE = "needs channel:manage:redemptions: authorise again at /twitch/oauth"
MANAGE_SCOPE = "channel:manage:redemptions"
#: The longest the loop sleeps without being woken (it also wakes on every change of the queue).
IDLE_S = 5.0
#: After a wake-up the loop waits this long first, so a flood of changes (chat at thousands of lines a second)
#: costs one look per interval rather than one per line.
WAKE_SPACING_S = 0.1


class HelixRefused(Exception):
    """Twitch answered 4xx: retrying cannot help. ``str()`` is the reason kept on the item."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status


class RewardClient(Protocol):
    """What the service needs from Twitch (``bot.helix_rewards.HelixRewards``). Any exception but
    ``HelixRefused`` counts as transient (unreachable, 5xx) and is retried."""

    async def set_redemption_status(self, entry: OutboxEntry) -> None: ...

    async def redemption_status(self, entry: OutboxEntry) -> RedemptionStatus | None: ...

    async def update_reward(self, record: RewardRecord, *, fields: ChannelPointsSettings | None = None,
                            paused: bool | None = None) -> None: ...


class ChannelPointsService:
    def __init__(self, sv: StreamVoice) -> None:
        self.sv = sv
        self.store = RedemptionStore(sv.db.store.engine)
        #: ``/api/health`` ``channel_points``: disabled, connecting, ok, fallback..., or what to fix.
        self.state = "disabled"
        #: Our reward on Twitch, while the bot manages it; its id is the one redemptions are read for.
        self.reward: RewardRecord | None = None
        #: The reward whose chat lines are read (``channel_points.reward_id`` as it was at start).
        self.fallback_reward_id = ""
        self.retry = Backoff(initial=1.0, cap=60.0)
        self._client: RewardClient | None = None
        #: The channel_points settings as the last live edit left them (read before ``current`` changes).
        self._points = sv.settings.current.channel_points
        self._want_paused: bool | None = None
        self._refused_fields: tuple[object, ...] | None = None
        self._ingest = asyncio.Lock()
        self._wakeup = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        points = self.sv.settings.current.channel_points
        self.fallback_reward_id = points.reward_id
        if points.enabled and not self.sv.settings.current.twitch.enabled:
            self.state = "off: channel points need the Twitch bot (the twitch: section of settings.yaml)"
        elif points.enabled:
            self.state = "waiting for the Twitch bot"
        elif points.reward_id:
            self.state = f"fallback: reading chat for reward {points.reward_id} (no refunds)"
        self.sv.loops.register(LOOP)
        self._task = asyncio.create_task(self._run(), name="redemptions")
        self.sv.settings.subscribe(self._settings_changed)
        self.sv.events.add_state_listener(self._queue_changed)

    async def stop(self) -> None:
        self.sv.events.remove_state_listener(self._queue_changed)
        self.sv.settings.unsubscribe(self._settings_changed)
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def wake(self) -> None:
        self._wakeup.set()

    def _queue_changed(self) -> None:
        """An item may have left the queue (played, removed, skipped, cleared): with a reward to manage, its
        fulfilment or refund goes out now instead of at the next idle look."""
        if self._client is not None:
            self._wakeup.set()

    # --- the bot's side -----------------------------------------------------------------------------
    def connect(self, client: RewardClient, reward: RewardRecord) -> None:
        """The bot manages ``reward`` now: redemptions of it are queued and status changes can be sent."""
        self._client, self.reward = client, reward
        self.state = "ok"
        self.wake()

    def disconnect(self, state: str | None = None) -> None:
        self._client = None
        if state is not None:
            self.state = state

    @property
    def chat_reward_ids(self) -> frozenset[str]:
        """Rewards whose chat lines are not ordinary chat: ours (read over EventSub) and the fallback."""
        return frozenset(r for r in (self.fallback_reward_id, self.reward.reward_id if self.reward else "") if r)

    # --- redemptions in -----------------------------------------------------------------------------
    async def redeem(self, redemption: Redemption) -> AcceptResult:
        """One redemption of our reward becomes one item (at most once, whichever way it arrived)."""
        from service.streamvoice import AcceptResult

        if self.reward is None or redemption.reward_id != self.reward.reward_id:
            log.info("redemption %s of reward %s ignored: not the TTS reward StreamVoice manages",
                     redemption.id, escape_controls(redemption.reward_id))
            return AcceptResult(queued=False, reason="not our reward")
        async with self._ingest:
            if not await self.sv.db.call(self.store.claim, redemption.id, redemption.broadcaster_id,
                                         redemption.reward_id):
                log.debug("redemption %s is already queued or settled", redemption.id)
                return AcceptResult(queued=False, reason="already queued")
            result = await self._store(redemption, redemption_id=redemption.id)
            assert result.id is not None
            await self.sv.db.call(self.store.attach, redemption.id, result.id)
        if not result.queued:
            log.info("redemption %s by %s not read (%s): its points are refunded", redemption.id,
                     redemption.user_login, result.reason)
            self.wake()
        return result

    async def redeem_from_chat(self, redemption: Redemption, message_id: str) -> AcceptResult:
        """The fallback: a chat line redeeming ``channel_points.reward_id``. Read once; never refunded."""
        from service.streamvoice import AcceptResult

        if self.reward is not None and redemption.reward_id == self.reward.reward_id:
            return AcceptResult(queued=False, reason="read over EventSub")  # both paths: queued once
        if redemption.reward_id != self.fallback_reward_id:
            return AcceptResult(queued=False, reason="not our reward")
        seen = IncomingChat(sent_by=redemption.sent_by, text=redemption.user_input, source=Source.TWITCH,
                            external_id=message_id)
        if self.sv.memory.is_duplicate(seen, time.monotonic()):
            return AcceptResult(queued=False, reason="duplicate delivery")
        return await self._store(redemption, redemption_id=None, external_id=message_id)

    async def _store(self, redemption: Redemption, *, redemption_id: str | None,
                     external_id: str | None = None) -> AcceptResult:
        from service.streamvoice import AcceptResult

        settings = self.sv.settings.current
        decision = decide_redemption(redemption, settings, self.sv.memory, time.monotonic())
        assert decision.queue is not None
        voice = resolve_voice(redemption.sent_by, settings, self.sv.voices.get(redemption.sent_by))
        row_id = await self.sv.writer.submit(NewMessage(
            queue=decision.queue, source=Source.TWITCH, sent_by=redemption.sent_by, text=redemption.user_input,
            spoken_text=decision.spoken_text, external_id=external_id, status=decision.status,
            reason=decision.reason, origin=Origin.CHANNEL_POINTS, voice=voice, redemption_id=redemption_id,
            redemption_status=RedemptionStatus.UNFULFILLED.value if redemption_id else None))
        if decision.will_speak:
            self.sv.signals.wake(decision.queue)
            self.sv.signals.items_changed()
            log.info("redemption by %s -> %s queue", redemption.user_login, decision.queue.value)
        self.sv.signals.state_changed()
        return AcceptResult(queued=decision.will_speak, id=row_id, queue=decision.queue, status=decision.status,
                            reason=decision.reason)

    async def twitch_update(self, redemption_id: str, status: str) -> TwitchUpdate:
        """Twitch's ``.update`` event: a moderator completed or refunded it in Twitch's reward queue (the item
        leaves ours, nothing is sent back), or Twitch confirms a change we sent."""
        decided = twitch_status(status)
        if decided is None or decided is RedemptionStatus.UNFULFILLED:
            return TwitchUpdate.IGNORED
        outcome, item_id = await self.sv.db.call(self.store.twitch_decided, redemption_id, decided)
        if outcome in {TwitchUpdate.SETTLED, TwitchUpdate.OVERRULED} and item_id is not None:
            log.info("redemption %s was %s in Twitch's reward queue; item %d leaves the queue", redemption_id,
                     decided.value, item_id)
            with contextlib.suppress(UnknownMessage, ModerationConflict):  # already played or gone
                await self.sv.moderation.remove(item_id)
        self.sv.signals.state_changed()
        return outcome

    async def user_moderated(self, login: str) -> int:
        """A timeout or ban: the viewer's channel-point items keep their points (decided before the removal)."""
        items = await self.sv.db.call(self.store.live_unfulfilled_of, login)
        decided = 0
        for item in items:
            decided += await self.sv.db.call(self.store.decide, item.id, RedemptionStatus.FULFILLED)
        if decided:
            log.info("%s was timed out or banned: %d redemption(s) keep their points", login, decided)
            self.wake()
        return decided

    def tts_paused(self, paused: bool) -> None:
        """``/api/pause`` / ``!tts pause`` (and resume): with ``pause_with_tts`` the reward follows."""
        if self.sv.settings.current.channel_points.pause_with_tts:
            self._want_paused = paused
            self.wake()

    # --- the loop -----------------------------------------------------------------------------------
    async def _run(self) -> None:
        failures = 0
        while True:
            try:
                await self._settle()
                await self._sync_reward()
                wait = await self._send_due()
            except Exception as exc:  # a locked database, Twitch away while updating the reward: retried
                self.sv.loops.failing(LOOP, exc)
                await asyncio.sleep(self.retry.delay(failures))
                failures += 1
                continue
            failures = 0
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wakeup.wait()
            await asyncio.sleep(WAKE_SPACING_S)
            self._wakeup.clear()

    async def _settle(self) -> None:
        """Decide the status of every channel-point item that left the queue since the last look."""
        while True:
            items = await self.sv.db.call(self.store.to_settle)
            if not items:
                return
            for item in items:  # each one leaves ``to_settle``: decided now, or shown as decided elsewhere
                ending = ending_of(item.status, item.is_deleted, item.deleted_reason, item.reason)
                status = refund_status(ending) if ending is not None else None
                if status is not None and await self.sv.db.call(self.store.decide, item.id, status):
                    log.info("item %d (%s): redemption %s -> %s", item.id, ending.value if ending else "-",
                             item.redemption_id, status.value)
            self.sv.signals.state_changed()

    async def _send_due(self) -> float:
        """Send what is due; returns how long the loop may sleep."""
        client = self._client
        if client is None:
            return IDLE_S
        for entry in await self.sv.db.call(self.store.due, utcnow()):
            try:
                await client.set_redemption_status(entry)
            except HelixRefused as exc:
                await self._refused(client, entry, exc)
            except Exception as exc:  # unreachable, 5xx: retried with backoff, also after a restart
                delay = self.retry.delay(entry.attempts)
                self.sv.loops.failing(LOOP, exc)
                await self.sv.db.call(self.store.mark_retry, entry.redemption_id, delay, _describe(exc))
                continue
            else:
                await self.sv.db.call(self.store.mark_sent, entry.redemption_id)
                log.info("redemption %s marked %s on Twitch", entry.redemption_id, entry.status.value)
            self.sv.loops.ok(LOOP)
            self.sv.signals.state_changed()
        if self.sv.loops.state(LOOP) != "ok" and not await self.sv.db.call(self.store.pending_count):
            self.sv.loops.ok(LOOP)
        due = await self.sv.db.call(self.store.next_due)
        if due is None:
            return IDLE_S
        return min(IDLE_S, max(0.0, (due - utcnow()).total_seconds()))

    async def _refused(self, client: RewardClient, entry: OutboxEntry, exc: HelixRefused) -> None:
        """Twitch answered 4xx. Often because it is already settled: our own change landed before a crash lost
        the answer (then it counts as sent: once), or a moderator settled it first. Otherwise it is dropped."""
        try:
            now = await client.redemption_status(entry)
        except Exception:  # the look-up is a courtesy; without it the change is dropped as refused
            now = None
        if now is entry.status:
            await self.sv.db.call(self.store.mark_sent, entry.redemption_id)
            log.info("redemption %s was already %s on Twitch", entry.redemption_id, now.value)
        elif now is not None and now is not RedemptionStatus.UNFULFILLED:
            await self.sv.db.call(self.store.twitch_decided, entry.redemption_id, now)
            log.info("redemption %s was %s on Twitch before our change was sent; Twitch's stands",
                     entry.redemption_id, now.value)
        else:
            log.error("Twitch refused to mark redemption %s %s (%s); not retried", entry.redemption_id,
                      entry.status.value, exc)
            await self.sv.db.call(self.store.mark_dropped, entry.redemption_id, str(exc))

    async def _sync_reward(self) -> None:
        """Live edits of title, cost, prompt and limits, and the pause state, reach the reward on Twitch."""
        client, record = self._client, self.reward
        if client is None or record is None:
            return
        points = self._points
        if points.reward_fields != record.reward_fields and points.reward_fields != self._refused_fields:
            try:
                await client.update_reward(record, fields=points)
            except HelixRefused as exc:
                self._refused_fields = points.reward_fields
                log.error("Twitch refused the reward update (%s); fix channel_points in settings.yaml", exc)
            else:
                record = await self._remember(record, points)
                log.info("channel-point reward updated on Twitch: %r, %d points", points.title, points.cost)
        want = self._want_paused
        if want is not None and want != record.is_paused:
            try:
                await client.update_reward(record, paused=want)
            except HelixRefused as exc:
                log.error("Twitch refused to %s the reward (%s)", "pause" if want else "unpause", exc)
                self._want_paused = None
            else:
                record = await self._remember(record, None, paused=want)
                log.info("channel-point reward %s on Twitch", "paused" if want else "unpaused")

    async def _remember(self, record: RewardRecord, points: ChannelPointsSettings | None,
                        paused: bool | None = None) -> RewardRecord:
        if points is not None:
            record = replace(record, title=points.title, cost=points.cost, prompt=points.prompt,
                             global_cooldown=points.global_cooldown,
                             max_per_user_per_stream=points.max_per_user_per_stream)
        if paused is not None:
            record = replace(record, is_paused=paused)
        await self.sv.db.call(self.store.save_reward, record)
        self.reward = record
        return record

    async def _settings_changed(self, old: Settings, new: Settings) -> None:
        self._points = new.channel_points
        if old.channel_points.reward_fields != new.channel_points.reward_fields:
            self._refused_fields = None
            self.wake()


def _describe(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
