"""The bot's chat behaviour: hand chat lines to StreamVoice while the App is offline, ``!ttsclear``, the
moderators' ``!tts skip|pause|resume|remove <user>``, and Twitch's own moderation events (a deleted message,
a timeout or ban, a cleared chat) applied to the queue."""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

import twitchio
from twitchio.ext import commands

from bot.conversion import ChatLine, ChatToRead, IgnoredLine, ModCommandLine, RewardLine, chat_line, read_line
from core.chat import IncomingChat
from core.moderation import ModAction, ModCommand, ReplyThrottle, may_moderate
from service.streamvoice import StreamVoice

log = logging.getLogger(__name__)

#: A confirmation in chat at most this often, however often moderators clear (the clear itself always runs).
CONFIRM_INTERVAL_S = 30.0


def _clear_allowed(ctx: commands.Context[Any]) -> bool:
    # a chat message's chatter is a ``Chatter`` (with badges); other contexts carry a bare ``PartialUser``
    return may_moderate(b.set_id for b in getattr(ctx.chatter, "badges", ()))


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
        #: One throttle for every chat confirmation (``!ttsclear`` and each moderator command kind).
        self._replies = ReplyThrottle(confirm_interval)
        self.outcomes: Counter[str] = Counter()

    @commands.Component.listener()
    async def event_message(self, payload: twitchio.ChatMessage) -> None:
        line = chat_line(payload)
        if line.broadcaster_id != self.broadcaster_id:
            return
        match read_line(line, self.sv.settings.current, bot_id=self.bot_id,
                        reward_ids=self.sv.channel_points.chat_reward_ids):
            case RewardLine():
                return  # a channel-point redemption: bot/channel_points.py reads it
            case ModCommandLine() as mod:
                await self._mod_command(mod, payload.broadcaster)
            case IgnoredLine(reason=reason):
                self.outcomes["ignored"] += 1
                log.debug("Twitch message %s ignored: %s", line.message_id, reason)
            case ChatToRead(chat=chat):
                await self._read(line, chat)

    async def _read(self, line: ChatLine, chat: IncomingChat) -> None:
        """Hand a chat line to the service, unless the App is online (then the App feeds chat itself)."""
        if self.sv.presence.online:
            self.outcomes["app online"] += 1
            log.debug("Twitch message %s left to the App (online)", line.message_id)
            return
        result = await self.sv.accept(chat)
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
        if not self._replies.allow("ttsclear", self._clock()):
            return
        noun = "message" if removed == 1 else "messages"
        try:
            await ctx.channel.send_message(f"TTS queue cleared ({removed} {noun}).", sender=self.bot_id,
                                           token_for=self.bot_id)
        except Exception as exc:  # a missing user:write:chat scope must not look like a failed clear
            log.warning("could not confirm !ttsclear in chat: %s", exc)

    # --- moderation ---------------------------------------------------------------------------------
    async def _mod_command(self, mod: ModCommandLine, channel: twitchio.PartialUser) -> None:
        """``!tts skip|pause|resume|remove <user>`` (words from settings).

        Only the broadcaster, moderators and lead moderators; anyone else is ignored silently (logged at debug).
        Whether the App is online does not matter: commands are not chat to speak.
        """
        name, command, line = self.sv.settings.current.mod_command, mod.command, mod.line
        if not mod.allowed:
            self.outcomes["refused"] += 1
            log.debug("!%s %s refused for %s (not a moderator)", name, command.action.value, line.chatter_login)
            return
        reply = await self._run(command)
        self.outcomes[f"mod {command.action.value}"] += 1
        log.info("!%s %s by %s: %s", name, command.action.value, line.chatter_login, reply)
        if self._replies.allow(command.action.value, self._clock()):
            try:
                await channel.send_message(reply, sender=self.bot_id, token_for=self.bot_id)
            except Exception as exc:  # a missing user:write:chat scope must not look like a failed command
                log.warning("could not confirm a moderation command in chat: %s", exc)

    async def _run(self, command: ModCommand) -> str:
        """Apply a chat command through the same service methods as the HTTP routes; the confirmation text."""
        if command.action is ModAction.SKIP:
            item = await self.sv.playback.skip()
            return "TTS: skipped." if item is not None else "TTS: nothing is playing."
        if command.action is ModAction.PAUSE:
            await self.sv.playback.set_autoplay(False)
            self.sv.channel_points.tts_paused(True)
            return "TTS autoplay paused."
        if command.action is ModAction.RESUME:
            await self.sv.playback.resume()
            self.sv.channel_points.tts_paused(False)
            return "TTS autoplay resumed."
        assert command.target is not None
        removal = await self.sv.moderation.remove_user(command.target)
        noun = "message" if removal.removed == 1 else "messages"
        return f"TTS: removed {removal.removed} {noun} from {command.target}."

    @commands.Component.listener()
    async def event_message_delete(self, payload: twitchio.ChatMessageDelete) -> None:
        """A moderator deleted one message: its item leaves the queue (stopped if it is playing)."""
        if str(payload.broadcaster.id) != self.broadcaster_id:
            return
        removal = await self.sv.moderation.remove_external(payload.message_id)
        self.outcomes["message deleted"] += 1
        self.outcomes["removed"] += removal.removed

    @commands.Component.listener()
    async def event_chat_clear_user(self, payload: twitchio.ChannelChatClearUserMessages) -> None:
        """A timeout or ban: every waiting item of that chatter leaves the queue, theirs playing is stopped."""
        if str(payload.broadcaster.id) != self.broadcaster_id or not payload.user.name:
            return
        await self.sv.channel_points.user_moderated(payload.user.name)  # their redemptions keep the points
        removal = await self.sv.moderation.remove_user(payload.user.name)
        self.outcomes["user cleared"] += 1
        self.outcomes["removed"] += removal.removed

    @commands.Component.listener()
    async def event_chat_clear(self, payload: twitchio.ChannelChatClear) -> None:
        """The chat was cleared: the active queue is cleared, like the App's Clear button."""
        if str(payload.broadcaster.id) != self.broadcaster_id:
            return
        removed = await self.sv.clear()
        self.outcomes["chat cleared"] += 1
        self.outcomes["removed"] += removed
