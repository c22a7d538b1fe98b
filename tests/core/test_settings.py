
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
        ({"voice": "af_heart", "voices": {"robot2": "am_adam"}}, "voices.robot2"),
        ({"voice": "af_heart", "voices": {"dj_x": "am_adam"}}, "voices.dj_x"),
        ({"voice": "af_heart", "voices": {"Zoë": "af_bella"}}, "voices.Zoë"),
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


def test_trigger_and_notification_sections() -> None:
    settings = build_settings({
        "triggers": {"mode": "Command", "command": "!say", "roles": ["VIP", "subscriber"],
                     "first_time_chatters": "yes"},
        "notifications": {"queue": "mentions", "min_raid_viewers": 10,
                          "templates": {"raid": "", "sub": "{user} subbed at {tier}"}},
    })
    assert settings.triggers.mode == "command" and settings.triggers.command == "!say"
    assert settings.triggers.roles == ("vip", "subscriber") and settings.triggers.first_time_chatters
    assert settings.notifications.queue.value == "mentions" and settings.notifications.min_raid_viewers == 10
    templates = settings.notifications.templates
    assert templates["raid"] == "" and templates["sub"] == "{user} subbed at {tier}"
    assert templates["resub"] == "{user} resubscribed for {months} months. {message}"  # the rest keep defaults
    assert build_settings({}).notifications.templates["announcement"] == ""


@pytest.mark.parametrize(("raw", "key"), [
    ({"triggers": {"mode": "everything"}}, "triggers.mode"),
    ({"triggers": {"roles": ["vip", "whale"]}}, "triggers.roles"),
    ({"triggers": {"command": "!t t"}}, "triggers.command"),
    ({"triggers": {"colour": "red"}}, "triggers.colour"),
    ({"notifications": {"queue": "both"}}, "notifications.queue"),
    ({"notifications": {"min_raid_viewers": -1}}, "notifications.min_raid_viewers"),
    ({"notifications": {"templates": {"raid": "{user} brings {raiders}"}}}, "notifications.templates.raid"),
    ({"notifications": {"templates": {"sub": "{0} subscribed"}}}, "notifications.templates.sub"),
    ({"notifications": {"templates": {"sub": "{user!r} subscribed"}}}, "notifications.templates.sub"),
    ({"notifications": {"templates": {"resub": "{user"}}}, "notifications.templates.resub"),
    ({"notifications": {"templates": {"follow": "{user} followed"}}}, "notifications.templates.follow"),
])
def test_bad_trigger_and_notification_settings_name_the_key(raw: dict, key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        build_settings(raw)
    assert caught.value.key == key
    if key == "notifications.templates.raid":
        assert "{raiders}" in caught.value.problem and "{viewers}" in caught.value.problem
