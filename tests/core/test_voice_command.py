"""The viewers' ``!voice`` command as a pure rule (core/voice_command.py)."""

from __future__ import annotations

import dataclasses

from core.chat import IncomingChat, Source
from core.queue_rules import ChatMemory, decide
from core.settings import Settings
from core.voice_command import VoiceAction, VoiceCommandMemory, voice_command

ON = Settings(viewer_voice_command=True, voice_command_cooldown=30)


def line(text: str, user: str = "Alice", bits: int | None = None) -> IncomingChat:
    return IncomingChat(sent_by=user, text=text, source=Source.APP_HTTP, bits_amount=bits)


def test_off_by_default_so_the_line_is_an_ignored_chat_command() -> None:
    assert voice_command(line("!voice bella"), Settings(), VoiceCommandMemory(), 0.0) is None
    assert decide(line("!voice bella"), Settings(), ChatMemory(), 0.0).reason == "chat command"


def test_set_reset_and_names_are_case_insensitive() -> None:
    memory = VoiceCommandMemory()
    command = voice_command(line("!Voice BELLA please"), ON, memory, 0.0)
    assert command is not None and command.action is VoiceAction.SET
    assert (command.login, command.name) == ("alice", "bella")
    reset = voice_command(line("!voice", user="bob"), ON, memory, 0.0)
    assert reset is not None and reset.action is VoiceAction.RESET and reset.name is None


def test_unknown_names_are_ignored_and_do_not_start_the_cooldown() -> None:
    memory = VoiceCommandMemory()
    unknown = voice_command(line("!voice darth_vader"), ON, memory, 0.0)
    assert unknown is not None and unknown.action is VoiceAction.IGNORE and "unknown voice" in unknown.reason
    assert voice_command(line("!voice bella"), ON, memory, 1.0).action is VoiceAction.SET  # type: ignore[union-attr]


def test_per_user_cooldown() -> None:
    memory = VoiceCommandMemory()
    assert voice_command(line("!voice bella"), ON, memory, 0.0).action is VoiceAction.SET  # type: ignore[union-attr]
    again = voice_command(line("!voice emma"), ON, memory, 10.0)
    assert again is not None and again.action is VoiceAction.IGNORE and "cooldown" in again.reason
    other = voice_command(line("!voice emma", user="bob"), ON, memory, 10.0)
    assert other is not None and other.action is VoiceAction.SET  # another viewer is not held back
    assert voice_command(line("!voice emma"), ON, memory, 30.0).action is VoiceAction.SET  # type: ignore[union-attr]
    free = dataclasses.replace(ON, voice_command_cooldown=0)
    assert voice_command(line("!voice heart"), free, memory, 30.0).action is VoiceAction.SET  # type: ignore[union-attr]


def test_other_lines_and_cheers_are_not_voice_commands() -> None:
    memory = VoiceCommandMemory()
    for text in ("!voices", "hello !voice bella", "@streamer !voice bella", "!"):
        assert voice_command(line(text), ON, memory, 0.0) is None
    assert voice_command(line("!voice bella Cheer100", bits=100), ON, memory, 0.0) is None
    assert voice_command(line("!voice bella", user="Nightbot"), ON, memory, 0.0) is None  # ignored_users


def test_memory_is_bounded() -> None:
    memory = VoiceCommandMemory(size=3)
    for n in range(10):
        memory.remember(f"v{n}", float(n))
    assert memory.seconds_since_change("v0", 20.0) is None
    assert memory.seconds_since_change("v9", 20.0) == 11.0
