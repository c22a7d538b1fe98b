"""Trigger rules, pure: which chat lines are read in each mode, the role gate and first-time chatters."""

from __future__ import annotations

import dataclasses

import pytest

from core.chat import IncomingChat, Origin, QueueName, Source, Status
from core.queue_rules import ChatMemory, decide
from core.settings import Settings, TriggerSettings
from core.triggers import roles_of, trigger

BASE = Settings(username="streamer", read_username_mentions=False)


def with_triggers(**values: object) -> Settings:
    return dataclasses.replace(BASE, triggers=dataclasses.replace(TriggerSettings(), **values))  # type: ignore[arg-type]


def line(text: str, *, badges: frozenset[str] | None = None, first: bool = False, bits: int | None = None,
         user: str = "viewer") -> IncomingChat:
    return IncomingChat(sent_by=user, text=text, source=Source.TWITCH, bits_amount=bits, badges=badges,
                        first_message=first)


# (mode, text, expected origin or None, expected read text or refusal reason)
MODE_TABLE = [
    ("mention", "@streamer hello there", Origin.MENTION, "@streamer hello there"),
    ("mention", "hello there", None, "not a mention"),
    ("mention", "!tts hello there", None, "chat command"),
    ("mention", "!lurk", None, "chat command"),
    ("command", "!tts hello there", Origin.COMMAND, "hello there"),
    ("command", "!TTS   spaced out ", Origin.COMMAND, "spaced out"),
    ("command", "@streamer hello there", None, "not the !tts command"),
    ("command", "!ttshello", None, "chat command"),
    ("command", "!tts", None, "command without text"),
    ("command", "!tts skip", None, "moderation command"),
    ("command", "!tts remove", None, "moderation command"),
    ("command", "!lurk now", None, "chat command"),
    ("all", "just chatting", Origin.CHAT, "just chatting"),
    ("all", "@streamer hi", Origin.CHAT, "@streamer hi"),
    ("all", "!tts from the command", Origin.COMMAND, "from the command"),
    ("all", "!so someone", None, "chat command"),
]


@pytest.mark.parametrize(("mode", "text", "origin", "expected"), MODE_TABLE)
def test_each_mode(mode: str, text: str, origin: Origin | None, expected: str) -> None:
    result = trigger(line(text), with_triggers(mode=mode))
    assert result.origin is origin
    assert (result.text if origin else result.reason) == expected
    if origin is not None:
        assert result.strip_streamer is (mode != "all")


def test_cheers_are_read_in_every_mode_whatever_the_roles() -> None:
    for mode in ("mention", "command", "all"):
        settings = with_triggers(mode=mode, roles=("vip",))
        result = trigger(line("Cheer100 plain words", bits=100, badges=frozenset()), settings)
        assert result.origin is Origin.CHEER and result.text == "Cheer100 plain words"


@pytest.mark.parametrize(("badges", "roles", "read"), [
    (None, ("vip",), True),                       # the App sent no badges: passes, as before roles existed
    (frozenset(), ("vip",), False),
    (frozenset({"vip"}), ("vip",), True),
    (frozenset({"subscriber", "premium"}), ("vip", "subscriber"), True),
    (frozenset({"founder"}), ("subscriber",), True),   # a founder is a subscriber
    (frozenset({"lead_moderator"}), ("moderator",), True),
    (frozenset({"artist-badge"}), ("artist",), True),
    (frozenset({"moderator"}), ("broadcaster",), False),
    (frozenset(), (), True),                      # empty roles: everyone
])
def test_role_gate(badges: frozenset[str] | None, roles: tuple[str, ...], read: bool) -> None:
    result = trigger(line("@streamer hi", badges=badges), with_triggers(roles=roles))
    assert result.read is read
    if not read:
        assert result.reason == f"not one of the roles {', '.join(roles)}"


def test_roles_of_maps_badges_and_app_role_names() -> None:
    assert roles_of(["Founder", "lead_moderator", "glhf-pledge"]) == {"founder", "subscriber", "moderator"}


@pytest.mark.parametrize("mode", ["mention", "command", "all"])
def test_first_time_chatters_are_read_whatever_the_mode_and_roles(mode: str) -> None:
    settings = with_triggers(mode=mode, roles=("subscriber",), first_time_chatters=True)
    first = trigger(line("hi everyone, first time here", badges=frozenset(), first=True), settings)
    assert first.origin is Origin.CHAT and first.text == "hi everyone, first time here"
    again = trigger(line("hi everyone, first time here", badges=frozenset(), first=False), settings)
    assert not again.read
    assert not trigger(line("!lurk", first=True), settings).read  # other commands stay dropped
    off = with_triggers(mode=mode, roles=("subscriber",))
    assert not trigger(line("hi everyone", badges=frozenset(), first=True), off).read


def test_decide_in_all_mode_keeps_the_streamers_name_and_applies_the_rest() -> None:
    settings = dataclasses.replace(with_triggers(mode="all"), per_user_cooldown=30, banned_words=("darn",))
    memory = ChatMemory()
    decision = decide(line("@streamer, you rock"), settings, memory, 100.0)
    assert decision.will_speak and decision.origin is Origin.CHAT and decision.queue is QueueName.MENTIONS
    assert decision.spoken_text == "streamer, you rock"
    cooled = decide(line("second line"), settings, memory, 110.0)
    assert cooled.status is Status.SKIPPED and "per_user_cooldown" in (cooled.reason or "")
    banned = decide(line("darn it", user="other"), settings, memory, 111.0)
    assert banned.status is Status.SKIPPED and banned.reason == "banned word" and banned.origin is Origin.CHAT


def test_decide_in_command_mode_reads_the_text_after_the_command() -> None:
    settings = with_triggers(mode="command")
    decision = decide(line("!tts @streamer this is read"), settings, ChatMemory(), 0.0)
    assert decision.will_speak and decision.origin is Origin.COMMAND and decision.spoken_text == "this is read"
    assert decide(line("@streamer not read"), settings, ChatMemory(), 0.0).reason == "not the !tts command"


def test_decide_in_mention_mode_is_todays_behaviour() -> None:
    decision = decide(line("@streamer, hello"), BASE, ChatMemory(), 0.0)
    assert decision.will_speak and decision.origin is Origin.MENTION and decision.spoken_text == "hello"
    cheer = decide(line("nice", bits=10), BASE, ChatMemory(), 0.0)
    assert cheer.origin is Origin.CHEER and cheer.queue is QueueName.BITS
