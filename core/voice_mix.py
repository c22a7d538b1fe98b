"""Parse the ``voice`` setting (e.g. ``jared50_lex30_martha20``) into weighted Kokoro voices.

Grammar (documented in settings.yaml):

    mix   := part ("_" part)*         friendly names from the ``voices`` table, each followed by a percent
    part  := NAME PERCENT             NAME = letters only, PERCENT = 1..100; percents must total 100
    mix   := KOKORO_ID                a single raw Kokoro id such as ``af_heart`` (100 %)
    mix   := KOKORO_ID ":" PERCENT ("+" KOKORO_ID ":" PERCENT)*   raw ids mixed, e.g. ``af_heart:60+am_adam:40``

Raw Kokoro ids contain an underscore themselves (``am_adam``), which is why a mix of raw ids uses ``+``
and ``:`` instead of the friendly ``_`` form; the two forms never overlap.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_FRIENDLY_PART = re.compile(r"([A-Za-z]+)(\d{1,3})")
_KOKORO_ID = re.compile(r"[a-z]{2}_[a-z0-9]+")


class VoiceMixError(ValueError):
    """The voice setting cannot be understood; the message says why, in words a streamer can act on."""


@dataclass(frozen=True, slots=True)
class VoiceShare:
    """One ingredient of the mix: a Kokoro voice id and its weight in [0, 1]."""

    voice_id: str
    weight: float


def _finish(shares: list[tuple[str, int]], spec: str) -> tuple[VoiceShare, ...]:
    total = sum(p for _, p in shares)
    if total != 100:
        raise VoiceMixError(f"voice {spec!r}: percentages add up to {total}, they must total 100")
    merged: dict[str, int] = {}
    for voice_id, percent in shares:
        merged[voice_id] = merged.get(voice_id, 0) + percent
    return tuple(VoiceShare(v, p / 100) for v, p in merged.items())


def _percent(text: str, spec: str) -> int:
    value = int(text)
    if not 1 <= value <= 100:
        raise VoiceMixError(f"voice {spec!r}: percentage {value} is outside 1..100")
    return value


def parse_voice_mix(spec: str, voices: Mapping[str, str]) -> tuple[VoiceShare, ...]:
    """Turn a voice spec into weighted Kokoro voice ids, using ``voices`` (friendly name -> Kokoro id)."""
    spec = spec.strip()
    if not spec:
        raise VoiceMixError("voice is empty: set it to e.g. jared50_lex30_martha20 or af_heart")
    table = {k.lower(): v for k, v in voices.items()}

    if "+" in spec or ":" in spec:
        shares: list[tuple[str, int]] = []
        for part in spec.split("+"):
            voice_id, sep, percent = part.strip().partition(":")
            if not sep or not _KOKORO_ID.fullmatch(voice_id) or not percent.isdigit():
                raise VoiceMixError(f"voice {spec!r}: {part!r} is not KOKORO_ID:PERCENT (e.g. af_heart:60)")
            shares.append((voice_id, _percent(percent, spec)))
        return _finish(shares, spec)

    if _KOKORO_ID.fullmatch(spec) and spec.lower() not in table:
        return (VoiceShare(spec, 1.0),)

    shares = []
    for part in spec.split("_"):
        match = _FRIENDLY_PART.fullmatch(part)
        if match is None:
            if part.lower() in table:
                raise VoiceMixError(f"voice {spec!r}: {part!r} needs a percentage, e.g. {part}100")
            raise VoiceMixError(f"voice {spec!r}: {part!r} is not NAME+PERCENT (e.g. jared50)")
        name, percent = match.group(1).lower(), match.group(2)
        if name not in table:
            known = ", ".join(sorted(table)) or "none"
            raise VoiceMixError(f"voice {spec!r}: unknown voice name {name!r} (known in voices: {known})")
        shares.append((table[name], _percent(percent, spec)))
    return _finish(shares, spec)
