"""The settings that let a game keep its cores: ``cpu_priority`` and ``cpu_threads``."""

from pathlib import Path

import pytest

from core.settings import Settings, SettingsError, build_settings
from service.settings_file import load_settings

REPO = Path(__file__).resolve().parents[2]


def test_defaults_favour_the_game_and_the_shipped_yaml_says_so() -> None:
    assert (Settings().cpu_priority, Settings().cpu_threads) == ("low", 0)
    shipped = load_settings(REPO / "settings.yaml")
    assert (shipped.cpu_priority, shipped.cpu_threads) == ("low", 0)  # cpu_threads: auto


@pytest.mark.parametrize(("raw", "expected"), [
    ({"cpu_priority": "normal"}, ("normal", 0)),
    ({"cpu_priority": "LOW", "cpu_threads": "auto"}, ("low", 0)),
    ({"cpu_threads": 1}, ("low", 1)),
    ({"cpu_threads": "3"}, ("low", 3)),
])
def test_valid_values(raw: dict, expected: tuple[str, int]) -> None:
    settings = build_settings(raw)
    assert (settings.cpu_priority, settings.cpu_threads) == expected


@pytest.mark.parametrize(("raw", "key"), [
    ({"cpu_priority": "idle"}, "cpu_priority"),
    ({"cpu_priority": 5}, "cpu_priority"),
    ({"cpu_threads": 0}, "cpu_threads"),
    ({"cpu_threads": -2}, "cpu_threads"),
    ({"cpu_threads": "many"}, "cpu_threads"),
    ({"cpu_threads": 1.5}, "cpu_threads"),
    ({"cpu_threads": True}, "cpu_threads"),
    ({"cpu_threads": 1000}, "cpu_threads"),
])
def test_an_unknown_value_is_rejected_naming_the_key(raw: dict, key: str) -> None:
    with pytest.raises(SettingsError) as error:
        build_settings(raw)
    assert error.value.key == key and key in str(error.value)
