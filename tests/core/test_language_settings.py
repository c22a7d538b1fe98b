"""The ``languages:`` settings section and per-language pronunciations."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.language_settings import LanguageSettings, missing_for_offline
from core.settings import SettingsError, build_settings
from service.settings_file import load_settings


def test_settings_yaml_section_is_the_documented_default() -> None:
    loaded = load_settings(Path(__file__).parents[2] / "settings.yaml").languages
    assert loaded == LanguageSettings()
    assert loaded.enabled == ("a", "e", "f", "i", "p") and loaded.sticky_after == 2 and not loaded.detect
    assert loaded.voices["e"] == "ef_dora" and loaded.username_templates["f"] == "{user} dit : {text}"


def test_a_full_section_is_read() -> None:
    languages = build_settings({"languages": {
        "detect": "true", "enabled": "a,e", "voices": {"e": "EM_alex"}, "sticky_after": 3,
        "user_languages": {"@Ana": "E"}, "viewer_command": True, "username_templates": {"e": "{user}: {text}"},
    }}).languages
    assert languages.detect and languages.viewer_command
    assert languages.enabled == ("a", "e") and languages.voices == {"e": "em_alex"}
    assert languages.user_languages == {"ana": "e"} and languages.sticky_after == 3


@pytest.mark.parametrize(("raw", "key"), [
    ({"enabled": ["a", "xx"]}, "languages.enabled"),
    ({"enabled": []}, "languages.enabled"),
    ({"voices": {"q": "qf_x"}}, "languages.voices.q"),
    ({"voices": {"e": "af_heart"}}, "languages.voices.e"),      # a voice of another language
    ({"voices": {"e": "dora"}}, "languages.voices.e"),
    ({"user_languages": {"bob": "klingon"}}, "languages.user_languages.bob"),
    ({"username_templates": {"e": "{user} dice"}}, "languages.username_templates.e"),
    ({"username_templates": {"e": "{who}: {text}"}}, "languages.username_templates.e"),
    ({"sticky_after": 0}, "languages.sticky_after"),
    ({"detect": "maybe"}, "languages.detect"),
    ({"colour": "red"}, "languages.colour"),
    ({"enabled": ["a", "h"], "voices": {"e": "ef_dora"}}, "languages.voices"),  # Hindi without a voice
])
def test_bad_values_name_the_key(raw: dict[str, object], key: str) -> None:
    with pytest.raises(SettingsError) as caught:
        build_settings({"languages": raw})
    assert caught.value.key == key


@pytest.mark.parametrize("code", ["j", "z"])
def test_japanese_and_chinese_need_their_offline_packages(code: str) -> None:
    install = missing_for_offline(code)
    if install is None:
        assert code in build_settings({"languages": {"enabled": ["a", code]}}).languages.enabled
        return
    with pytest.raises(SettingsError) as caught:
        build_settings({"languages": {"enabled": ["a", code]}})
    assert caught.value.key == "languages.enabled"
    assert "pip install" in str(caught.value) and "\n" not in str(caught.value)
    assert "unidic-lite" in install if code == "j" else "misaki[zh]" in install


@pytest.mark.parametrize("code", ["j", "z"])
def test_a_japanese_or_chinese_channel_language_needs_them_too(code: str) -> None:
    install = missing_for_offline(code)
    if install is None:
        assert build_settings({"lang_code": code}).lang_code == code
        return
    with pytest.raises(SettingsError) as caught:
        build_settings({"lang_code": code})
    assert caught.value.key == "lang_code" and install in str(caught.value)


def test_per_language_pronunciations_sit_next_to_the_flat_english_table() -> None:
    settings = build_settings({"pronunciations": {"gg": "good game", "kokoro": "/kˈOkəɹO/",
                                                  "e": {"GG": "buena partida"}, "f": {"gg": "bien joué"}}})
    assert settings.pronunciations == {"gg": "good game", "kokoro": "/kˈOkəɹO/"}
    assert settings.languages.pronunciations == {"e": {"gg": "buena partida"}, "f": {"gg": "bien joué"}}
    with pytest.raises(SettingsError) as caught:
        build_settings({"pronunciations": {"e": {"hola": "/ola/"}}})
    assert caught.value.key == "pronunciations.e.hola"
    with pytest.raises(SettingsError) as caught:
        build_settings({"pronunciations": {"x": {"hola": "ola"}}})
    assert caught.value.key == "pronunciations.x"
