"""The viewers' ``!voice <name>`` chat command, as a pure rule.

With ``viewer_voice_command: true`` a chatter picks one of the names in ``voices`` for their own lines
(``!voice bella``); ``!voice`` alone goes back to the default. Nothing is ever said in chat. A name that is
not in ``voices`` is ignored. Each chatter may change at most once per ``voice_command_cooldown`` seconds;
ignored commands do not start the cooldown. The rule runs *before* ``ignored_prefixes`` (which would drop
every ``!`` line), for App and Twitch lines alike; cheers are never commands (their bits must be spoken).
"""

from __future__ import annotations

import enum
from collections import OrderedDict
from dataclasses import dataclass

from core.chat import IncomingChat
from core.logins import login_key
from core.settings import Settings

COMMAND = "!voice"
_MEMORY_SIZE = 4096


class VoiceAction(enum.StrEnum):
    SET = "set"
    RESET = "reset"
    IGNORE = "ignore"


@dataclass(frozen=True, slots=True)
class VoiceCommand:
    """What to do with a ``!voice`` line: store ``name`` for ``login``, forget the choice, or nothing."""

    action: VoiceAction
    login: str
    name: str | None = None
    reason: str = ""


class VoiceCommandMemory:
    """When each chatter last changed their voice (bounded: the oldest entries go first)."""

    def __init__(self, size: int = _MEMORY_SIZE) -> None:
        self._changed: OrderedDict[str, float] = OrderedDict()
        self._size = size

    def seconds_since_change(self, login: str, now: float) -> float | None:
        last = self._changed.get(login)
        return None if last is None else now - last

    def remember(self, login: str, now: float) -> None:
        self._changed[login] = now
        self._changed.move_to_end(login)
        while len(self._changed) > self._size:
            self._changed.popitem(last=False)


def viewer_command(chat: IncomingChat, command: str, settings: Settings) -> tuple[str, str | None] | None:
    """``(login, the word after the command or None)`` when ``chat`` is ``command`` from a chatter who is not a
    chat bot, else ``None``. Shared by ``!voice`` and ``!lang``."""
    words = chat.text.split()
    if not words or words[0].casefold() != command:
        return None
    login = login_key(chat.sent_by)
    if login in {u.lower() for u in settings.ignored_users}:
        return None  # chat bots: the queue rules ignore the line
    return login, (words[1] if len(words) > 1 else None)


def settle_choice(login: str, value: str | None, memory: VoiceCommandMemory, now: float, cooldown: float,
                  kind: str, chosen: str, reset: str) -> VoiceCommand:
    """A valid choice (``value`` None: back to the default), within the per-viewer cooldown: set or reset it.
    Ignored commands never start the cooldown; ``kind`` names the command in the reasons."""
    since = memory.seconds_since_change(login, now)
    if since is not None and since < cooldown:
        return VoiceCommand(VoiceAction.IGNORE, login, value,
                            f"{kind} command ignored: cooldown ({cooldown - since:.0f}s left)")
    memory.remember(login, now)
    if value is None:
        return VoiceCommand(VoiceAction.RESET, login, None, f"{kind} command: {reset}")
    return VoiceCommand(VoiceAction.SET, login, value, f"{kind} command: {chosen}")


def voice_command(chat: IncomingChat, settings: Settings, memory: VoiceCommandMemory,
                  now: float) -> VoiceCommand | None:
    """``None`` when the line is not a voice command (the queue rules then decide), else the command."""
    if not settings.viewer_voice_command or chat.is_cheer:
        return None
    parsed = viewer_command(chat, COMMAND, settings)
    if parsed is None:
        return None
    login, word = parsed
    name = word.lower() if word is not None else None
    if name is not None and name not in {k.lower() for k in settings.voices}:
        return VoiceCommand(VoiceAction.IGNORE, login, name, f"voice command ignored: unknown voice {name!r}")
    return settle_choice(login, name, memory, now, settings.voice_command_cooldown, "voice", name or "",
                         "back to the default voice")
