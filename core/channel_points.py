"""A channel-point redemption as it reaches the server, and the rules that make it a queue item.

Pure: the caller passes the clock and the chat memory (who spoke last, for reading names). A redemption is
always stored, so that its points can be given back when it is not read: empty text, a banned word or text
that hygiene empties are stored as skipped (and refunded), with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.chat import QueueName, Status
from core.queue_rules import ChatMemory, Decision, speech_rules
from core.refunds import EMPTY_REASON
from core.settings import Settings
from core.spoken_names import spoken_sender
from core.spoken_text import find_banned_word, normalize_chat_text, pronounce


@dataclass(frozen=True, slots=True)
class Redemption:
    """One redemption of a reward: from EventSub, from the list of unfulfilled ones, or from a chat line."""

    id: str
    broadcaster_id: str
    reward_id: str
    user_login: str
    user_name: str
    user_input: str
    redeemed_at: datetime | None = None

    @property
    def sent_by(self) -> str:
        """The display name when it only differs from the login in capitals (as for chat), else the login."""
        if self.user_name and self.user_name.lower() == self.user_login.lower():
            return self.user_name
        return self.user_login or self.user_name


def decide_redemption(redemption: Redemption, settings: Settings, memory: ChatMemory, now: float) -> Decision:
    """The queue (``channel_points.queue``) and what is spoken: the same hygiene, banned words and names as chat.

    A paid request is never dropped unseen: no mention is needed, ``ignored_prefixes``, ``bits_min`` and the
    per-user cooldown do not apply (Twitch's own cooldown and limits on the reward do).
    """
    queue = QueueName(settings.channel_points.queue)
    text = redemption.user_input
    if not text.strip():
        return Decision(queue, Status.SKIPPED, "", EMPTY_REASON)
    rules = speech_rules(settings)
    spoken = normalize_chat_text(text, rules)
    banned = find_banned_word(text, settings.banned_words) or find_banned_word(spoken, settings.banned_words)
    if settings.banned_words_action == "skip" and banned is not None:
        return Decision(queue, Status.SKIPPED, spoken, "banned word")
    if not spoken:
        return Decision(queue, Status.SKIPPED, spoken, "nothing left to say after clean-up")
    user = redemption.sent_by.lower()
    read_name = settings.read_username_bits if queue is QueueName.BITS else settings.read_username_mentions
    read_name = read_name and memory.speakers.name_due(queue, user, now, settings.name_repeat_after)
    memory.speakers.spoke(queue, user, now, read_name)
    if read_name:
        name = pronounce(spoken_sender(redemption.sent_by, settings.nicknames), rules.pronunciations)
        spoken = settings.username_template.format(user=name, text=spoken)
    return Decision(queue, Status.PENDING, spoken)
