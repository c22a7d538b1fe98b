"""The bot's chat behaviour: hand chat lines to StreamVoice while the App is offline, and ``!ttsclear``."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import twitchio
from twitchio.ext import commands

from bot.conversion import chat_line, ignore_reason, may_clear, to_incoming
from service.streamvoice import StreamVoice

log = logging.getLogger(__name__)

#: A confirmation in chat at most this often, however often moderators clear (the clear itself always runs).
CONFIRM_INTERVAL_S = 30.0


def _clear_allowed(ctx: commands.Context[Any]) -> bool:
    # a chat message's chatter is a ``Chatter`` (with badges); other contexts carry a bare ``PartialUser``
    return may_clear(b.set_id for b in getattr(ctx.chatter, "badges", ()))


class ChatComponent(commands.Component):
    """Reads the channel's chat for StreamVoice.

    While the streamer's App is online it feeds chat itself, so the bot stays quiet (nothing is spoken twice;
    the service's duplicate check is a second line of defence, not the plan). ``outcomes`` counts what happened
    to each line, for logs and tests.
    """

    def __init__(self, sv: StreamVoice, *, bot_id: str, broadcaster_id: str,
                 confirm_interval: float = CONFIRM_INTERVAL_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.sv = sv
        self.bot_id = bot_id
        self.broadcaster_id = broadcaster_id
        self.confirm_interval = confirm_interval
        self._clock = clock
        self._last_confirmation: float | None = None
        self.outcomes: Counter[str] = Counter()

    @commands.Component.listener()
    async def event_message(self, payload: twitchio.ChatMessage) -> None:
        line = chat_line(payload)
        if line.broadcaster_id != self.broadcaster_id:
            return
        reason = ignore_reason(line, self.bot_id)
        if reason is not None:
            self.outcomes["ignored"] += 1
            log.debug("Twitch message %s ignored: %s", line.message_id, reason)
            return
        if self.sv.presence.online:
            self.outcomes["app online"] += 1
            log.debug("Twitch message %s left to the App (online)", line.message_id)
            return
        result = await self.sv.accept(to_incoming(line))
        self.outcomes["queued" if result.queued else "not queued"] += 1
        if result.queued or result.id is not None:
            log.info("Twitch chat from %s -> %s queue (%s)", line.chatter_login,
                     result.queue.value if result.queue else "-", "queued" if result.queued else result.reason)

    @commands.command(name="ttsclear")
    @commands.guard(_clear_allowed)
    async def ttsclear(self, ctx: commands.Context[Any]) -> None:
        """Clear the active TTS queue, exactly like the App's Clear button (moderators only)."""
        removed = await self.sv.clear()
        self.outcomes["cleared"] += 1
        log.info("!ttsclear by %s removed %d item(s)", ctx.chatter.name, removed)
        now = self._clock()
        if self._last_confirmation is not None and now - self._last_confirmation < self.confirm_interval:
            return
        self._last_confirmation = now
        noun = "message" if removed == 1 else "messages"
        try:
            await ctx.channel.send_message(f"TTS queue cleared ({removed} {noun}).", sender=self.bot_id,
                                           token_for=self.bot_id)
        except Exception as exc:  # a missing user:write:chat scope must not look like a failed clear
            log.warning("could not confirm !ttsclear in chat: %s", exc)
