"""pydantic's errors come out as one plain line naming the dotted key, like the hand-written ones before."""

import pytest

from core.settings import SettingsError, build_settings


@pytest.mark.parametrize(("raw", "key", "problem"), [
    ({"port": 0}, "port", "must be at least 1, got 0"),
    ({"speed": 5}, "speed", "must be at most 2.0, got 5"),
    ({"port": True}, "port", "expected a number, got True"),
    ({"port": "http"}, "port", "expected a number, got 'http'"),
    ({"bits_min": 1.5}, "bits_min", "expected a whole number, got 1.5"),
    ({"usernme": "x"}, "usernme", "unknown key (check the spelling against settings.yaml)"),
    ({"twitch": {"client_idd": "x"}}, "twitch.client_idd", "unknown key"),
    ({"twitch": "nope"}, "twitch", "expected a mapping, got 'nope'"),
    ({"channel_points": {"title": ""}}, "channel_points.title", "must be at least 1 character"),
    ({"channel_points": {"prompt": "p" * 201}}, "channel_points.prompt", "must be at most 200 characters"),
    ({"channel_points": {"queue": "both"}}, "channel_points.queue", "must be one of bits, mentions"),
    ({"notifications": {"queue": "both"}}, "notifications.queue", "must be 'mentions' or 'bits'"),
    ({"device": "tpu"}, "device", "must be one of auto, cpu, cuda, mps"),
    ({"mod_commands": {"skip": "go", "pause": "go"}}, "mod_commands", "two actions use the same word"),
    ({"mod_commands": {"zap": "z"}}, "mod_commands.zap", "unknown action (known: pause, remove, resume, skip)"),
    ({"languages": {"sticky_after": 101}}, "languages.sticky_after", "must be at most 100, got 101"),
    ({"languages": {"colour": "red"}}, "languages.colour", "unknown key"),
])
def test_a_bad_value_is_one_plain_line(raw: dict, key: str, problem: str) -> None:
    with pytest.raises(SettingsError) as caught:
        build_settings(raw)
    assert (caught.value.key, caught.value.problem) == (key, problem)
    assert str(caught.value) == f"invalid setting {key!r}: {problem}"


def test_keys_are_read_in_any_case_and_an_empty_section_keeps_its_defaults() -> None:
    settings = build_settings({"PORT": "9000", "Triggers": {"MODE": "All"}, "twitch": None, "channel_points": None,
                               "fused_vocoder": False, "read_username_bits": "off", "ignored_users": "a, b,,"})
    assert settings.port == 9000 and settings.triggers.mode == "all"
    assert settings.twitch == build_settings({}).twitch and settings.channel_points.cost == 300
    assert settings.fused_vocoder == "off" and settings.read_username_bits is False
    assert settings.ignored_users == ("a", "b")
