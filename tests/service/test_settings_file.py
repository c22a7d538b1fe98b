"""settings.yaml and the environment, read from disk (``service.settings_file``)."""

from pathlib import Path

import pytest

from core.settings import SettingsError
from service.settings_file import load_settings

REPO = Path(__file__).resolve().parents[2]


def test_defaults_are_valid_and_the_shipped_yaml_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped = load_settings(REPO / "settings.yaml")
    assert shipped.voice == "jared50_lex30_martha20" and shipped.voices["martha"] == "am_michael"
    assert shipped.mentions_max_audio_bytes == 200 * 1024 * 1024
    assert shipped.database_url.startswith("sqlite:///") and shipped.device == "auto"


def test_environment_overrides_the_file(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("username: alice\nport: 9000\n")
    monkeypatch.setenv("STREAMVOICE_PORT", "9100")
    monkeypatch.setenv("STREAMVOICE_TWITCH__CHANNEL", "alice")
    loaded = load_settings(path)
    assert loaded.username == "alice" and loaded.port == 9100 and loaded.twitch.channel == "alice"


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError) as error:
        load_settings(tmp_path / "nope.yaml")
    assert error.value.key == "settings"
