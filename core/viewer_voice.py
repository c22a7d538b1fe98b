"""Which voice speaks a chatter's line: the viewer's own ``!voice`` choice, a ``user_voices`` override, a
per-viewer mix (``voice_mode: per_user``) or the channel's ``voice``, in that order.

The per-viewer mix must sound the same for the same login on every start and on every machine, so it is
derived from SHA-256 of the login (Python's ``hash()`` is salted per process). Voices are picked by rendezvous
hashing (each pool voice gets a score from the login and its id; the top two or three win), so adding a voice
to the pool changes only the viewers whose top picks it beats, and the pool's order in settings.yaml does not
matter. Each picked voice keeps at least ``MIN_PERCENT`` of the mix so every ingredient is audible.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from functools import lru_cache

from core.logins import login_key
from core.settings import Settings

#: Smallest share of one voice in a per-viewer mix (three voices: at least 15 % each).
MIN_PERCENT = 15


def pool_voice_ids(pool: Iterable[str], voices: Mapping[str, str]) -> tuple[str, ...]:
    """Friendly names turned into Kokoro ids (raw ids kept), duplicates dropped, sorted."""
    table = {k.lower(): v for k, v in voices.items()}
    return tuple(sorted({table.get(name.lower(), name.lower()) for name in pool if name.strip()}))


def _digest(*parts: str) -> bytes:
    return hashlib.sha256("\x00".join(parts).encode("utf-8")).digest()


def per_user_mix(login: str, pool: Iterable[str]) -> str:
    """A stable mix of 2-3 Kokoro ids from ``pool`` for ``login``, as a voice spec (``af_heart:55+am_adam:45``).

    A pool of one voice gives that voice alone; an empty pool is a ``ValueError`` (settings never allow it).
    Recent answers are cached (it runs for every accepted line; a pool of 28 voices costs 28 hashes).
    """
    return _per_user_mix(login_key(login), tuple(sorted(set(pool))))


@lru_cache(maxsize=4096)
def _per_user_mix(login: str, ids: tuple[str, ...]) -> str:
    if not ids:
        raise ValueError("the voice pool is empty")
    if len(ids) == 1:
        return ids[0]
    digest = _digest(login)
    count = min(len(ids), 2 + digest[0] % 2)
    picked = sorted(ids, key=lambda voice_id: (_digest(login, voice_id), voice_id), reverse=True)[:count]
    raw = [1 + digest[1 + i] for i in range(count)]  # 1..256 each
    spare = 100 - MIN_PERCENT * count
    shares = [MIN_PERCENT + spare * w // sum(raw) for w in raw]
    shares[0] += 100 - sum(shares)  # rounding leftovers
    ordered = sorted(zip(picked, shares, strict=True), key=lambda pair: (-pair[1], pair[0]))
    return "+".join(f"{voice_id}:{percent}" for voice_id, percent in ordered)


def default_pool(settings: Settings) -> tuple[str, ...]:
    """``voice_pool`` as Kokoro ids; every voice in ``voices`` when the pool is not set."""
    return _default_pool(settings.voice_pool or tuple(settings.voices), tuple(sorted(settings.voices.items())))


@lru_cache(maxsize=8)
def _default_pool(pool: tuple[str, ...], voices: tuple[tuple[str, str], ...]) -> tuple[str, ...]:
    return pool_voice_ids(pool, dict(voices))


def resolve_voice(sent_by: str, settings: Settings, chosen: str | None = None) -> str:
    """The voice spec for one chatter's line.

    ``chosen`` is the viewer's ``!voice`` name (from the database); it only counts while that name is still in
    ``voices`` (a streamer who removes a voice from the table takes it away from viewers too).
    """
    table = {k.lower() for k in settings.voices}
    if chosen is not None and chosen.lower() in table:
        return f"{chosen.lower()}100"
    login = login_key(sent_by)
    override = settings.user_voices.get(login)
    if override:
        return override
    if settings.voice_mode == "per_user":
        pool = default_pool(settings)
        if pool:
            return per_user_mix(login, pool)
    return settings.voice


def changed_voice_specs(old: Settings, new: Settings) -> list[tuple[str, str]]:
    """``(settings key, voice spec)`` for every voice a live edit starts to use, so each pack can be loaded
    (and the edit refused, naming the key, when one is missing) before the edit takes effect."""
    table_changed = dict(old.voices) != dict(new.voices)
    specs = [(f"user_voices.{login}", spec) for login, spec in new.user_voices.items()
             if table_changed or old.user_voices.get(login) != spec]
    if new.voice_mode == "per_user":
        old_pool = default_pool(old) if old.voice_mode == "per_user" else ()
        specs += [("voice_pool", voice_id) for voice_id in default_pool(new)
                  if table_changed or voice_id not in old_pool]
    return specs
