"""The queue manager's rules, pure: no database, no server, an explicit clock."""

import dataclasses

import pytest

from core.chat import IncomingChat, QueueName, Source, Status
from core.queue_rules import DUPLICATE_WINDOW_S, ChatMemory, decide
from core.settings import Settings

SETTINGS = Settings(username="streamer", emotes=("LUL",), read_username_bits=False)


def chat(text: str, user: str = "viewer", bits: int | None = None, source: Source = Source.APP_HTTP,
         external_id: str | None = None) -> IncomingChat:
    return IncomingChat(sent_by=user, text=text, source=source, bits_amount=bits, external_id=external_id)


def test_mention_goes_to_mentions_and_is_cleaned() -> None:
    decision = decide(chat("@streamer LUL LUL that was sooooo good!!!!"), SETTINGS, ChatMemory(), 0.0)
    assert decision.queue is QueueName.MENTIONS and decision.status is Status.PENDING
    assert decision.spoken_text == "that was sooo good!"


def test_plain_message_is_not_stored() -> None:
    decision = decide(chat("hello everyone"), SETTINGS, ChatMemory(), 0.0)
    assert not decision.stored and decision.reason == "not a mention"


def test_cheer_goes_to_bits_whatever_it_says() -> None:
    decision = decide(chat("no mention here", bits=50), SETTINGS, ChatMemory(), 0.0)
    assert decision.queue is QueueName.BITS and decision.will_speak


@pytest.mark.parametrize("user", ["Nightbot", "streamelements", "FOSSABOT"])
def test_chat_bots_are_ignored(user: str) -> None:
    decision = decide(chat("@streamer hi", user=user), SETTINGS, ChatMemory(), 0.0)
    assert not decision.stored and decision.reason == "ignored user"


def test_commands_are_never_read() -> None:
    decision = decide(chat("!ttsclear @streamer"), SETTINGS, ChatMemory(), 0.0)
    assert not decision.stored and decision.reason == "chat command"


def test_bits_below_minimum_are_stored_but_not_spoken() -> None:
    settings = dataclasses.replace(SETTINGS, bits_min=100)
    decision = decide(chat("cheap", bits=10), settings, ChatMemory(), 0.0)
    assert decision.queue is QueueName.BITS and decision.status is Status.SKIPPED
    assert "bits_min" in (decision.reason or "")
    assert decide(chat("rich", bits=100), settings, ChatMemory(), 0.0).will_speak


def test_banned_words_skip_or_replace() -> None:
    skip = dataclasses.replace(SETTINGS, banned_words=("darn",))
    decision = decide(chat("@streamer well DARN it"), skip, ChatMemory(), 0.0)
    assert decision.status is Status.SKIPPED and decision.reason == "banned word"
    hidden = decide(chat("@streamer well d\u200barn it"), skip, ChatMemory(), 0.0)
    assert hidden.status is Status.SKIPPED  # zero-width characters do not hide a word
    assert decide(chat("@streamer darning socks"), skip, ChatMemory(), 0.0).will_speak  # whole words only
    replace = dataclasses.replace(skip, banned_words_action="replace")
    decision = decide(chat("@streamer well darn it"), replace, ChatMemory(), 0.0)
    assert decision.will_speak and decision.spoken_text == "well beep it"


def test_per_user_cooldown_for_mentions_only() -> None:
    settings = dataclasses.replace(SETTINGS, per_user_cooldown=30)
    memory = ChatMemory()
    assert decide(chat("@streamer one"), settings, memory, 100.0).will_speak
    flooded = decide(chat("@streamer two"), settings, memory, 110.0)
    assert flooded.status is Status.SKIPPED and "per_user_cooldown" in (flooded.reason or "")
    assert decide(chat("@streamer three", user="other"), settings, memory, 111.0).will_speak
    assert decide(chat("@streamer four"), settings, memory, 131.0).will_speak
    for n in range(3):  # bits are never rate-limited
        assert decide(chat(f"cheer {n}", bits=5), settings, memory, 131.0 + n).will_speak


def test_duplicate_delivery_from_app_and_bot_is_queued_once() -> None:
    memory = ChatMemory()
    first = decide(chat("@streamer same line", source=Source.APP_WS), SETTINGS, memory, 10.0)
    again = decide(chat("@streamer same line", source=Source.TWITCH, external_id="m1"), SETTINGS, memory, 12.0)
    assert first.will_speak and not again.stored and again.reason == "duplicate delivery"
    # the same chatter repeating themselves through the same path is not a duplicate delivery
    assert decide(chat("@streamer same line", source=Source.APP_WS), SETTINGS, memory, 13.0).will_speak
    later = decide(chat("@streamer same line", source=Source.TWITCH), SETTINGS, memory, 13.0 + DUPLICATE_WINDOW_S + 1)
    assert later.will_speak
    # the same Twitch message id twice is always a duplicate
    assert decide(chat("@streamer x", source=Source.TWITCH, external_id="m9"), SETTINGS, memory, 50.0).will_speak
    assert not decide(chat("@streamer x", source=Source.TWITCH, external_id="m9"), SETTINGS, memory, 51.0).stored


def test_nothing_left_after_cleanup_is_recorded_not_synthesised() -> None:
    decision = decide(chat("@streamer LUL LUL LUL"), SETTINGS, ChatMemory(), 0.0)
    assert decision.status is Status.SKIPPED and decision.spoken_text == ""
    assert decision.reason == "nothing left to say after clean-up"


def test_username_template() -> None:
    settings = dataclasses.replace(SETTINGS, read_username_bits=True, read_username_mentions=True)
    bits = decide(chat("take it", user="cool_guy_99", bits=100), settings, ChatMemory(), 0.0)
    assert bits.spoken_text == "cool guy says: take it"
    mention = decide(chat("@streamer hi there"), settings, ChatMemory(), 0.0)
    assert mention.spoken_text == "viewer says: hi there"


def test_twitch_emote_fragments_are_dropped() -> None:
    line = IncomingChat(sent_by="v", text="@streamer nice catJAM play", source=Source.TWITCH,
                        emotes=frozenset({"catJAM"}))
    assert decide(line, SETTINGS, ChatMemory(), 0.0).spoken_text == "nice play"
