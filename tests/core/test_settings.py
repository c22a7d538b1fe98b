
import pytest

from core.settings import Settings, SettingsError, build_settings


def test_defaults_are_valid() -> None:
    assert build_settings({}) == Settings()


@pytest.mark.parametrize(
    ("raw", "key"),
    [
        ({"port": 0}, "port"),
        ({"port": "http"}, "port"),
        ({"speed": 5}, "speed"),
        ({"autoplay_cooldown": -1}, "autoplay_cooldown"),
        ({"device": "tpu"}, "device"),
        ({"lang_code": "xx"}, "lang_code"),
        ({"voice": "jared50"}, "voice"),
        ({"voice": "nobody100"}, "voice"),
        ({"voices": "am_adam"}, "voices"),
        ({"max_message_chars": 0}, "max_message_chars"),
        ({"banned_words_action": "shout"}, "banned_words_action"),
        ({"username_template": "{user}"}, "username_template"),
        ({"username_template": "{text} {channel}"}, "username_template"),
        ({"read_username_bits": "maybe"}, "read_username_bits"),
        ({"ignored_users": 5}, "ignored_users"),
        ({"usernme": "typo"}, "usernme"),
        ({"twitch": {"client_idd": "x"}}, "twitch.client_idd"),
        ({"twitch": "nope"}, "twitch"),
        ({"bits_min": 0}, "bits_min"),
        ({"username": "@"}, "username"),
        ({"voice_mode": "everyone"}, "voice_mode"),
        ({"voice_pool": ["jared", "nobody"]}, "voice_pool"),
        ({"user_voices": {"alice": "nobody100"}}, "user_voices.alice"),
        ({"user_voices": ["alice"]}, "user_voices"),
        ({"viewer_voice_command": "sometimes"}, "viewer_voice_command"),
        ({"voice_command_cooldown": -1}, "voice_command_cooldown"),
        ({"nicknames": {"bob": ""}}, "nicknames.bob"),
        ({"nicknames": {"bob": "[x](/y/)"}}, "nicknames.bob"),
        ({"pronunciations": {"gg": "good/game"}}, "pronunciations.gg"),
        ({"pronunciations": {"gg": "[gg](/x/)"}}, "pronunciations.gg"),
        ({"name_repeat_after": "soon"}, "name_repeat_after"),
    ],
)
def test_invalid_values_name_the_key(raw: dict, key: str) -> None:
    with pytest.raises(SettingsError) as error:
        build_settings(raw)
    assert error.value.key == key
    assert key in str(error.value)


def test_viewer_voice_and_name_keys() -> None:
    settings = build_settings({
        "voice_mode": "PER_USER", "voice_pool": ["Jared", "af_nicole"], "user_voices": {"@Alice": "heart100"},
        "viewer_voice_command": "on", "voice_command_cooldown": 10, "nicknames": {"XX_Sn1p3r": "Snipey"},
        "pronunciations": {"Kokoro": "/kˈOkəɹO/", "gg": "good game"}, "name_repeat_after": 90,
    })
    assert settings.voice_mode == "per_user" and settings.voice_pool == ("jared", "af_nicole")
    assert settings.user_voices == {"alice": "heart100"} and settings.viewer_voice_command is True
    assert settings.nicknames == {"xx_sn1p3r": "Snipey"}
    assert settings.pronunciations == {"kokoro": "/kˈOkəɹO/", "gg": "good game"}
    assert settings.voice_command_cooldown == 10.0 and settings.name_repeat_after == 90.0
    defaults = Settings()
    assert (defaults.voice_mode, defaults.viewer_voice_command, defaults.user_voices) == ("single", False, {})
