"""Twitch chat notifications (``channel.chat.notification``: subs, resubs, gifts, raids) for StreamVoice.

``notice_of`` copies what the rules need out of twitchio's event into a plain ``core.notifications.Notice``
(attribute reads only); ``NotificationComponent`` hands each notice of the broadcaster's channel to the
service, whether the App is online or not: the App never sends notices. Which notices are read, and what is
said, is decided in ``core.notifications``.
"""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

import twitchio
from twitchio.ext import commands

from core.notifications import Notice
from service.streamvoice import StreamVoice

log = logging.getLogger(__name__)


def _login(user: Any) -> str:
    return str(getattr(user, "name", None) or "")


def _shown(user: Any) -> str:
    return str(getattr(user, "display_name", None) or getattr(user, "name", None) or "")


def notice_of(event: twitchio.ChatNotification) -> Notice:
    """The ``Notice`` for one ``channel.chat.notification`` event.

    A notice from another channel of a Shared Chat session comes as a ``shared_chat_*`` type, which the rules
    ignore (twitchio does not expose the event's ``source_broadcaster_*`` keys).
    """
    kind = str(event.notice_type)
    values: dict[str, Any] = {}
    if event.sub is not None:
        values.update(months=event.sub.months, tier=event.sub.tier, prime=event.sub.prime)
    if event.resub is not None:
        values.update(months=event.resub.cumulative_months, tier=event.resub.tier, prime=event.resub.prime)
    if event.sub_gift is not None:
        gift = event.sub_gift
        values.update(months=gift.months, tier=gift.tier, recipient_login=_login(gift.recipient),
                      recipient_name=_shown(gift.recipient), community_gift_id=gift.community_gift_id or None)
    if event.community_sub_gift is not None:
        values.update(count=event.community_sub_gift.total, tier=event.community_sub_gift.tier)
    user = event.chatter
    if event.raid is not None:
        values.update(viewers=event.raid.viewer_count)
        user = event.raid.user
    return Notice(
        notice_type=kind, message_id=str(event.id or ""), user_login=_login(user), user_name=_shown(user),
        anonymous=bool(event.anonymous), text=event.text or "",
        emotes=frozenset(w for f in event.fragments if f.type == "emote" for w in f.text.split()),
        **values,
    )


class NotificationComponent(commands.Component):
    """Reads the channel's chat notifications for StreamVoice; ``outcomes`` counts what became of each."""

    def __init__(self, sv: StreamVoice, *, broadcaster_id: str) -> None:
        self.sv = sv
        self.broadcaster_id = broadcaster_id
        self.outcomes: Counter[str] = Counter()

    @commands.Component.listener()
    async def event_chat_notification(self, payload: twitchio.ChatNotification) -> None:
        if str(payload.broadcaster.id) != self.broadcaster_id:
            return
        result = await self.sv.accept_notice(notice_of(payload))
        if result.queued:
            self.outcomes["queued"] += 1
        elif result.id is not None:
            self.outcomes["skipped"] += 1
        else:
            self.outcomes["not read"] += 1
        self.outcomes[f"{payload.notice_type}: {'read' if result.queued else result.reason}"] += 1
