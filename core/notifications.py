"""Twitch chat notifications (subs, resubs, gifts, raids, announcements) read aloud, as pure rules.

The bot turns each ``channel.chat.notification`` event into a ``Notice``; ``decide_notice`` says whether it is
read and what is said, from the ``notifications:`` settings:

* a notice is read when its type has a non-empty template (``notifications.templates``);
* a raid with fewer viewers than ``min_raid_viewers`` is not read;
* a gift bomb's single ``sub_gift`` notices (they carry the ``community_gift_id`` of the bomb) are not read when
  the ``community_sub_gift`` that announced them is; a single gift (no ``community_gift_id``) is read as usual;
* Shared Chat notices from other channels (``shared_chat_*``) are ignored: that channel's own setup reads them;
* a type Twitch may add later (unknown here) is ignored, and the caller logs it once.

Only ``{message}`` (the viewer's own resub text, or an announcement) goes through chat clean-up and the
banned-word rules; the template is the streamer's own text and is read as written. Names are read like a
chatter's name (nicknames, handles made readable, pronunciations). An anonymous gifter is read as
"An anonymous gifter".
"""

from __future__ import annotations

import string
from collections import defaultdict
from dataclasses import dataclass, field

from core.chat import IncomingChat, Origin, QueueName, Source, Status
from core.queue_rules import ChatMemory, Decision, speech_rules
from core.settings import Settings
from core.spoken_names import spoken_sender
from core.spoken_text import SpeechRules, find_banned_word, normalize_chat_text, pronounce

ANONYMOUS_GIFTER = "An anonymous gifter"
#: Twitch's documented notice types (``notice_type``); any other is unknown and ignored with a log line.
KNOWN_NOTICE_TYPES: frozenset[str] = frozenset({
    "sub", "resub", "sub_gift", "community_sub_gift", "gift_paid_upgrade", "prime_paid_upgrade", "raid", "unraid",
    "pay_it_forward", "announcement", "bits_badge_tier", "charity_donation", "watch_streak", "modiversary",
    "shared_chat_sub", "shared_chat_resub", "shared_chat_sub_gift", "shared_chat_community_sub_gift",
    "shared_chat_gift_paid_upgrade", "shared_chat_prime_paid_upgrade", "shared_chat_raid", "shared_chat_unraid",
    "shared_chat_pay_it_forward", "shared_chat_announcement", "shared_chat_modiversary",
})
UNKNOWN_TYPE = "unknown notice type"
_TIERS = {"1000": "tier 1", "2000": "tier 2", "3000": "tier 3"}


@dataclass(frozen=True, slots=True)
class Notice:
    """The parts of one chat notification the rules read (nothing that can do I/O)."""

    notice_type: str
    message_id: str
    #: Who the notice is about: the subscriber, the gifter, the raider, the announcer.
    user_login: str
    user_name: str = ""
    anonymous: bool = False
    #: The viewer's own text (a resub message, an announcement); "" when there is none.
    text: str = ""
    emotes: frozenset[str] = field(default_factory=frozenset)
    months: int | None = None
    recipient_login: str | None = None
    recipient_name: str | None = None
    count: int | None = None
    viewers: int | None = None
    #: Twitch's ``sub_tier`` ("1000", "2000", "3000").
    tier: str | None = None
    prime: bool = False
    #: A ``sub_gift`` that is part of a gift bomb carries the bomb's id.
    community_gift_id: str | None = None
    #: Set when Twitch says the notice happened in another channel of a Shared Chat session.
    from_other_channel: bool = False

    @property
    def sent_by(self) -> str:
        """Who the item is stored as: the display name when it is just the login with capitals, else the login."""
        return _shown_name(self.user_login, self.user_name)


def _shown_name(login: str, name: str | None) -> str:
    if name and name.lower() == login.lower():
        return name
    return login or name or ""


@dataclass(frozen=True, slots=True)
class NoticeDecision:
    """``decision`` as for a chat line (queue None: not stored, ``reason`` says why); ``text``: what is stored."""

    decision: Decision
    text: str = ""


def refusal(notice: Notice, settings: Settings) -> str | None:
    """Why ``notice`` is not read at all, or ``None`` when it is."""
    rules = settings.notifications
    kind = notice.notice_type
    if kind.startswith("shared_chat_") or notice.from_other_channel:
        return "shared chat from another channel"
    if kind not in KNOWN_NOTICE_TYPES:
        return UNKNOWN_TYPE
    if not rules.templates.get(kind, ""):
        return f"no template for {kind}"
    if kind == "raid" and (notice.viewers or 0) < rules.min_raid_viewers:
        return f"below min_raid_viewers ({notice.viewers or 0} < {rules.min_raid_viewers})"
    if kind == "sub_gift" and notice.community_gift_id and rules.templates.get("community_sub_gift", ""):
        return "part of a gift bomb (the community_sub_gift is read)"
    return None


def render(template: str, values: dict[str, str]) -> str:
    """Fill ``template`` (already checked by the settings); missing values read as nothing, spaces collapse."""
    filled = string.Formatter().vformat(template, (), defaultdict(str, values))
    return " ".join(filled.split())


def _tier(notice: Notice) -> str:
    if notice.prime:
        return "Prime"
    return _TIERS.get(notice.tier or "", "")


def _values(notice: Notice, user: str, recipient: str, message: str) -> dict[str, str]:
    def number(value: int | None) -> str:
        return "" if value is None else str(value)

    return {"user": user, "months": number(notice.months), "message": message, "recipient": recipient,
            "count": number(notice.count), "viewers": number(notice.viewers), "tier": _tier(notice)}


def decide_notice(notice: Notice, settings: Settings, memory: ChatMemory, now: float) -> NoticeDecision:
    """Whether ``notice`` is read, into which queue, and what is said (see the module docstring)."""
    reason = refusal(notice, settings)
    if reason is not None:
        return NoticeDecision(Decision(None, reason=reason))
    key = IncomingChat(sent_by=notice.user_login, text=f"{notice.notice_type} {notice.message_id}",
                       source=Source.TWITCH, external_id=notice.message_id or None)
    if memory.is_duplicate(key, now):
        return NoticeDecision(Decision(None, reason="duplicate delivery"))

    queue: QueueName = settings.notifications.queue
    template = settings.notifications.templates[notice.notice_type]
    rules = speech_rules(settings)
    message = normalize_chat_text(notice.text, SpeechRules(
        username=rules.username, max_chars=rules.max_chars, emotes=rules.emotes | notice.emotes,
        banned_words=rules.banned_words, banned_words_action=rules.banned_words_action,
        nicknames=rules.nicknames, pronunciations=rules.pronunciations)) if notice.text.strip() else ""

    def name(login: str | None, shown: str | None) -> str:
        return pronounce(spoken_sender(_shown_name(login or "", shown), settings.nicknames), rules.pronunciations)

    user = ANONYMOUS_GIFTER if notice.anonymous else name(notice.user_login, notice.user_name)
    recipient = name(notice.recipient_login, notice.recipient_name) if notice.recipient_login else ""
    spoken = render(template, _values(notice, user, recipient, message))
    shown_user = ANONYMOUS_GIFTER if notice.anonymous else notice.sent_by
    shown_recipient = _shown_name(notice.recipient_login or "", notice.recipient_name)
    stored = render(template, _values(notice, shown_user, shown_recipient, notice.text.strip()))

    banned = "{message}" in template and settings.banned_words_action == "skip" and (
        find_banned_word(notice.text, settings.banned_words) or find_banned_word(message, settings.banned_words))
    if banned:
        return NoticeDecision(Decision(queue, Status.SKIPPED, spoken, "banned word", Origin.NOTIFICATION), stored)
    if not any(ch.isalnum() for ch in spoken):
        return NoticeDecision(Decision(queue, Status.SKIPPED, spoken, "nothing left to say after clean-up",
                                       Origin.NOTIFICATION), stored)
    memory.speakers.spoke(queue, notice.user_login.lower(), now, True)  # the template names them
    return NoticeDecision(Decision(queue, Status.PENDING, spoken, origin=Origin.NOTIFICATION), stored)
