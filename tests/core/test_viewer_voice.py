"""Per-viewer voices: a stable mix per login, and which voice wins (core/viewer_voice.py)."""

from __future__ import annotations

import dataclasses
import subprocess
import sys

from core.settings import Settings
from core.viewer_voice import MIN_PERCENT, changed_voice_specs, default_pool, per_user_mix, resolve_voice
from core.voice_mix import parse_voice_mix

SETTINGS = Settings()
POOL = default_pool(SETTINGS)
PER_USER = dataclasses.replace(SETTINGS, voice_mode="per_user")


def test_default_pool_is_every_configured_voice_as_kokoro_ids() -> None:
    assert tuple(sorted(SETTINGS.voices.values())) == POOL
    picked = dataclasses.replace(SETTINGS, voice_pool=("heart", "af_bella", "heart", "bm_george"))
    assert default_pool(picked) == ("af_bella", "af_heart", "bm_george")


def test_a_mix_is_two_or_three_pool_voices_totalling_100() -> None:
    sizes = set()
    for n in range(300):
        shares = parse_voice_mix(per_user_mix(f"viewer{n}", POOL), SETTINGS.voices)
        sizes.add(len(shares))
        assert {s.voice_id for s in shares} <= set(POOL)
        assert round(sum(s.weight for s in shares), 6) == 1.0
        assert min(s.weight for s in shares) >= MIN_PERCENT / 100
    assert sizes == {2, 3}


def test_the_same_login_always_gets_the_same_mix_and_two_logins_differ() -> None:
    assert per_user_mix("alice", POOL) == per_user_mix("alice", POOL) == per_user_mix("@Alice ", POOL)
    assert per_user_mix("alice", POOL) != per_user_mix("bob", POOL)
    assert len({per_user_mix(f"viewer{n}", POOL) for n in range(200)}) > 150


def test_the_mix_is_the_same_in_another_process() -> None:
    """Python's hash() is salted per process; the mix must not be."""
    code = ("from core.viewer_voice import per_user_mix, default_pool; from core.settings import Settings; "
            "print(per_user_mix('alice', default_pool(Settings())))")
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "12345"})
    assert other.stdout.strip() == per_user_mix("alice", POOL)


def test_pool_order_does_not_matter_and_a_new_voice_moves_few_viewers() -> None:
    assert per_user_mix("alice", tuple(reversed(POOL))) == per_user_mix("alice", POOL)
    logins = [f"viewer{n}" for n in range(300)]
    bigger = (*POOL, "af_nicole")
    moved = sum(per_user_mix(login, POOL) != per_user_mix(login, bigger) for login in logins)
    assert moved < len(logins) * 0.6  # rendezvous hashing: only viewers whose top picks the new voice beats


def test_tiny_pools() -> None:
    assert per_user_mix("alice", ("af_heart",)) == "af_heart"
    assert {s.voice_id for s in parse_voice_mix(per_user_mix("alice", ("af_heart", "am_adam")), {})} == {
        "af_heart", "am_adam"}


def test_resolution_order() -> None:
    settings = dataclasses.replace(PER_USER, user_voices={"alice": "heart100"})
    assert resolve_voice("Alice", settings, chosen="bella") == "bella100"  # the viewer's !voice wins
    assert resolve_voice("Alice", settings) == "heart100"  # then user_voices
    assert resolve_voice("bob", settings) == per_user_mix("bob", POOL)  # then the per_user mix
    assert resolve_voice("bob", SETTINGS) == SETTINGS.voice  # single mode: the channel's voice
    assert resolve_voice("bob", SETTINGS, chosen="gone") == SETTINGS.voice  # a name no longer in voices


def test_changed_voice_specs_lists_what_a_live_edit_starts_using() -> None:
    new = dataclasses.replace(PER_USER, user_voices={"alice": "af_nicole", "bob": "heart100"})
    old = dataclasses.replace(SETTINGS, user_voices={"bob": "heart100"})
    specs = changed_voice_specs(old, new)
    assert ("user_voices.alice", "af_nicole") in specs
    assert all(key != "user_voices.bob" for key, _ in specs)  # unchanged
    assert {spec for key, spec in specs if key == "voice_pool"} == set(POOL)  # per_user just turned on
    assert changed_voice_specs(new, new) == []
