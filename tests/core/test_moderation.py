"""The pure moderation rules: removal, hold, stale, chat command parsing, who may moderate, reply throttle."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from core.chat import QueueName, Status
from core.moderation import (
    CommandWords,
    ModAction,
    ModCommand,
    ReplyThrottle,
    hold_left,
    hold_view,
    may_moderate,
    parse_mod_command,
    parse_mod_command_line,
    removal_refusal,
    stale_cutoff,
)
from core.settings import SettingsError, build_settings

T0 = datetime(2026, 1, 1, 12, 0, 0)


@pytest.mark.parametrize("status", [Status.PENDING, Status.SYNTHESIZING, Status.READY, Status.PLAYING])
def test_live_items_may_be_removed(status: Status) -> None:
    assert removal_refusal(status, False, None) is None


@pytest.mark.parametrize(("status", "deleted", "reason", "says"), [
    (Status.PLAYED, False, None, "already played"),
    (Status.SKIPPED, False, None, "skipped"),
    (Status.ERROR, False, None, "synthesis failed"),
    (Status.READY, True, "cleared", "already removed (cleared)"),
    (Status.PENDING, True, "removed", "already removed (removed)"),
])
def test_end_states_refuse_removal(status: Status, deleted: bool, reason: str | None, says: str) -> None:
    refusal = removal_refusal(status, deleted, reason)
    assert refusal is not None and says in refusal


def test_hold_applies_to_mentions_only_and_counts_down() -> None:
    assert hold_left(QueueName.MENTIONS, T0, T0 + timedelta(seconds=0.2), 0.5) == pytest.approx(0.3)
    assert hold_left(QueueName.MENTIONS, T0, T0 + timedelta(seconds=2), 0.5) == 0
    assert hold_left(QueueName.BITS, T0, T0, 30) == 0
    view = hold_view(QueueName.MENTIONS, T0, False, T0, 1.5)
    assert view.held and view.seconds_left == 1.5 and view.playable_at == T0 + timedelta(seconds=1.5)
    assert not hold_view(QueueName.MENTIONS, T0, False, T0, 0).held
    approval = hold_view(QueueName.BITS, T0, True, T0 + timedelta(hours=1), 5)
    assert approval.held and approval.awaiting_approval and approval.seconds_left == 0


def test_only_mentions_go_stale_and_zero_is_off() -> None:
    assert stale_cutoff(QueueName.MENTIONS, T0, 60) == T0 - timedelta(seconds=60)
    assert stale_cutoff(QueueName.MENTIONS, T0, 0) is None
    assert stale_cutoff(QueueName.BITS, T0, 60) is None


def test_mod_command_parsing() -> None:
    words = CommandWords()
    assert parse_mod_command_line("!tts skip", "tts", words) == ModCommand(ModAction.SKIP)
    assert parse_mod_command_line("  !TTS Pause  ", "tts", words) == ModCommand(ModAction.PAUSE)
    assert parse_mod_command_line("!tts resume now", "tts", words) == ModCommand(ModAction.RESUME)
    assert parse_mod_command_line("!tts remove @Troll_99", "tts", words) == ModCommand(ModAction.REMOVE, "troll_99")
    for ignored in ("!tts", "!tts dance", "!tts remove", "!tts remove a b", "!ttsclear", "tts skip",
                    "!ttsskip", "@streamer !tts skip", "!tts remove @"):
        assert parse_mod_command_line(ignored, "tts", words) is None, ignored
    renamed = CommandWords(skip="next", remove="kick")
    assert parse_mod_command("next", renamed) == ModCommand(ModAction.SKIP)
    assert parse_mod_command("skip", renamed) is None
    assert parse_mod_command_line("!voz kick bob", "voz", renamed) == ModCommand(ModAction.REMOVE, "bob")


def test_who_may_moderate() -> None:
    assert may_moderate({"broadcaster"}) and may_moderate({"moderator", "subscriber"})
    assert may_moderate({"lead_moderator"})
    assert not may_moderate({"vip", "subscriber"}) and not may_moderate(set())


def test_reply_throttle_per_kind() -> None:
    throttle = ReplyThrottle(30)
    assert throttle.allow("skip", 0) and throttle.allow("pause", 1)
    assert not throttle.allow("skip", 29.9)
    assert throttle.allow("skip", 30.0)


def test_moderation_settings_are_validated() -> None:
    settings = build_settings({"hold_seconds": "0.5", "bits_need_approval": "yes", "mentions_max_age": 120,
                               "mod_command": "!Voice", "mod_commands": {"skip": "Next"}})
    assert (settings.hold_seconds, settings.bits_need_approval, settings.mentions_max_age) == (0.5, True, 120)
    assert settings.mod_command == "voice" and settings.mod_commands.skip == "next"
    assert settings.mod_commands.remove == "remove"
    defaults = build_settings({})
    assert (defaults.hold_seconds, defaults.bits_need_approval, defaults.mentions_max_age) == (0, False, 0)
    for raw, key in (({"hold_seconds": -1}, "hold_seconds"), ({"mentions_max_age": "soon"}, "mentions_max_age"),
                     ({"mod_command": "t t s"}, "mod_command"),
                     ({"mod_commands": {"dance": "x"}}, "mod_commands.dance"),
                     ({"mod_commands": {"skip": "pause"}}, "mod_commands"),
                     ({"bits_need_approval": "maybe"}, "bits_need_approval")):
        with pytest.raises(SettingsError) as error:
            build_settings(raw)
        assert error.value.key == key
