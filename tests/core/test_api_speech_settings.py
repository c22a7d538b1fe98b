"""The OpenAI-compatible API's two settings are validated like every other key."""

from __future__ import annotations

import pytest

from core.settings import SettingsError, build_settings


def test_defaults_and_values() -> None:
    assert (build_settings({}).api_speech_concurrency, build_settings({}).api_speech_queue) == (1, 8)
    settings = build_settings({"api_speech_concurrency": "2", "API_SPEECH_QUEUE": 0})
    assert (settings.api_speech_concurrency, settings.api_speech_queue) == (2, 0)


@pytest.mark.parametrize(("key", "value"), [
    ("api_speech_concurrency", 0), ("api_speech_concurrency", 9), ("api_speech_concurrency", 1.5),
    ("api_speech_queue", -1), ("api_speech_queue", 1001), ("api_speech_queue", "many"),
])
def test_bad_values_name_the_key(key: str, value: object) -> None:
    with pytest.raises(SettingsError) as raised:
        build_settings({key: value})
    assert raised.value.key == key
