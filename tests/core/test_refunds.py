"""The refund rules: which Twitch status each way a channel-point item ends gets."""

from __future__ import annotations

import pytest

from core.channel_points import Redemption, decide_redemption
from core.chat import DeleteReason, QueueName, Status
from core.moderation import SKIP_REASON
from core.queue_rules import ChatMemory
from core.refunds import (
    EMPTY_REASON,
    STOP_REASON,
    Ending,
    RedemptionStatus,
    ending_of,
    is_settled,
    refund_status,
    twitch_status,
)
from core.settings import SettingsError, build_settings

FULFILLED, CANCELED = RedemptionStatus.FULFILLED, RedemptionStatus.CANCELED


@pytest.mark.parametrize(("ending", "expected"), [
    (Ending.PLAYED, FULFILLED),
    (Ending.USER_MODERATED, FULFILLED),
    (Ending.STOPPED, CANCELED),
    (Ending.SKIPPED, CANCELED),
    (Ending.REMOVED, CANCELED),
    (Ending.CLEARED, CANCELED),
    (Ending.STALE, CANCELED),
    (Ending.OVERFLOW, CANCELED),
    (Ending.REJECTED, CANCELED),
    (Ending.FAILED, CANCELED),
    (Ending.REFUSED, CANCELED),
    (Ending.EMPTY, CANCELED),
    (Ending.TWITCH, None),
])
def test_refund_rules(ending: Ending, expected: RedemptionStatus | None) -> None:
    assert refund_status(ending) is expected


def test_every_ending_has_a_rule() -> None:
    for ending in Ending:
        refund_status(ending)  # a missing one raises KeyError


@pytest.mark.parametrize(("status", "deleted", "deleted_reason", "reason", "expected"), [
    (Status.PENDING, False, None, None, None),
    (Status.SYNTHESIZING, False, None, None, None),
    (Status.READY, False, None, None, None),
    (Status.PLAYING, False, None, None, None),
    (Status.PLAYED, False, None, None, Ending.PLAYED),
    (Status.PLAYED, False, None, STOP_REASON, Ending.STOPPED),
    (Status.ERROR, False, None, "synthesis failed: boom", Ending.FAILED),
    (Status.SKIPPED, False, None, SKIP_REASON, Ending.SKIPPED),
    (Status.SKIPPED, False, None, "banned word", Ending.REFUSED),
    (Status.SKIPPED, False, None, "nothing left to say after clean-up", Ending.REFUSED),
    (Status.SKIPPED, False, None, EMPTY_REASON, Ending.EMPTY),
    (Status.READY, True, DeleteReason.CLEARED.value, None, Ending.CLEARED),
    (Status.PLAYING, True, DeleteReason.REMOVED.value, None, Ending.REMOVED),
    (Status.READY, True, DeleteReason.STALE.value, None, Ending.STALE),
    (Status.READY, True, DeleteReason.OVERFLOW.value, None, Ending.OVERFLOW),
    (Status.PENDING, True, DeleteReason.REJECTED.value, None, Ending.REJECTED),
    (Status.PENDING, True, None, None, Ending.REMOVED),
])
def test_ending_from_the_stored_row(status: Status, deleted: bool, deleted_reason: str | None, reason: str | None,
                                    expected: Ending | None) -> None:
    assert ending_of(status, deleted, deleted_reason, reason) is expected


def test_statuses_as_twitch_spells_them() -> None:
    assert twitch_status("FULFILLED") is FULFILLED
    assert twitch_status("canceled") is CANCELED
    assert twitch_status("unknown") is None
    assert CANCELED.helix == "CANCELED"
    assert CANCELED.pending() == "pending: canceled"


def test_settled() -> None:
    assert not is_settled(None)
    assert not is_settled("unfulfilled")
    assert is_settled("pending: fulfilled")
    assert is_settled("canceled")


def test_channel_points_settings_defaults_and_values() -> None:
    settings = build_settings({"channel_points": {"enabled": True, "cost": "500", "queue": "Mentions",
                                                  "global_cooldown": 30, "title": " Speak! "}})
    points = settings.channel_points
    assert (points.enabled, points.cost, points.queue, points.global_cooldown, points.title) == \
        (True, 500, "mentions", 30, "Speak!")
    assert points.prompt == "Your message is read aloud on stream" and points.pause_with_tts


@pytest.mark.parametrize(("section", "key"), [
    ({"cost": 0}, "channel_points.cost"),
    ({"queue": "everything"}, "channel_points.queue"),
    ({"title": ""}, "channel_points.title"),
    ({"title": "x" * 46}, "channel_points.title"),
    ({"prompt": "x" * 201}, "channel_points.prompt"),
    ({"global_cooldown": -1}, "channel_points.global_cooldown"),
    ({"max_per_user_per_stream": 1.5}, "channel_points.max_per_user_per_stream"),
    ({"enabled": "maybe"}, "channel_points.enabled"),
    ({"colour": "red"}, "channel_points.colour"),
])
def test_bad_channel_points_settings_name_the_key(section: dict[str, object], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        build_settings({"channel_points": section})
    assert caught.value.key == key


def test_channel_points_must_be_a_mapping() -> None:
    with pytest.raises(SettingsError) as caught:
        build_settings({"channel_points": "yes"})
    assert caught.value.key == "channel_points"


# --- a redemption becomes an item --------------------------------------------------------------------------
def _redemption(text: str, login: str = "viewer_one") -> Redemption:
    return Redemption("r1", "1001", "reward-1", login, login.title(), text)


def test_a_redemption_joins_the_configured_queue_without_a_mention() -> None:
    settings = build_settings({"channel_points": {"queue": "mentions"}, "ignored_prefixes": ["!"]})
    decision = decide_redemption(_redemption("!hello there"), settings, ChatMemory(), 0.0)
    assert (decision.queue, decision.status, decision.spoken_text) == (QueueName.MENTIONS, Status.PENDING,
                                                                       "!hello there")


def test_a_redemption_reads_the_name_like_a_cheer() -> None:
    settings = build_settings({"read_username_bits": True, "nicknames": {"viewer_one": "Vee"}})
    memory = ChatMemory()
    first = decide_redemption(_redemption("good game"), settings, memory, 0.0)
    again = decide_redemption(_redemption("and again"), settings, memory, 1.0)
    assert first.queue is QueueName.BITS and first.spoken_text == "Vee says: good game"
    assert again.spoken_text == "and again"  # same speaker: the name is not repeated


@pytest.mark.parametrize(("text", "reason"), [
    ("", EMPTY_REASON),
    ("   ", EMPTY_REASON),
    ("you are a badword", "banned word"),
    ("Kappa Kappa", "nothing left to say after clean-up"),
])
def test_refused_redemptions_are_stored_skipped_with_the_reason(text: str, reason: str) -> None:
    settings = build_settings({"banned_words": ["badword"], "emotes": ["Kappa"]})
    decision = decide_redemption(_redemption(text), settings, ChatMemory(), 0.0)
    assert decision.stored and decision.status is Status.SKIPPED and decision.reason == reason
    ending = ending_of(decision.status, False, None, decision.reason)
    assert ending is not None and refund_status(ending) is RedemptionStatus.CANCELED


def test_sender_name_prefers_the_display_name_when_it_is_the_login() -> None:
    assert Redemption("r", "b", "w", "viewer_one", "Viewer_One", "x").sent_by == "Viewer_One"
    assert Redemption("r", "b", "w", "viewer_one", "ビューア", "x").sent_by == "viewer_one"
