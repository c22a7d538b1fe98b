"""The queue manager's rules: which queue a chat line joins, and whether it is spoken at all.

``decide`` is the single decision point for both ingest paths (App and Twitch bot). It is pure: the
caller passes the clock and the small amount of memory the rules need (``ChatMemory``).
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from core.chat import IncomingChat, Origin, QueueName, Source, Status
from core.language import LangSource, Scorer, StickyLanguages
from core.language_rules import line_language, name_template, rules_for
from core.settings import Settings
from core.spoken_names import SpeakerMemory, spoken_sender
from core.spoken_text import SpeechRules, find_banned_word, normalize_chat_text, pronounce
from core.triggers import trigger

#: A line seen from one source and again from another within this many seconds is a duplicate.
DUPLICATE_WINDOW_S = 15.0
_MEMORY_SIZE = 4096


@dataclass(frozen=True, slots=True)
class Decision:
    """``queue`` None: not stored at all. Otherwise stored with ``status`` (pending, or skipped + reason)."""

    queue: QueueName | None
    status: Status = Status.PENDING
    spoken_text: str = ""
    reason: str | None = None
    #: Why it is read (``core.triggers``): mention, chat, command or cheer; ``None`` when not stored.
    origin: Origin | None = None
    #: The Kokoro language code the line is spoken in, and why (``core.language``).
    lang: str = ""
    lang_source: LangSource = LangSource.DEFAULT

    @property
    def stored(self) -> bool:
        return self.queue is not None

    @property
    def will_speak(self) -> bool:
        return self.queue is not None and self.status is Status.PENDING


class ChatMemory:
    """Bounded memory of recent lines (duplicate delivery) and of each user's last spoken mention."""

    def __init__(self) -> None:
        self._recent: OrderedDict[tuple[str, str], tuple[str, float]] = OrderedDict()
        self._last_mention: OrderedDict[str, float] = OrderedDict()
        #: Who spoke last per queue (read the name only when the speaker changes).
        self.speakers = SpeakerMemory()
        #: Each viewer's sticky language (``core.language``).
        self.languages = StickyLanguages()

    def is_duplicate(self, chat: IncomingChat, now: float) -> bool:
        """Seen recently through the *other* path (App vs Twitch bot), or with the same Twitch message id.

        Only first deliveries are remembered, so a chatter repeating a line through one path is not a duplicate.
        """
        path = "twitch" if chat.source is Source.TWITCH else "app"
        keys = [("text", f"{chat.sent_by.lower()}\n{chat.text.strip()}")]
        if chat.external_id:
            keys.append(("id", chat.external_id))
        for key in keys:
            seen = self._recent.get(key)
            if seen is not None and now - seen[1] <= DUPLICATE_WINDOW_S and (key[0] == "id" or seen[0] != path):
                return True
        for key in keys:
            self._recent[key] = (path, now)
            self._recent.move_to_end(key)
        while len(self._recent) > _MEMORY_SIZE:
            self._recent.popitem(last=False)
        return False

    def seconds_since_mention(self, user: str, now: float) -> float | None:
        last = self._last_mention.get(user.lower())
        return None if last is None else now - last

    def remember_mention(self, user: str, now: float) -> None:
        self._last_mention[user.lower()] = now
        self._last_mention.move_to_end(user.lower())
        while len(self._last_mention) > _MEMORY_SIZE:
            self._last_mention.popitem(last=False)


def speech_rules(settings: Settings) -> SpeechRules:
    return SpeechRules(
        username=settings.username.lstrip("@"),
        max_chars=settings.max_message_chars,
        emotes=frozenset(settings.emotes),
        banned_words=settings.banned_words,
        banned_words_action=settings.banned_words_action,
        nicknames=tuple(sorted(settings.nicknames.items())),
        pronunciations=tuple(sorted(settings.pronunciations.items())),
    )


def decide(chat: IncomingChat, settings: Settings, memory: ChatMemory, now: float, *,
           viewer_lang: str | None = None, scorer: Scorer | None = None) -> Decision:
    """Apply the queue rules to one validated chat line (see docs/queue-rules.md). ``viewer_lang``: the
    chatter's ``!lang`` choice; ``scorer``: the language detector (docs/languages.md)."""
    user = chat.sent_by.strip().lower()
    if user in {u.lower() for u in settings.ignored_users}:
        return Decision(None, reason="ignored user")
    triggered = trigger(chat, settings)
    if triggered.origin is None:
        return Decision(None, reason=triggered.reason)
    origin = triggered.origin
    queue = QueueName.BITS if chat.is_cheer else QueueName.MENTIONS
    if memory.is_duplicate(chat, now):
        return Decision(None, reason="duplicate delivery")

    rules = speech_rules(settings)
    emotes = rules.emotes | chat.emotes
    rules = SpeechRules(
        username=rules.username if triggered.strip_streamer else "", max_chars=rules.max_chars, emotes=emotes,
        banned_words=rules.banned_words, banned_words_action=rules.banned_words_action,
        nicknames=rules.nicknames, pronunciations=rules.pronunciations)
    language, readable = line_language(triggered.text, chat.sent_by, settings, rules, memory.languages, viewer_lang,
                                       scorer)
    rules = rules_for(rules, language.code, settings)
    spoken = normalize_chat_text(readable, rules)

    def skipped(reason: str) -> Decision:
        return Decision(queue, Status.SKIPPED, spoken, reason, origin, language.code, language.source)

    if queue is QueueName.BITS and (chat.bits_amount or 0) < settings.bits_min:
        return skipped(f"below bits_min ({chat.bits_amount} < {settings.bits_min})")
    if settings.banned_words_action == "skip":
        # the spoken text too: zero-width characters can hide a word from the raw-text check
        banned = find_banned_word(chat.text, settings.banned_words) or find_banned_word(spoken, settings.banned_words)
        if banned is not None:
            return skipped("banned word")
    if queue is QueueName.MENTIONS and settings.per_user_cooldown > 0:
        since = memory.seconds_since_mention(user, now)
        if since is not None and since < settings.per_user_cooldown:
            return skipped(f"per_user_cooldown ({since:.0f}s < {settings.per_user_cooldown:g}s)")
    if not spoken:
        unreadable = readable != chat.text and normalize_chat_text(chat.text, rules)
        return skipped("unsupported language" if unreadable else "nothing left to say after clean-up")
    if queue is QueueName.MENTIONS:
        memory.remember_mention(user, now)
    read_name = settings.read_username_bits if queue is QueueName.BITS else settings.read_username_mentions
    read_name = read_name and memory.speakers.name_due(queue, user, now, settings.name_repeat_after)
    memory.speakers.spoke(queue, user, now, read_name)
    if read_name:
        name = pronounce(spoken_sender(chat.sent_by, settings.nicknames), rules.pronunciations)
        spoken = name_template(language.code, settings).format(user=name, text=spoken)
    return Decision(queue, Status.PENDING, spoken, origin=origin, lang=language.code, lang_source=language.source)
