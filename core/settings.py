"""Typed, validated settings. ``build_settings`` is pure; ``load_settings`` reads settings.yaml via dynaconf.

Every key is validated once here, so the rest of the code can trust a ``Settings`` object. A bad value
raises ``SettingsError`` naming the key; the CLI prints it and exits non-zero, the live reloader logs it
and keeps the previous settings.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.voice_mix import VoiceMixError, parse_voice_mix

ENV_PREFIX = "STREAMVOICE"
DEFAULT_VOICES: dict[str, str] = {
    "jared": "am_adam",
    "lex": "am_eric",
    "martha": "am_michael",
    "heart": "af_heart",
    "bella": "af_bella",
    "emma": "bf_emma",
    "george": "bm_george",
}
DEFAULT_IGNORED_USERS: tuple[str, ...] = (
    "nightbot", "streamelements", "streamlabs", "moobot", "fossabot", "soundalerts",
)


class SettingsError(ValueError):
    """One invalid setting; ``key`` is the dotted settings key."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"invalid setting {key!r}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class TwitchSettings:
    """Credentials for the twitchio bot; the bot runs only when ``enabled`` is true."""

    client_id: str = ""
    client_secret: str = ""
    bot_id: str = ""
    channel: str = ""
    owner_id: str = ""
    #: The App counts as online while its WebSocket is open or it sent HTTP within this many seconds.
    app_online_window: float = 30.0
    #: Optional redirect for the OAuth flow served by our server (default http://localhost:<port>/twitch/oauth/callback).
    redirect_uri: str = ""
    #: Where the bot's Twitch tokens are kept (default: twitch_tokens.json next to the SQLite database).
    token_file: str = ""

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret and self.bot_id and self.channel)


@dataclass(frozen=True, slots=True)
class Settings:
    username: str = "streamer"
    autoplay_cooldown: float = 2.0
    voice: str = "jared50_lex30_martha20"
    voices: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_VOICES))
    speed: float = 1.0
    lang_code: str = "a"
    device: str = "auto"
    model_dir: str = ""
    audio_dir: str = "data/audio"
    database_url: str = "sqlite:///data/streamvoice.db"
    host: str = "127.0.0.1"
    port: int = 8765
    api_token: str = ""
    mentions_max_audio_mb: float = 200.0
    max_message_chars: int = 300
    max_input_chars: int = 2000
    playback_grace: float = 5.0
    # what gets spoken
    read_username_mentions: bool = False
    read_username_bits: bool = True
    username_template: str = "{user} says: {text}"
    ignored_users: tuple[str, ...] = DEFAULT_IGNORED_USERS
    ignored_prefixes: tuple[str, ...] = ("!",)
    banned_words: tuple[str, ...] = ()
    banned_words_action: str = "skip"
    bits_min: int = 1
    per_user_cooldown: float = 0.0
    emotes: tuple[str, ...] = ()
    twitch: TwitchSettings = field(default_factory=TwitchSettings)

    @property
    def mentions_max_audio_bytes(self) -> int:
        return int(self.mentions_max_audio_mb * 1024 * 1024)


_LANG_CODES = frozenset("abefhipjz")
_DEVICES = frozenset({"auto", "cpu", "cuda", "mps"})


def _number(key: str, value: Any, *, kind: type, low: float | None = None, high: float | None = None) -> Any:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        if isinstance(value, str):
            try:
                value = kind(value)
            except ValueError:
                raise SettingsError(key, f"expected a number, got {value!r}") from None
        else:
            raise SettingsError(key, f"expected a number, got {value!r}")
    if kind is int and isinstance(value, float):
        if not value.is_integer():
            raise SettingsError(key, f"expected a whole number, got {value!r}")
        value = int(value)
    value = kind(value)
    if low is not None and value < low:
        raise SettingsError(key, f"must be at least {low}, got {value}")
    if high is not None and value > high:
        raise SettingsError(key, f"must be at most {high}, got {value}")
    return value


def _text(key: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise SettingsError(key, f"expected text, got {value!r}")
    return value.strip()


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no", "on", "off", "1", "0"}:
        return value.lower() in {"true", "yes", "on", "1"}
    raise SettingsError(key, f"expected true or false, got {value!r}")


def _words(key: str, value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        value = [w for w in value.split(",")]
    if not isinstance(value, (list, tuple)):
        raise SettingsError(key, f"expected a list, got {value!r}")
    words = []
    for item in value:
        if not isinstance(item, (str, int)) or isinstance(item, bool):
            raise SettingsError(key, f"expected a list of words, got item {item!r}")
        if str(item).strip():
            words.append(str(item).strip())
    return tuple(words)


def _twitch(raw: Any, current: TwitchSettings) -> TwitchSettings:
    if raw is None:
        return current
    if not isinstance(raw, Mapping):
        raise SettingsError("twitch", f"expected a mapping, got {raw!r}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).lower()
        dotted = f"twitch.{name}"
        if name == "app_online_window":
            values[name] = _number(dotted, value, kind=float, low=0)
        elif name in {f.name for f in dataclasses.fields(TwitchSettings)}:
            values[name] = _text(dotted, value)
        else:
            raise SettingsError(dotted, "unknown key")
    return dataclasses.replace(current, **values)


def build_settings(raw: Mapping[str, Any], base: Settings | None = None) -> Settings:
    """Validate a plain mapping (keys case-insensitive) into ``Settings``; unknown keys are refused."""
    settings = base or Settings()
    values: dict[str, Any] = {}
    known = {f.name for f in dataclasses.fields(Settings)}
    lowered = {str(k).lower(): v for k, v in raw.items()}
    for key, value in lowered.items():
        if key not in known:
            raise SettingsError(key, "unknown key (check the spelling against settings.yaml)")
        if key in {"autoplay_cooldown", "per_user_cooldown", "playback_grace"}:
            values[key] = _number(key, value, kind=float, low=0, high=3600)
        elif key == "speed":
            values[key] = _number(key, value, kind=float, low=0.5, high=2.0)
        elif key == "port":
            values[key] = _number(key, value, kind=int, low=1, high=65535)
        elif key == "mentions_max_audio_mb":
            values[key] = _number(key, value, kind=float, low=0.001)
        elif key in {"max_message_chars", "max_input_chars"}:
            values[key] = _number(key, value, kind=int, low=1, high=100_000)
        elif key == "bits_min":
            values[key] = _number(key, value, kind=int, low=1)
        elif key in {"read_username_mentions", "read_username_bits"}:
            values[key] = _flag(key, value)
        elif key in {"ignored_users", "ignored_prefixes", "banned_words", "emotes"}:
            values[key] = _words(key, value)
        elif key == "voices":
            if not isinstance(value, Mapping):
                raise SettingsError(key, f"expected a mapping of name: kokoro_voice_id, got {value!r}")
            values[key] = {str(k).lower(): _text(f"voices.{k}", v) for k, v in value.items()}
        elif key == "twitch":
            values[key] = _twitch(value, settings.twitch)
        else:
            values[key] = _text(key, value)
    settings = dataclasses.replace(settings, **values)
    _check(settings)
    return settings


def _check(settings: Settings) -> None:
    if not settings.username.lstrip("@"):
        raise SettingsError("username", "set it to the streamer's Twitch login")
    if settings.lang_code.lower() not in _LANG_CODES:
        raise SettingsError("lang_code", f"must be one of {', '.join(sorted(_LANG_CODES))}")
    if settings.device.lower() not in _DEVICES:
        raise SettingsError("device", f"must be one of {', '.join(sorted(_DEVICES))}")
    if settings.banned_words_action not in {"skip", "replace"}:
        raise SettingsError("banned_words_action", "must be 'skip' or 'replace'")
    if "{text}" not in settings.username_template:
        raise SettingsError("username_template", "must contain {text}")
    try:
        settings.username_template.format(user="u", text="t")
    except (KeyError, IndexError, ValueError) as exc:
        raise SettingsError("username_template", f"only {{user}} and {{text}} may be used ({exc})") from None
    if not settings.database_url:
        raise SettingsError("database_url", "must not be empty")
    if not settings.audio_dir:
        raise SettingsError("audio_dir", "must not be empty")
    try:
        parse_voice_mix(settings.voice, settings.voices)
    except VoiceMixError as exc:
        raise SettingsError("voice", str(exc)) from None


def load_settings(path: str | Path | None = None) -> Settings:
    """Read ``path`` (default ./settings.yaml when present) with STREAMVOICE_* environment overrides."""
    from dynaconf import Dynaconf

    files = []
    if path is not None:
        if not Path(path).is_file():
            raise SettingsError("settings", f"settings file {str(path)!r} does not exist")
        files.append(str(path))
    elif Path("settings.yaml").is_file():
        files.append("settings.yaml")
    loaded = Dynaconf(
        settings_files=files,
        envvar_prefix=ENV_PREFIX,
        environments=False,
        core_loaders=["YAML"],
    )
    raw = {k.lower(): _plain(v) for k, v in loaded.as_dict().items() if not k.endswith("_FOR_DYNACONF")}
    return build_settings(raw)


def _plain(value: Any) -> Any:
    """dynaconf hands back its own Box types; turn them into plain dicts/lists."""
    if isinstance(value, Mapping):
        return {str(k).lower(): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value
