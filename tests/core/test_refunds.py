"""The refund rules: which Twitch status each way a channel-point item ends gets."""

from __future__ import annotations

import pytest

from core.chat import DeleteReason, Status
from core.moderation import SKIP_REASON
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
