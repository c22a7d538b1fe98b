"""Twitch events -> what the rules read, pure: complete ``channel.chat.notification`` payloads (as the fake Twitch
sends them) parsed by twitchio's own ``ChatNotification``, and the trigger fields of a chat line."""

from __future__ import annotations

from typing import Any

from twitchio import ChatMessage, ChatNotification

from bot.conversion import chat_line, to_incoming
from bot.notifications import notice_of
from tests.bot.fake_twitch import (
    ANONYMOUS_GIFTER,
    FakeUser,
    chat_event,
    community_sub_gift_object,
    notification_event,
    raid_object,
    resub_object,
    sub_gift_object,
    sub_object,
)

STREAMER = FakeUser("1001", "streamer", "Streamer")
VIEWER = FakeUser("3003", "cool_guy_99", "Cool_Guy_99")
FRIEND = FakeUser("3004", "friend", "Friend")
OTHER = FakeUser("5005", "otherstreamer", "OtherStreamer")
USERS = (STREAMER, VIEWER, FRIEND, OTHER)


def parsed(chatter: FakeUser, kind: str, notice: dict[str, Any] | None, **kwargs: Any) -> ChatNotification:
    event = notification_event(broadcaster=STREAMER, chatter=chatter, notice_type=kind, notice=notice, users=USERS,
                               **kwargs)
    return ChatNotification(event, http=None)  # type: ignore[arg-type]


def test_resub_with_its_message_and_emotes() -> None:
    notice = notice_of(parsed(VIEWER, "resub", resub_object(cumulative=14, streak=2, tier="2000"),
                              text="still here Kappa"))
    assert (notice.notice_type, notice.user_login, notice.user_name) == ("resub", "cool_guy_99", "Cool_Guy_99")
    assert notice.months == 14 and notice.tier == "2000" and not notice.prime and notice.text == "still here Kappa"
    assert notice.emotes == frozenset({"Kappa"}) and notice.message_id


def test_sub_gift_bomb_raid_and_anonymous_gifts() -> None:
    sub = notice_of(parsed(VIEWER, "sub", sub_object(months=3, prime=True)))
    assert sub.months == 3 and sub.prime
    bomb = notice_of(parsed(VIEWER, "community_sub_gift", community_sub_gift_object("b-1", 5, tier="3000")))
    assert bomb.count == 5 and bomb.tier == "3000"
    gift = notice_of(parsed(VIEWER, "sub_gift", sub_gift_object(FRIEND, community_gift_id="b-1")))
    assert (gift.recipient_login, gift.recipient_name, gift.community_gift_id) == ("friend", "Friend", "b-1")
    single = notice_of(parsed(VIEWER, "sub_gift", sub_gift_object(FRIEND)))
    assert single.community_gift_id is None
    anonymous = notice_of(parsed(ANONYMOUS_GIFTER, "sub_gift", sub_gift_object(FRIEND), anonymous=True))
    assert anonymous.anonymous and anonymous.user_login == "ananonymousgifter"
    raid = notice_of(parsed(FRIEND, "raid", raid_object(FRIEND, 37)))
    assert raid.viewers == 37 and raid.user_login == "friend"


def test_shared_chat_and_unknown_types_keep_their_type() -> None:
    shared = notice_of(parsed(VIEWER, "shared_chat_sub", sub_object(), source_broadcaster=OTHER))
    assert shared.notice_type == "shared_chat_sub"
    assert notice_of(parsed(VIEWER, "something_new", None)).notice_type == "something_new"


def test_chat_lines_carry_badges_and_first_messages_to_the_trigger_rules() -> None:
    event = chat_event(broadcaster=STREAMER, chatter=VIEWER, text="hi, first time", users=USERS,
                       badges=["subscriber", "premium"], message_type="user_intro")
    chat = to_incoming(chat_line(ChatMessage(event, http=None)))  # type: ignore[arg-type]
    assert chat.badges == frozenset({"subscriber", "premium"}) and chat.first_message
    plain = chat_event(broadcaster=STREAMER, chatter=VIEWER, text="again", users=USERS)
    chat = to_incoming(chat_line(ChatMessage(plain, http=None)))  # type: ignore[arg-type]
    assert chat.badges == frozenset() and not chat.first_message
