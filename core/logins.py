"""The one way a chatter's name becomes the key every table and every match uses.

``@Troll42`` -> ``troll42``, ``Ärger`` -> ``ärger``: surrounding spaces and leading ``@`` go, and the rest is
lower-cased with Python's Unicode rules. Purges, Twitch timeouts and bans, ``!voice`` choices, ``user_voices``,
``nicknames`` and the ``login_key`` column of stored lines all go through this function, so a chatter is matched
the same way everywhere (SQL's ``lower()`` is ASCII-only and keeps the ``@``, so matching never happens in SQL).
"""

from __future__ import annotations


def login_key(name: str) -> str:
    """``@SomeOne`` -> ``someone``: a chatter's login or display name as a matching key."""
    return name.strip().lstrip("@").strip().lower()
