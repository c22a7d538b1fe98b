"""How a chatter's name is read: handles as words, nicknames, and when to say the name at all.

``spoken_handle`` reads a Twitch handle the way a person would say it:

- ``_``, ``.`` and ``-`` separate words and are never spoken ("dot", "underscore"): ``cool_guy`` -> "cool guy",
  ``su.per_k1llr420`` -> "su per killr" (a dot splits like an underscore: "john.smith" is two words far more
  often than "su.per" is one);
- capitals inside a word start a new word: ``CamelCaseName`` -> "Camel Case Name", ``HTTPServer`` -> "HTTP
  Server" (logins are lower case; the bot passes the display name when it only differs in case, which is where
  the capitals come from);
- leetspeak digits between letters become the letters they stand for: 0 -> o, 1 -> i, 3 -> e (``Sn1p3r`` ->
  "Sniper", ``b00m`` -> "boom"); other digits are words of their own (``gamer4life`` -> "gamer 4 life");
- trailing digits go (``night_owl_2024`` -> "night owl"); a name that is only digits is kept;
- the "xX ... Xx" wrapping stays (``xX_Sn1p3r_Xx`` -> "xX Sniper Xx"): it is part of how the name is known.

``SpeakerMemory`` holds the rule for *when* the name is read (``read_username_*`` on): only when the speaker
changes in that queue, or, with ``name_repeat_after`` > 0, when that many seconds have passed since the name was
last read. Pure: the caller passes the clock.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from core.chat import QueueName
from core.logins import login_key

_SEPARATORS = re.compile(r"[_.\-]+")
_LEET = re.compile(r"(?<=[A-Za-z])[013]+(?=[A-Za-z])")
_LEET_LETTERS = str.maketrans("013", "oie")
#: Split before a capital that starts a lower-case run: "CamelCase", "HTTPServer" (not "xX", "DJ").
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z][a-z])|(?<=[A-Z])(?=[A-Z][a-z])")
#: Between letters and the digits left after leetspeak: "gamer4life" -> "gamer 4 life".
_DIGITS = re.compile(r"(?<=[A-Za-z])(?=[0-9])|(?<=[0-9])(?=[A-Za-z])")


def spoken_handle(handle: str) -> str:
    """``xX_Sn1p3r_Xx`` -> ``xX Sniper Xx``; see the module docstring. Linear in the input."""
    words: list[str] = []
    for part in _SEPARATORS.split(handle.strip().lstrip("@")):
        if not part:
            continue
        part = _LEET.sub(lambda m: m.group().translate(_LEET_LETTERS), part)
        words.extend(w for camel in _CAMEL.split(part) for w in _DIGITS.split(camel) if w)
    spoken = " ".join(words)
    trimmed = spoken.rstrip("0123456789").strip()
    return trimmed or spoken


def spoken_sender(sent_by: str, nicknames: Mapping[str, str]) -> str:
    """The chatter's nickname from settings (keyed by lower-case login) or their handle read as words."""
    nickname = nicknames.get(login_key(sent_by))
    return nickname if nickname else spoken_handle(sent_by)


class SpeakerMemory:
    """Who spoke last in each queue, and when their name was last read."""

    def __init__(self) -> None:
        self._last: dict[QueueName, tuple[str, float]] = {}

    def name_due(self, queue: QueueName, login: str, now: float, repeat_after: float) -> bool:
        """Read the name: a new speaker in this queue, or the same one after ``repeat_after`` seconds (> 0)."""
        last = self._last.get(queue)
        if last is None or last[0] != login:
            return True
        return repeat_after > 0 and now - last[1] >= repeat_after

    def spoke(self, queue: QueueName, login: str, now: float, name_read: bool) -> None:
        """Record a line that will be spoken; the time only moves when the name was read."""
        last = self._last.get(queue)
        if name_read or last is None or last[0] != login:
            self._last[queue] = (login, now)
