"""The channel-point TTS reward on Twitch: created once and reused, its redemptions read over EventSub with the
broadcaster's token, the ones made while StreamVoice was stopped picked up at start, and the chat fallback
(``channel_points.reward_id``) for a streamer who does not grant ``channel:manage:redemptions``.

What happens to a redemption after it is queued (refunds, the outbox, pausing the reward) is the service's
(``service.redemptions``); this module only speaks Twitch. The setup runs as its own task beside the chat bot:
a failure here (Twitch away, a token without the scope) shows in ``/api/health`` ``channel_points`` and never
stops chat from being read.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
from collections.abc import Sequence
from typing import Any

import twitchio
from twitchio.eventsub import ChannelPointsRedeemAddSubscription, ChannelPointsRedeemUpdateSubscription
from twitchio.ext import commands

from bot.conversion import chat_line, from_other_channel, reward_line, sender_name
from bot.helix_rewards import HelixRewards, record_of
from bot.twitch_bot import StreamVoiceBot
from core.channel_points import Redemption
from core.settings import Settings
from service.redemptions import MANAGE_SCOPE, NEEDS_SCOPE, ChannelPointsService, HelixRefused
from service.streamvoice import StreamVoice
from storage.redemptions import RewardRecord

log = logging.getLogger(__name__)


class _AnyReward(ChannelPointsRedeemAddSubscription):
    """The subscription without the optional ``reward_id`` (twitchio would send it empty): every redemption in
    the channel arrives, and the ones for other rewards are ignored with a log line."""

    @property
    def condition(self) -> Any:
        return {"broadcaster_user_id": self.broadcaster_user_id}


class _AnyRewardUpdate(ChannelPointsRedeemUpdateSubscription):
    @property
    def condition(self) -> Any:
        return {"broadcaster_user_id": self.broadcaster_user_id}


class ChannelPointsComponent(commands.Component):
    """Redemptions from EventSub, and the fallback's chat lines, handed to the service."""

    def __init__(self, service: ChannelPointsService, broadcaster_id: str) -> None:
        self.service = service
        self.broadcaster_id = broadcaster_id

    @commands.Component.listener()
    async def event_custom_redemption_add(self, payload: twitchio.ChannelPointsRedemptionAdd) -> None:
        if str(payload.broadcaster.id) != self.broadcaster_id:
            return
        await self.service.redeem(Redemption(
            id=payload.id, broadcaster_id=self.broadcaster_id, reward_id=payload.reward.id,
            user_login=payload.user.name or "", user_name=payload.user.display_name or payload.user.name or "",
            user_input=payload.user_input or "", redeemed_at=payload.redeemed_at))

    @commands.Component.listener()
    async def event_custom_redemption_update(self, payload: twitchio.ChannelPointsRedemptionUpdate) -> None:
        reward = self.service.reward
        if str(payload.broadcaster.id) != self.broadcaster_id or reward is None \
                or payload.reward.id != reward.reward_id:
            return
        await self.service.twitch_update(payload.id, payload.status)

    @commands.Component.listener()
    async def event_message(self, payload: twitchio.ChatMessage) -> None:
        """The fallback: a chat line that redeems ``channel_points.reward_id`` (read whether the App is online
        or not: the App never sends redemptions)."""
        line = chat_line(payload)
        reward = reward_line(line, self.service.chat_reward_ids)
        if reward is None or line.broadcaster_id != self.broadcaster_id or from_other_channel(line):
            return
        await self.service.redeem_from_chat(Redemption(
            id=f"chat:{line.message_id}", broadcaster_id=self.broadcaster_id, reward_id=reward.reward_id,
            user_login=line.chatter_login, user_name=sender_name(line), user_input=line.text), line.message_id)


class ChannelPointsRunner:
    """Sets the reward up for each bot session (``begin``), and again after the broadcaster authorises."""

    def __init__(self, sv: StreamVoice, settings: Settings, *, retry_delays: Sequence[float] = (2.0, 5.0, 15.0, 30.0)
                 ) -> None:
        self.sv = sv
        self.service = sv.channel_points
        #: As at start: ``enabled`` and ``reward_id`` take effect at a restart.
        self.points = settings.channel_points
        self.retry_delays = tuple(retry_delays) or (2.0,)
        self._authorised = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._bot: StreamVoiceBot | None = None

    @property
    def wanted(self) -> bool:
        return self.points.enabled or bool(self.points.reward_id)

    @staticmethod
    def scopes_for(enabled: bool) -> tuple[str, ...]:
        return (MANAGE_SCOPE,) if enabled else ()

    def authorised(self) -> None:
        """The broadcaster signed in again (perhaps now with the scope): try again."""
        self._authorised.set()

    async def begin(self, bot: StreamVoiceBot, broadcaster_id: str) -> None:
        if not self.wanted or self._bot is bot:
            return
        await self.end()
        self._bot = bot
        await bot.add_component(ChannelPointsComponent(self.service, broadcaster_id))
        if self.points.enabled:
            self._task = asyncio.create_task(self._setup(bot, broadcaster_id), name="channel-points")

    async def end(self) -> None:
        task, self._task, self._bot = self._task, None, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.service.disconnect("waiting for the Twitch bot" if self.points.enabled else None)

    async def _setup(self, bot: StreamVoiceBot, broadcaster_id: str) -> None:
        helix = HelixRewards(bot, broadcaster_id)
        subscribed, failures = False, 0
        self.service.state = "connecting"
        while True:
            try:
                if not await helix.can_manage():
                    await self._wait_for_scope(broadcaster_id)
                    continue
                record = await self._reward(helix, broadcaster_id)
                self.service.connect(helix, record)
                if not subscribed:
                    for subscription in (_AnyReward(broadcaster_user_id=broadcaster_id),
                                         _AnyRewardUpdate(broadcaster_user_id=broadcaster_id)):
                        await bot.subscribe_websocket(subscription, token_for=broadcaster_id, as_bot=False)
                    subscribed = True
                picked = 0
                async for redemption in helix.unfulfilled(record.reward_id):
                    picked += (await self.service.redeem(redemption)).id is not None
                log.info("channel-point reward %r (%s) ready; %d redemption(s) made while stopped picked up",
                         record.title, record.reward_id, picked)
                return
            except HelixRefused as exc:
                if exc.status in {401, 403}:
                    await self._wait_for_scope(broadcaster_id)
                    continue
                self.service.disconnect(f"error: {exc}")
                log.error("Twitch refused to set up the channel-point reward: %s; fix channel_points in "
                          "settings.yaml and restart", exc)
                return
            except Exception as exc:  # Twitch away: the chat bot goes on, the reward is set up later
                delay = self.retry_delays[min(failures, len(self.retry_delays) - 1)]
                failures += 1
                self.service.disconnect("error: cannot reach Twitch")
                log.warning("channel-point reward: cannot reach Twitch (%s: %s); retrying in %g s",
                            type(exc).__name__, exc, delay)
                await asyncio.sleep(delay)

    async def _wait_for_scope(self, broadcaster_id: str) -> None:
        if self.service.state != NEEDS_SCOPE:
            log.error("Channel-point TTS needs the broadcaster's permission to manage rewards "
                      "(channel:manage:redemptions): open /twitch/oauth?account=broadcaster and sign in as the "
                      "broadcaster (user id %s)%s", broadcaster_id,
                      f"; meanwhile chat redeeming reward {self.points.reward_id} is read" if self.points.reward_id
                      else "")
        self.service.disconnect(NEEDS_SCOPE)
        self._authorised.clear()
        await self._authorised.wait()

    async def _reward(self, helix: HelixRewards, broadcaster_id: str) -> RewardRecord:
        """Ours from an earlier start (looked up among the rewards this client may manage), else one of those
        with our title (a database that was replaced), else a new one. Never a second one."""
        store = self.service.store
        stored = await self.sv.db.call(store.reward, broadcaster_id)
        rewards = await helix.manageable_rewards()
        by_id = {str(r.get("id")): r for r in rewards}
        title = self.points.title.casefold()
        if stored is not None and stored.reward_id in by_id:
            record = record_of(broadcaster_id, by_id[stored.reward_id])
        elif (found := next((r for r in rewards if str(r.get("title", "")).casefold() == title), None)) is not None:
            record = record_of(broadcaster_id, found)
            log.info("reusing the channel-point reward %r (%s)", record.title, record.reward_id)
        else:
            record = await helix.create_reward(self.points)
            log.info("created the channel-point reward %r (%s, %d points)", record.title, record.reward_id,
                     record.cost)
        live = self.sv.settings.current.channel_points
        if record.reward_fields != live.reward_fields:
            await helix.update_reward(record, fields=live)
            record = dataclasses.replace(record, title=live.title, cost=live.cost, prompt=live.prompt,
                                         global_cooldown=live.global_cooldown,
                                         max_per_user_per_stream=live.max_per_user_per_stream)
        await self.sv.db.call(store.save_reward, record)
        return record
