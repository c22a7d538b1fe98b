"""When and how a chatter's name is read (core/spoken_names.py and the queue rules that use it)."""

from __future__ import annotations

import dataclasses

from core.chat import IncomingChat, QueueName, Source
from core.queue_rules import ChatMemory, decide
from core.settings import Settings
from core.spoken_names import SpeakerMemory, spoken_handle, spoken_sender

NAMED = Settings(username="streamer", read_username_bits=True, read_username_mentions=True, emotes=())


def cheer(user: str, text: str = "take my bits") -> IncomingChat:
    return IncomingChat(sent_by=user, text=text, source=Source.APP_HTTP, bits_amount=100)


def mention(user: str, text: str = "@streamer hi") -> IncomingChat:
    return IncomingChat(sent_by=user, text=text, source=Source.APP_HTTP)


def test_handles_never_say_dot_or_underscore() -> None:
    for handle in ("a.b_c", "__x__", "dot.dot.dot", "under_score_"):
        spoken = spoken_handle(handle)
        assert "." not in spoken and "_" not in spoken and spoken


def test_nickname_wins_over_the_handle() -> None:
    nicknames = {"xx_sn1p3r_xx": "Snipey"}
    assert spoken_sender("xX_Sn1p3r_Xx", nicknames) == "Snipey"
    assert spoken_sender("other_guy_7", nicknames) == "other guy"


def test_name_only_when_the_speaker_changes() -> None:
    memory = ChatMemory()
    said = [decide(cheer(user), NAMED, memory, float(n)).spoken_text
            for n, user in enumerate(["alice", "alice", "bob", "alice", "Alice"])]
    assert said == ["alice says: take my bits", "take my bits", "bob says: take my bits",
                    "alice says: take my bits", "take my bits"]


def test_queues_track_their_own_speaker() -> None:
    memory = ChatMemory()
    assert decide(cheer("alice"), NAMED, memory, 0.0).spoken_text.startswith("alice says")
    assert decide(mention("alice"), NAMED, memory, 1.0).spoken_text == "alice says: hi"  # first in mentions
    assert decide(mention("alice"), NAMED, memory, 2.0).spoken_text == "hi"


def test_name_again_after_name_repeat_after() -> None:
    settings = dataclasses.replace(NAMED, name_repeat_after=60)
    memory = ChatMemory()
    times_and_text = [(0.0, "alice says: hi"), (30.0, "hi"), (59.0, "hi"), (60.0, "alice says: hi"), (100.0, "hi")]
    for now, expected in times_and_text:
        assert decide(mention("alice"), settings, memory, now).spoken_text == expected


def test_lines_not_spoken_do_not_count_as_the_last_speaker() -> None:
    memory = ChatMemory()
    decide(cheer("alice"), NAMED, memory, 0.0)
    assert decide(cheer("bob", "LUL"), dataclasses.replace(NAMED, emotes=("LUL",)), memory, 1.0).spoken_text == ""
    assert decide(cheer("alice"), NAMED, memory, 2.0).spoken_text == "take my bits"  # bob never spoke


def test_nicknames_and_pronunciations_in_the_spoken_name() -> None:
    settings = dataclasses.replace(NAMED, nicknames={"xx_sn1p3r_xx": "Snipey"},
                                   pronunciations={"snipey": "snypee", "gg": "good game"})
    said = decide(cheer("xX_Sn1p3r_Xx", "gg @xX_Sn1p3r_Xx"), settings, ChatMemory(), 0.0).spoken_text
    assert said == "snypee says: good game snypee"
    assert decide(cheer("CamelCaseName"), NAMED, ChatMemory(), 0.0).spoken_text == "Camel Case Name says: take my bits"


def test_speaker_memory_directly() -> None:
    memory = SpeakerMemory()
    assert memory.name_due(QueueName.BITS, "a", 0.0, 0.0)
    memory.spoke(QueueName.BITS, "a", 0.0, name_read=True)
    assert not memory.name_due(QueueName.BITS, "a", 1000.0, 0.0)  # 0: never again on time alone
    assert memory.name_due(QueueName.MENTIONS, "a", 1.0, 0.0)
