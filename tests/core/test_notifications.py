"""Chat notifications, pure: which notices are read and what is said."""

from __future__ import annotations

import dataclasses

import pytest

from core.chat import Origin, QueueName, Status
from core.notifications import ANONYMOUS_GIFTER, UNKNOWN_TYPE, Notice, decide_notice, refusal, render
from core.queue_rules import ChatMemory
from core.settings import DEFAULT_TEMPLATES, NotificationSettings, Settings

BASE = Settings(username="streamer", nicknames={"sn1p3r_xx": "Sniper"})


def settings_with(**values: object) -> Settings:
    return dataclasses.replace(BASE, notifications=dataclasses.replace(NotificationSettings(), **values))  # type: ignore[arg-type]


def notice(kind: str, **values: object) -> Notice:
    fields: dict[str, object] = {"message_id": f"id-{kind}-{values.get('message_id', '1')}", "user_login": "viewer_one",
                                 "user_name": "Viewer_One"}
    fields.update(values)
    return Notice(notice_type=kind, **fields)  # type: ignore[arg-type]


# (notice, expected spoken text, expected stored text)
READ_TABLE = [
    (notice("resub", months=14, text="love this channel Kappa", emotes=frozenset({"Kappa"}), tier="1000"),
     "Viewer One resubscribed for 14 months. love this channel",
     "Viewer_One resubscribed for 14 months. love this channel Kappa"),
    (notice("resub", months=3, text=""), "Viewer One resubscribed for 3 months.",
     "Viewer_One resubscribed for 3 months."),
    (notice("sub", months=1, tier="1000"), "Viewer One subscribed", "Viewer_One subscribed"),
    (notice("sub_gift", recipient_login="sn1p3r_xx", recipient_name="Sn1p3r_Xx", tier="2000", months=1),
     "Viewer One gifted a sub to Sniper", "Viewer_One gifted a sub to Sn1p3r_Xx"),
    (notice("sub_gift", anonymous=True, user_login="ananonymousgifter", user_name="AnAnonymousGifter",
            recipient_login="viewer_two", recipient_name="Viewer_Two"),
     f"{ANONYMOUS_GIFTER} gifted a sub to Viewer Two", f"{ANONYMOUS_GIFTER} gifted a sub to Viewer_Two"),
    (notice("community_sub_gift", count=5, tier="1000"), "Viewer One gifted 5 subs", "Viewer_One gifted 5 subs"),
    (notice("community_sub_gift", count=20, anonymous=True), f"{ANONYMOUS_GIFTER} gifted 20 subs",
     f"{ANONYMOUS_GIFTER} gifted 20 subs"),
    (notice("raid", viewers=42), "Viewer One is raiding with 42 viewers", "Viewer_One is raiding with 42 viewers"),
]


@pytest.mark.parametrize(("item", "spoken", "stored"), READ_TABLE)
def test_what_is_read(item: Notice, spoken: str, stored: str) -> None:
    result = decide_notice(item, BASE, ChatMemory(), 0.0)
    assert result.decision.will_speak and result.decision.origin is Origin.NOTIFICATION
    assert result.decision.queue is QueueName.BITS
    assert result.decision.spoken_text == spoken and result.text == stored


@pytest.mark.parametrize(("item", "settings", "reason"), [
    (notice("announcement", text="hello chat"), BASE, "no template for announcement"),
    (notice("raid", viewers=4), settings_with(min_raid_viewers=5), "below min_raid_viewers (4 < 5)"),
    (notice("sub_gift", recipient_login="viewer_two", community_gift_id="bomb-1"), BASE,
     "part of a gift bomb (the community_sub_gift is read)"),
    (notice("shared_chat_resub", months=2, text="hi"), BASE, "shared chat from another channel"),
    (notice("resub", months=2, from_other_channel=True), BASE, "shared chat from another channel"),
    (notice("hype_train_level", viewers=1), BASE, UNKNOWN_TYPE),
    (notice("unknown"), BASE, UNKNOWN_TYPE),
    (notice("gift_paid_upgrade"), BASE, "no template for gift_paid_upgrade"),
])
def test_what_is_not_read(item: Notice, settings: Settings, reason: str) -> None:
    assert refusal(item, settings) == reason
    result = decide_notice(item, settings, ChatMemory(), 0.0)
    assert not result.decision.stored and result.decision.reason == reason


def test_raid_at_the_minimum_is_read() -> None:
    assert refusal(notice("raid", viewers=5), settings_with(min_raid_viewers=5)) is None


def test_gift_bomb_parts_are_read_when_the_bomb_is_not() -> None:
    templates = {**DEFAULT_TEMPLATES, "community_sub_gift": ""}
    settings = settings_with(templates=templates)
    assert refusal(notice("community_sub_gift", count=3), settings) == "no template for community_sub_gift"
    part = notice("sub_gift", recipient_login="viewer_two", community_gift_id="bomb-1")
    spoken = decide_notice(part, settings, ChatMemory(), 0.0).decision.spoken_text
    assert spoken == "Viewer One gifted a sub to viewer two"


def test_the_message_goes_through_chat_rules_and_the_template_does_not() -> None:
    templates = {**DEFAULT_TEMPLATES, "resub": "{user} darn resubbed ({tier}): {message}"}
    skip = dataclasses.replace(settings_with(templates=templates), banned_words=("darn",))
    clean = decide_notice(notice("resub", months=2, text="sooooo good https://x.example/a", tier="3000"), skip,
                          ChatMemory(), 0.0)
    assert clean.decision.will_speak
    assert clean.decision.spoken_text == "Viewer One darn resubbed (tier 3): sooo good link"
    banned = decide_notice(notice("resub", months=2, text="well d\u200barn it", message_id="2"), skip,
                           ChatMemory(), 0.0)
    assert banned.decision.status is Status.SKIPPED and banned.decision.reason == "banned word"
    assert banned.decision.queue is QueueName.BITS and banned.decision.origin is Origin.NOTIFICATION
    replace = dataclasses.replace(skip, banned_words_action="replace")
    beeped = decide_notice(notice("resub", months=2, text="well darn it", message_id="3", prime=True), replace,
                           ChatMemory(), 0.0)
    assert beeped.decision.spoken_text == "Viewer One darn resubbed (Prime): well beep it"


def test_queue_setting_and_duplicate_delivery() -> None:
    settings = settings_with(queue=QueueName.MENTIONS)
    memory = ChatMemory()
    first = decide_notice(notice("sub"), settings, memory, 0.0)
    assert first.decision.queue is QueueName.MENTIONS and first.decision.will_speak
    again = decide_notice(notice("sub"), settings, memory, 1.0)
    assert not again.decision.stored and again.decision.reason == "duplicate delivery"


def test_render_fills_missing_values_with_nothing() -> None:
    assert render("{user} raided with {viewers} viewers {message}", {"user": "a"}) == "a raided with viewers"
    assert render("{{literal}} {user}", {"user": "a"}) == "{literal} a"
