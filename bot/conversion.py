"""Twitch chat event -> what it is, as pure functions.

The bot reads a ``twitchio.ChatMessage`` once into a plain ``ChatLine``, and ``read_line`` turns that once into
what the line is (``TwitchLine``): a moderator's ``!tts`` command, a channel-point fallback line, a line the bot
ignores, or chat for the service (an ``IncomingChat``). The components then only hand it on. Every decision the
bot itself makes (ignore it? who may run ``!ttsclear``? what text and emotes reach the service?) is a function of
that value, so the rules are unit-tested without a network. Which queue a line joins is *not* decided here: the
service's queue rules do that for the App and the bot alike, and they also recognise a viewer's ``!voice``
command, whichever way the line arrived.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from core.chat import IncomingChat, Source
from core.moderation import ModCommand, may_moderate, parse_mod_command_line
from core.settings import Settings

if TYPE_CHECKING:
    import twitchio

@dataclass(frozen=True, slots=True)
class Fragment:
    """One piece of a message as Twitch split it: ``text``, ``mention``, ``emote``, ``cheermote`` or ``gif``."""

    type: str
    text: str


@dataclass(frozen=True, slots=True)
class ChatLine:
    """The parts of a ``channel.chat.message`` event the bot uses, with nothing attached that can do I/O."""

    message_id: str
    broadcaster_id: str
    chatter_id: str
    chatter_login: str
    chatter_name: str
    text: str
    fragments: tuple[Fragment, ...] = ()
    bits: int | None = None
    badges: frozenset[str] = field(default_factory=frozenset)
    #: Set in a shared-chat session: the channel the message was typed in (may be the broadcaster's own).
    source_broadcaster_id: str | None = None
    #: Twitch's ``message_type``: ``user_intro`` is a viewer's first message in the channel.
    message_type: str = "text"
    #: The channel-point reward this line redeems (a reward with text input), if any.
    channel_points_id: str | None = None


def chat_line(message: twitchio.ChatMessage) -> ChatLine:
    """Copy what the bot needs out of twitchio's event object (attribute reads only)."""
    source = message.source_broadcaster
    return ChatLine(
        message_id=message.id,
        broadcaster_id=str(message.broadcaster.id),
        chatter_id=str(message.chatter.id),
        chatter_login=message.chatter.name or "",
        chatter_name=message.chatter.display_name or message.chatter.name or "",
        text=message.text,
        fragments=tuple(Fragment(f.type, f.text) for f in message.fragments),
        bits=message.cheer.bits if message.cheer is not None else None,
        badges=frozenset(b.set_id for b in message.badges),
        source_broadcaster_id=str(source.id) if source is not None else None,
        message_type=str(message.type or "text"),
        channel_points_id=message.channel_points_id or None,
    )


def from_other_channel(line: ChatLine) -> bool:
    """A shared-chat copy of a message typed in another channel: that channel's own TTS handles it."""
    return line.source_broadcaster_id is not None and line.source_broadcaster_id != line.broadcaster_id


def ignore_reason(line: ChatLine, bot_id: str) -> str | None:
    """Why the bot does not hand this line to the service at all, or ``None`` when it does."""
    if from_other_channel(line):
        return "shared chat from another channel"
    if line.chatter_id == bot_id:
        return "the bot's own message"
    return None


def may_run_commands(line: ChatLine, bot_id: str) -> bool:
    """Should chat commands in this line be looked at?

    twitchio skips every message from the bot's own account. When the streamer runs the bot on their own
    account, that would make ``!ttsclear`` unusable for them, so the bot's own lines count when the bot *is* the
    broadcaster (its confirmations never start with a command prefix, so this cannot loop).
    """
    if from_other_channel(line):
        return False
    return line.chatter_id != bot_id or bot_id == line.broadcaster_id


def text_without_cheermotes(line: ChatLine) -> str:
    """The message with every cheermote (``Cheer100``, ``BibleThump100``...) removed, whitespace collapsed.

    Twitch marks cheermotes as fragments, which is exact for every cheermote prefix (including custom ones),
    unlike a word list. Without fragments the text is kept as it is.
    """
    if not line.fragments:
        return " ".join(line.text.split())
    kept = "".join(f.text for f in line.fragments if f.type != "cheermote")
    return " ".join(kept.split())


def emote_words(line: ChatLine) -> frozenset[str]:
    """The words Twitch itself marked as emotes, so the service drops exactly those."""
    return frozenset(w for f in line.fragments if f.type == "emote" for w in f.text.split())


def sender_name(line: ChatLine) -> str:
    """The display name when it is just the login with capitals (reads better), else the login.

    Localised display names (e.g. in Japanese) differ from the login; ``ignored_users`` lists logins, so those
    chatters are named by their login.
    """
    if line.chatter_name and line.chatter_name.lower() == line.chatter_login.lower():
        return line.chatter_name
    return line.chatter_login or line.chatter_name


def to_incoming(line: ChatLine) -> IncomingChat:
    """The ``IncomingChat`` the service's queue rules decide on."""
    return IncomingChat(
        sent_by=sender_name(line),
        text=text_without_cheermotes(line),
        source=Source.TWITCH,
        bits_amount=line.bits if line.bits else None,
        emotes=emote_words(line),
        external_id=line.message_id or None,
        badges=line.badges,  # the trigger rules' role gate
        first_message=line.message_type == "user_intro",
    )


# --- what a line is -----------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class RewardLine:
    """A line that redeems one of the channel-point fallback's rewards: ``bot/channel_points.py`` reads it."""

    line: ChatLine
    reward_id: str


@dataclass(frozen=True, slots=True)
class ModCommandLine:
    """``!tts skip|pause|resume|remove <user>``; ``allowed``: from the broadcaster or a (lead) moderator."""

    line: ChatLine
    command: ModCommand
    allowed: bool


@dataclass(frozen=True, slots=True)
class IgnoredLine:
    """A line the bot does not hand to the service at all (``ignore_reason``)."""

    line: ChatLine
    reason: str


@dataclass(frozen=True, slots=True)
class ChatToRead:
    """Chat for the service's queue rules (``!voice`` and ``!ttsclear`` lines included: it decides on them)."""

    line: ChatLine
    chat: IncomingChat


TwitchLine = RewardLine | ModCommandLine | IgnoredLine | ChatToRead


def reward_line(line: ChatLine, reward_ids: Collection[str]) -> RewardLine | None:
    """The line as a channel-point fallback line, when it redeems one of ``reward_ids``."""
    if line.channel_points_id and line.channel_points_id in reward_ids:
        return RewardLine(line, line.channel_points_id)
    return None


def read_line(line: ChatLine, settings: Settings, *, bot_id: str, reward_ids: Collection[str]) -> TwitchLine:
    """What ``line`` (from the broadcaster's own channel) is, decided once, in this order: a channel-point
    fallback line, a moderation command, a line to ignore, or chat."""
    reward = reward_line(line, reward_ids)
    if reward is not None:
        return reward
    command = parse_mod_command_line(line.text, settings.mod_command, settings.mod_commands)
    if command is not None and may_run_commands(line, bot_id):
        return ModCommandLine(line, command, allowed=may_moderate(line.badges))
    reason = ignore_reason(line, bot_id)
    if reason is not None:
        return IgnoredLine(line, reason)
    return ChatToRead(line, to_incoming(line))
