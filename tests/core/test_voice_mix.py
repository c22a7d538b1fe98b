import re

import pytest

from core.voice_mix import VoiceMixError, VoiceShare, parse_voice_mix

VOICES = {"jared": "am_adam", "lex": "am_eric", "martha": "am_michael", "Heart": "af_heart"}


def test_friendly_mix() -> None:
    assert parse_voice_mix("jared50_lex30_martha20", VOICES) == (
        VoiceShare("am_adam", 0.5), VoiceShare("am_eric", 0.3), VoiceShare("am_michael", 0.2))


def test_names_are_case_insensitive_and_repeats_merge() -> None:
    assert parse_voice_mix("JARED50_heart25_jared25", VOICES) == (
        VoiceShare("am_adam", 0.75), VoiceShare("af_heart", 0.25))


def test_single_raw_kokoro_id_and_raw_mix() -> None:
    assert parse_voice_mix("af_bella", VOICES) == (VoiceShare("af_bella", 1.0),)
    assert parse_voice_mix("af_heart:60+am_adam:40", VOICES) == (
        VoiceShare("af_heart", 0.6), VoiceShare("am_adam", 0.4))


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("", "empty"),
        ("jared50_lex30", "add up to 80"),
        ("jared50_lex30_martha30", "add up to 110"),
        ("bob100", "unknown voice name 'bob'"),
        ("jared_lex100", "'jared' needs a percentage"),
        ("jared0_lex100", "outside 1..100"),
        ("jared-50_lex50", "is not NAME+PERCENT"),
        ("af_heart:60+am_adam", "KOKORO_ID:PERCENT"),
        ("af_heart:60+bogus:40", "KOKORO_ID:PERCENT"),
        ("af_heart:70+am_adam:20", "add up to 90"),
        ("jared150", "outside 1..100"),
    ],
)
def test_bad_specs_say_why(spec: str, message: str) -> None:
    with pytest.raises(VoiceMixError, match=re.escape(message)):
        parse_voice_mix(spec, VOICES)
