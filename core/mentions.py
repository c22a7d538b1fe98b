"""Does a chat line mention the streamer?"""

from __future__ import annotations

import re
from functools import lru_cache

# A mention is "@name" where the "@" does not follow a word character (so e-mail addresses do not count)
# and the name is not followed by another name character (so "@streamer_fan" is someone else).
_NAME_CHARS = r"[A-Za-z0-9_]"


@lru_cache(maxsize=32)
def _mention_pattern(username: str) -> re.Pattern[str]:
    name = re.escape(username.lstrip("@"))
    return re.compile(rf"(?<!{_NAME_CHARS})@{name}(?!{_NAME_CHARS})", re.IGNORECASE)


def mentions_streamer(text: str, username: str) -> bool:
    """True when ``text`` contains ``@username`` as a whole word, case-insensitively."""
    if not username.strip("@ "):
        return False
    return _mention_pattern(username.strip()).search(text) is not None
