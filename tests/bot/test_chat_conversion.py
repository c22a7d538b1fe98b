"""Twitch chat event -> IncomingChat: pure functions, no network.

Events are built with the same complete payloads the fake Twitch sends and parsed by twitchio's own
``ChatMessage``, so the test also pins the attribute names the bot reads from twitchio.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest
from twitchio import ChatMessage

from bot.conversion import (
    ChatLine,
    ChatToRead,
    Fragment,
    IgnoredLine,
    ModCommandLine,
    RewardLine,
    TwitchLine,
    chat_line,
    ignore_reason,
    may_run_commands,
    read_line,
    sender_name,
    text_without_cheermotes,
    to_incoming,
)
from core.chat import Source
from core.moderation import ModAction, may_moderate
from core.settings import Settings
from tests.bot.fake_twitch import FakeUser, chat_event

STREAMER = FakeUser("1001", "streamer", "Streamer")
BOT = FakeUser("2002", "streamvoicebot", "StreamVoiceBot")
VIEWER = FakeUser("3003", "cool_guy_99", "Cool_Guy_99")
OTHER = FakeUser("5005", "otherstreamer", "OtherStreamer")
USERS = (STREAMER, BOT, VIEWER, OTHER)


def line_for(text: str, *, chatter: FakeUser = VIEWER, **kwargs: Any) -> ChatLine:
    event = chat_event(broadcaster=STREAMER, chatter=chatter, text=text, users=USERS, **kwargs)
    return chat_line(ChatMessage(event, http=None))  # type: ignore[arg-type]


def test_mention_becomes_a_twitch_chat_with_its_message_id() -> None:
    event = chat_event(broadcaster=STREAMER, chatter=VIEWER, text="@streamer hi there", users=USERS,
                       message_id="m-1")
    chat = to_incoming(chat_line(ChatMessage(event, http=None)))  # type: ignore[arg-type]
    assert chat.sent_by == "Cool_Guy_99" and chat.text == "@streamer hi there"
    assert chat.source is Source.TWITCH and chat.bits_amount is None and chat.external_id == "m-1"
    assert chat.emotes == frozenset()


def test_cheer_keeps_its_bits_and_loses_every_cheermote() -> None:
    line = line_for("Cheer100 you rock BibleThump50   Cheer50", bits=200)
    assert [f.type for f in line.fragments] == ["cheermote", "text", "cheermote", "text", "cheermote"]
    chat = to_incoming(line)
    assert chat.bits_amount == 200 and chat.text == "you rock" and chat.is_cheer


def test_cheermote_like_words_outside_a_cheer_are_plain_text() -> None:
    # Twitch only makes cheermote fragments in cheers: "Cheer100" in a normal message is just a word
    chat = to_incoming(line_for("@streamer Cheer100 is how you cheer"))
    assert chat.text == "@streamer Cheer100 is how you cheer" and chat.bits_amount is None


def test_only_cheermote_fragments_are_removed_not_words_that_look_like_them() -> None:
    line = ChatLine(message_id="m", broadcaster_id="1", chatter_id="2", chatter_login="v", chatter_name="v",
                    text="Corgo100 hi PogChamp", bits=100,
                    fragments=(Fragment("cheermote", "Corgo100"), Fragment("text", " hi "),
                               Fragment("emote", "PogChamp")))
    assert text_without_cheermotes(line) == "hi PogChamp"
    assert to_incoming(line).emotes == frozenset({"PogChamp"})


def test_emote_fragments_become_the_emote_set() -> None:
    chat = to_incoming(line_for("@streamer Kappa that was LUL Kappa"))
    assert chat.emotes == frozenset({"Kappa", "LUL"})
    assert chat.text == "@streamer Kappa that was LUL Kappa"  # the service drops them when speaking


def test_without_fragments_the_text_is_kept() -> None:
    line = ChatLine(message_id="m", broadcaster_id="1", chatter_id="2", chatter_login="v", chatter_name="v",
                    text="  @streamer   spaced  ")
    assert to_incoming(line).text == "@streamer spaced"


@pytest.mark.parametrize(("login", "display", "expected"), [
    ("cool_guy_99", "Cool_Guy_99", "Cool_Guy_99"),  # same name, nicer capitals
    ("tanaka_jp", "田中", "tanaka_jp"),  # localised display name: ignored_users lists logins
    ("viewer", "", "viewer"),
])
def test_sender_name(login: str, display: str, expected: str) -> None:
    line = ChatLine(message_id="m", broadcaster_id="1", chatter_id="2", chatter_login=login,
                    chatter_name=display, text="x")
    assert sender_name(line) == expected


def test_shared_chat_copies_from_other_channels_are_ignored() -> None:
    assert ignore_reason(line_for("@streamer hi", source_broadcaster=OTHER), BOT.id) == \
        "shared chat from another channel"
    assert ignore_reason(line_for("@streamer hi", source_broadcaster=STREAMER), BOT.id) is None
    assert ignore_reason(line_for("@streamer hi"), BOT.id) is None


def test_the_bots_own_messages_are_ignored() -> None:
    assert ignore_reason(line_for("@streamer hi", chatter=BOT), BOT.id) == "the bot's own message"
    # the bot running on the streamer's account: the streamer's own lines are the bot's
    assert ignore_reason(line_for("@streamer hi", chatter=STREAMER), STREAMER.id) == "the bot's own message"


def test_commands_are_read_from_the_bot_account_only_when_it_is_the_broadcaster() -> None:
    assert may_run_commands(line_for("!ttsclear"), BOT.id)
    assert not may_run_commands(line_for("!ttsclear", chatter=BOT), BOT.id)
    assert may_run_commands(line_for("!ttsclear", chatter=STREAMER, badges=["broadcaster"]), STREAMER.id)
    assert not may_run_commands(line_for("!ttsclear", source_broadcaster=OTHER), BOT.id)


@pytest.mark.parametrize(("badges", "allowed"), [
    ({"broadcaster"}, True), ({"moderator", "subscriber"}, True), ({"lead_moderator"}, True),
    ({"vip"}, False), ({"subscriber", "founder"}, False), (set(), False), ({"staff"}, False),
])
def test_who_may_clear(badges: set[str], allowed: bool) -> None:
    """!ttsclear follows the one moderation rule, read from the badges of a real twitchio chat line."""
    assert may_moderate(badges) is allowed
    assert may_moderate(line_for("!ttsclear", badges=sorted(badges)).badges) is allowed


SETTINGS = Settings(username="streamer", model_dir="unused")


def read(line: ChatLine, *, bot_id: str = BOT.id, reward_ids: frozenset[str] = frozenset()) -> TwitchLine:
    return read_line(line, SETTINGS, bot_id=bot_id, reward_ids=reward_ids)


def test_a_line_is_read_once_into_what_it_is() -> None:
    chat = read(line_for("@streamer hi there", message_id="m-9"))
    assert isinstance(chat, ChatToRead) and chat.chat == to_incoming(chat.line)
    mod = read(line_for("!tts skip", badges=["moderator"]))
    assert isinstance(mod, ModCommandLine) and mod.allowed and mod.command.action is ModAction.SKIP
    refused = read(line_for("!tts remove someone"))
    assert isinstance(refused, ModCommandLine) and not refused.allowed and refused.command.target == "someone"
    own = line_for("@streamer hi", chatter=BOT)
    assert read(own) == IgnoredLine(own, "the bot's own message")
    # a viewer's !voice and !ttsclear are chat: the service's rules and twitchio's commands decide on them
    assert isinstance(read(line_for("!voice af_bella")), ChatToRead)
    assert isinstance(read(line_for("!ttsclear", badges=["moderator"])), ChatToRead)


def test_a_reward_line_comes_first_and_a_command_from_elsewhere_is_just_ignored() -> None:
    line = dataclasses.replace(line_for("!tts skip", badges=["moderator"]), channel_points_id="reward-1")
    assert read(line, reward_ids=frozenset({"reward-1"})) == RewardLine(line, "reward-1")
    assert isinstance(read(line, reward_ids=frozenset({"other"})), ModCommandLine)
    # a shared-chat copy of a moderator's command from another channel commands nothing here
    shared = read(line_for("!tts skip", badges=["moderator"], source_broadcaster=OTHER))
    assert shared == IgnoredLine(shared.line, "shared chat from another channel")
