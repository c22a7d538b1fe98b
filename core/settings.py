"""Typed, validated settings. ``build_settings`` is pure; ``service.settings_file`` reads settings.yaml.

Every key is validated once here, so the rest of the code can trust a ``Settings`` object. A bad value
raises ``SettingsError`` naming the key; the CLI prints it and exits non-zero, the live reloader logs it
and keeps the previous settings.
"""

from __future__ import annotations

import dataclasses
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.chat import QueueName
from core.language_settings import (
    LanguageSettings,
    LanguageSettingsError,
    check_languages,
    parse_languages,
    with_pronunciations,
)
from core.logins import login_key
from core.moderation import CommandWords, ModAction
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


# --- trigger rules and chat notifications (validated in ``_triggers`` / ``_notifications`` below) --------------

#: Roles a ``triggers.roles`` entry may name (Twitch chat badges; see ``core.triggers.roles_of``).
TRIGGER_ROLES: tuple[str, ...] = ("broadcaster", "moderator", "vip", "subscriber", "founder", "artist")
TRIGGER_MODES: tuple[str, ...] = ("mention", "command", "all")
#: What a notification template may say: the same names for every notice type ("" where a notice has none).
TEMPLATE_PLACEHOLDERS: tuple[str, ...] = ("user", "months", "message", "recipient", "count", "viewers", "tier")
DEFAULT_TEMPLATES: dict[str, str] = {
    "resub": "{user} resubscribed for {months} months. {message}",
    "sub": "{user} subscribed",
    "sub_gift": "{user} gifted a sub to {recipient}",
    "community_sub_gift": "{user} gifted {count} subs",
    "raid": "{user} is raiding with {viewers} viewers",
    "announcement": "",
}


@dataclass(frozen=True, slots=True)
class TriggerSettings:
    """Which chat lines (the bot's and the App's ``Message``) are read: see ``core.triggers``."""

    #: mention (a line must @mention the streamer), command (``!tts <text>``) or all (every line).
    mode: str = "mention"
    command: str = "!tts"
    #: Empty: everyone; else only chatters with one of these roles.
    roles: tuple[str, ...] = ()
    #: Also read a viewer's first message in the channel, whatever the mode and roles.
    first_time_chatters: bool = False


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """Twitch chat notices (subs, resubs, gifts, raids) read aloud: see ``core.notifications``."""

    queue: QueueName = QueueName.BITS
    #: A raid with fewer viewers than this is not read.
    min_raid_viewers: int = 0
    #: Notice type -> template ("" = not read).
    templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
# --- channel points: the channel-point TTS reward (bot/channel_points.py, docs/twitch.md) ------------------
@dataclass(frozen=True, slots=True)
class ChannelPointsSettings:
    """The reward StreamVoice creates and manages on Twitch. ``enabled`` and ``reward_id`` take effect at a restart;
    title, cost, prompt, limits, ``queue`` and ``pause_with_tts`` apply live (the reward is updated on Twitch)."""

    enabled: bool = False
    title: str = "Text to speech"
    cost: int = 300
    prompt: str = "Your message is read aloud on stream"
    #: The queue redemptions join: ``bits`` (never dropped) or ``mentions``.
    queue: str = "bits"
    #: Seconds between two redemptions by anyone; 0 = none.
    global_cooldown: int = 0
    #: Redemptions per viewer per stream; 0 = no limit.
    max_per_user_per_stream: int = 0
    #: Pause the reward on Twitch while TTS is paused.
    pause_with_tts: bool = True
    #: Fallback without ``channel:manage:redemptions``: chat lines redeeming this reward id are read (no refunds).
    reward_id: str = ""

    @property
    def reward_fields(self) -> tuple[str, int, str, int, int]:
        """What the reward on Twitch is made of (an edit of any of these updates it)."""
        return (self.title, self.cost, self.prompt, self.global_cooldown, self.max_per_user_per_stream)


_CHANNEL_POINT_QUEUES = frozenset({"bits", "mentions"})


def _channel_points(raw: Any, current: ChannelPointsSettings) -> ChannelPointsSettings:
    """Validate the ``channel_points:`` section (limits as Twitch enforces them), naming the key at fault."""
    if raw is None:
        return current
    if not isinstance(raw, Mapping):
        raise SettingsError("channel_points", f"expected a mapping, got {raw!r}")
    values: dict[str, Any] = {}
    for key, value in raw.items():
        name = str(key).lower()
        dotted = f"channel_points.{name}"
        if name in {"enabled", "pause_with_tts"}:
            values[name] = _flag(dotted, value)
        elif name == "cost":
            values[name] = _number(dotted, value, kind=int, low=1)
        elif name == "global_cooldown":
            values[name] = _number(dotted, value, kind=int, low=0, high=604_800)
        elif name == "max_per_user_per_stream":
            values[name] = _number(dotted, value, kind=int, low=0)
        elif name == "title":
            values[name] = _text(dotted, value)
            if not 1 <= len(values[name]) <= 45:
                raise SettingsError(dotted, "must be 1 to 45 characters (Twitch's limit)")
        elif name == "prompt":
            values[name] = _text(dotted, value)
            if len(values[name]) > 200:
                raise SettingsError(dotted, "must be at most 200 characters (Twitch's limit)")
        elif name == "queue":
            values[name] = _text(dotted, value).lower()
            if values[name] not in _CHANNEL_POINT_QUEUES:
                raise SettingsError(dotted, f"must be bits or mentions, got {value!r}")
        elif name == "reward_id":
            values[name] = _text(dotted, value)
        else:
            raise SettingsError(dotted, "unknown key")
    return dataclasses.replace(current, **values)


@dataclass(frozen=True, slots=True)
class Settings:
    username: str = "streamer"
    autoplay_cooldown: float = 2.0
    voice: str = "jared50_lex30_martha20"
    voices: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_VOICES))
    speed: float = 1.0
    lang_code: str = "a"
    device: str = "auto"
    #: Model compute precision: auto (bf16 on a CPU with native bf16, else fp32), fp32 or bf16.
    precision: str = "auto"
    #: The vocoder's AdaIN + Snake chains in one compiled CPU kernel: auto/on (when a C compiler builds it) or off.
    fused_vocoder: str = "auto"
    # --- sharing the PC with a game (tts/cpu_priority.py, docs/operations.md) ---
    #: low: render threads at a lower OS priority while the queue is ahead of playback (the next item to play
    #: renders at normal priority); normal: every render at normal priority.
    cpu_priority: str = "low"
    #: Most CPU threads one render uses (and lanes on CPU); 0 = auto (every core torch sees).
    cpu_threads: int = 0
    model_dir: str = ""
    audio_dir: str = "data/audio"
    database_url: str = "sqlite:///data/streamvoice.db"
    host: str = "127.0.0.1"
    port: int = 8765
    api_token: str = ""
    #: Browser origins besides the server's own that may call the API (an App that is a web page).
    allowed_origins: tuple[str, ...] = ()
    #: Host names besides the bound address (and loopback names) the server answers for (DNS rebinding guard).
    allowed_hosts: tuple[str, ...] = ()
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
    # a voice for every viewer, names that sound right (core/viewer_voice.py, core/spoken_names.py)
    voice_mode: str = "single"
    #: per_user mixes draw from these (friendly names or Kokoro ids); empty: every voice in ``voices``.
    voice_pool: tuple[str, ...] = ()
    user_voices: Mapping[str, str] = field(default_factory=dict)
    viewer_voice_command: bool = False
    voice_command_cooldown: float = 60.0
    nicknames: Mapping[str, str] = field(default_factory=dict)
    pronunciations: Mapping[str, str] = field(default_factory=dict)
    #: 0: a chatter's name is read only when the speaker changes; > 0: also when this long has passed.
    name_repeat_after: float = 0.0
    # moderation (core/moderation.py)
    #: A mention may play only this many seconds after it arrived (mods can remove it first); 0: at once.
    hold_seconds: float = 0.0
    #: Cheers wait for a moderator's approve/reject before they may play.
    bits_need_approval: bool = False
    #: A mention older than this when its turn comes is dropped (reason stale); 0: never. Cheers never.
    mentions_max_age: float = 0.0
    #: The chat command moderators use (``!tts skip``...), and its words.
    mod_command: str = "tts"
    mod_commands: CommandWords = field(default_factory=CommandWords)
    twitch: TwitchSettings = field(default_factory=TwitchSettings)
    triggers: TriggerSettings = field(default_factory=TriggerSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    channel_points: ChannelPointsSettings = field(default_factory=ChannelPointsSettings)
    # the OpenAI-compatible speech API (POST /v1/audio/speech; chat always comes first)
    #: Requests rendered at the same time (1-8).
    api_speech_concurrency: int = 1
    #: Requests waiting for their turn beyond those; more are answered 429 with Retry-After (0-1000).
    api_speech_queue: int = 8
    #: Each line spoken in its own language (core/language.py, core/language_settings.py, docs/languages.md).
    languages: LanguageSettings = field(default_factory=LanguageSettings)

    @property
    def mentions_max_audio_bytes(self) -> int:
        return int(self.mentions_max_audio_mb * 1024 * 1024)


_LANG_CODES = frozenset("abefhipjz")
#: The OpenAI-compatible speech API's limits: key -> (lowest, highest).
_API_SPEECH_LIMITS = {"api_speech_concurrency": (1, 8), "api_speech_queue": (0, 1000)}
_DEVICES = frozenset({"auto", "cpu", "cuda", "mps"})
_PRECISIONS = frozenset({"auto", "fp32", "bf16"})
_FUSED_VOCODER = frozenset({"auto", "on", "off"})
_CPU_PRIORITIES = ("low", "normal")


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


def _edge_list(key: str, value: Any) -> tuple[str, ...]:
    """``allowed_origins`` (``scheme://host[:port]``) or ``allowed_hosts`` (bare names), lower-cased."""
    entries = tuple(w.lower().rstrip("/") for w in _words(key, value))
    for entry in entries:
        if key == "allowed_origins" and entry == "null":  # refused, not warned about: safe by default
            raise SettingsError(key, "'null' is the origin of every sandboxed iframe and file:// page on any "
                                     "site: listing it would let all of them drive the API; serve the App from "
                                     "an http(s) origin and list that instead")
        if key == "allowed_origins" and not re.fullmatch(r"https?://[^/\s]+", entry):
            raise SettingsError(key, f"{entry!r} is not an origin like https://app.example.com or http://host:port")
        if key == "allowed_hosts" and not re.fullmatch(r"\*|[^/:\s]+", entry):
            raise SettingsError(key, f"{entry!r} is not a host name (no scheme, port or path)")
    return entries


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
    per_language: dict[str, Any] = {}
    if isinstance(lowered.get("pronunciations"), Mapping):  # ``{e: {word: ...}}`` next to the flat English form
        per_language = {k: v for k, v in lowered["pronunciations"].items() if isinstance(v, Mapping)}
        lowered["pronunciations"] = {k: v for k, v in lowered["pronunciations"].items() if k not in per_language}
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
        elif key in {"allowed_origins", "allowed_hosts"}:
            values[key] = _edge_list(key, value)
        elif key in {"ignored_users", "ignored_prefixes", "banned_words", "emotes"}:
            values[key] = _words(key, value)
        elif key == "voices":
            if not isinstance(value, Mapping):
                raise SettingsError(key, f"expected a mapping of name: kokoro_voice_id, got {value!r}")
            values[key] = {_voice_name(k): _text(f"voices.{k}", v) for k, v in value.items()}
        elif key in _VOICE_KEYS:
            values[key] = _voice_setting(key, value)
        elif key in _MODERATION_KEYS:
            values[key] = _moderation_setting(key, value)
        elif key == "twitch":
            values[key] = _twitch(value, settings.twitch)
        elif key == "triggers":
            values[key] = _triggers(value, settings.triggers)
        elif key == "notifications":
            values[key] = _notifications(value, settings.notifications)
        elif key == "channel_points":
            values[key] = _channel_points(value, settings.channel_points)
        elif key in _API_SPEECH_LIMITS:
            low, high = _API_SPEECH_LIMITS[key]
            values[key] = _number(key, value, kind=int, low=low, high=high)
        elif key == "languages":
            values[key] = _languages(value, settings.languages)
        elif key in {"cpu_priority", "cpu_threads"}:
            values[key] = _cpu_setting(key, value)
        elif key == "fused_vocoder" and isinstance(value, bool):  # YAML reads a bare on/off as a boolean
            values[key] = "on" if value else "off"
        else:
            values[key] = _text(key, value)
    if per_language or "pronunciations" in lowered:
        languages = values.get("languages", settings.languages)
        values["languages"] = _languages(None, languages, per_language)
    settings = dataclasses.replace(settings, **values)
    _check(settings)
    return settings


def _languages(raw: Any, current: LanguageSettings, pronunciations: Mapping[str, Any] | None = None
               ) -> LanguageSettings:
    try:
        languages = parse_languages(raw, current)
        return languages if pronunciations is None else with_pronunciations(languages, pronunciations)
    except LanguageSettingsError as exc:
        raise SettingsError(exc.key, exc.problem) from None
def _cpu_setting(key: str, value: Any) -> Any:
    """``cpu_priority``: low or normal; ``cpu_threads``: auto (stored as 0) or a whole number 1-256."""
    if key == "cpu_priority":
        text = _text(key, value).strip().lower()
        if text not in _CPU_PRIORITIES:
            raise SettingsError(key, f"must be one of {', '.join(_CPU_PRIORITIES)}, got {value!r}")
        return text
    if isinstance(value, str) and value.strip().lower() == "auto":
        return 0
    if isinstance(value, str) and not value.strip().isdigit():
        raise SettingsError(key, f"expected auto or a whole number of threads, got {value!r}")
    return _number(key, value, kind=int, low=1, high=256)


def _check(settings: Settings) -> None:
    if not settings.username.lstrip("@"):
        raise SettingsError("username", "set it to the streamer's Twitch login")
    if settings.lang_code.lower() not in _LANG_CODES:
        raise SettingsError("lang_code", f"must be one of {', '.join(sorted(_LANG_CODES))}")
    if settings.device.lower() not in _DEVICES:
        raise SettingsError("device", f"must be one of {', '.join(sorted(_DEVICES))}")
    if settings.precision.lower() not in _PRECISIONS:
        raise SettingsError("precision", f"must be one of {', '.join(sorted(_PRECISIONS))}")
    if settings.fused_vocoder.lower() not in _FUSED_VOCODER:
        raise SettingsError("fused_vocoder", f"must be one of {', '.join(sorted(_FUSED_VOCODER))}")
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
    _check_voices(settings)
    try:
        check_languages(settings.languages, settings.lang_code.lower())
    except LanguageSettingsError as exc:
        raise SettingsError(exc.key, exc.problem) from None


# --- per-viewer voices and names ---------------------------------------------------------------------------

_VOICE_KEYS = frozenset({"voice_mode", "voice_pool", "user_voices", "viewer_voice_command", "voice_command_cooldown",
                         "nicknames", "pronunciations", "name_repeat_after"})
_VOICE_MODES = frozenset({"single", "per_user"})
#: Characters that would let a respelling or nickname smuggle misaki markup (``[word](/ipa/)``) into speech.
_MARKUP = frozenset("[]()")


_VOICE_NAME = re.compile(r"[a-z]+")


def _voice_name(raw: Any) -> str:
    """A friendly name in ``voices``: letters only. The name is followed by its percentage in a voice spec
    (``robot2`` + ``100`` could not be told apart from ``robot`` + ``2100``) and parts are joined with ``_``, so a
    name with digits or ``_`` would be accepted here and then break ``voice``, ``user_voices`` and ``!voice``."""
    name = str(raw).lower()
    if not _VOICE_NAME.fullmatch(name):
        raise SettingsError(f"voices.{raw}", "a voice name must be letters only (a-z), e.g. robot or djx: it is "
                                             "followed by its percentage in voice specs (robot60_heart40)")
    return name


def _mapping(key: str, value: Any) -> dict[str, str]:
    """A ``{login or word: text}`` table: keys lower-cased (logins and words match case-insensitively)."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise SettingsError(key, f"expected a mapping, got {value!r}")
    table: dict[str, str] = {}
    for raw_key, raw_value in value.items():
        name = login_key(str(raw_key))
        text = _text(f"{key}.{raw_key}", raw_value)
        if not name or not text:
            raise SettingsError(f"{key}.{raw_key}", "neither side may be empty")
        table[name] = text
    return table


def _voice_setting(key: str, value: Any) -> Any:
    if key == "voice_mode":
        mode = _text(key, value).lower()
        if mode not in _VOICE_MODES:
            raise SettingsError(key, "must be 'single' or 'per_user'")
        return mode
    if key == "voice_pool":
        return tuple(w.lower() for w in _words(key, value))
    if key == "viewer_voice_command":
        return _flag(key, value)
    if key in {"voice_command_cooldown", "name_repeat_after"}:
        return _number(key, value, kind=float, low=0, high=86_400)
    table = _mapping(key, value)
    for name, text in table.items():
        if key == "pronunciations":
            ipa = len(text) > 2 and text[0] == text[-1] == "/"
            if _MARKUP & set(text) or (not ipa and "/" in text):
                raise SettingsError(f"{key}.{name}", "a respelling (letters) or IPA between slashes, e.g. /kˈOkəɹO/")
        elif key == "nicknames" and (_MARKUP | {"/"}) & set(text):
            raise SettingsError(f"{key}.{name}", "a nickname is plain words (no brackets or slashes)")
    return table


def _check_voices(settings: Settings) -> None:
    """Every ``user_voices`` entry and ``voice_pool`` name must be a voice the ``voices`` grammar knows."""
    for login, spec in settings.user_voices.items():
        try:
            parse_voice_mix(spec, settings.voices)
        except VoiceMixError as exc:
            raise SettingsError(f"user_voices.{login}", str(exc)) from None
    table = {k.lower() for k in settings.voices}
    for name in settings.voice_pool:
        if name not in table and not _POOL_ID.fullmatch(name):
            raise SettingsError("voice_pool", f"{name!r} is neither a name in voices nor a Kokoro id like af_heart")


_POOL_ID = re.compile(r"[a-z]{2}_[a-z0-9]+")


# --- moderation ---------------------------------------------------------------------------------------------

_MODERATION_KEYS = frozenset({"hold_seconds", "bits_need_approval", "mentions_max_age", "mod_command",
                              "mod_commands"})
_COMMAND_WORD = re.compile(r"[^\s!@]{1,32}")


def _moderation_setting(key: str, value: Any) -> Any:
    if key == "hold_seconds":
        return _number(key, value, kind=float, low=0, high=600)
    if key == "mentions_max_age":
        return _number(key, value, kind=float, low=0, high=86_400)
    if key == "bits_need_approval":
        return _flag(key, value)
    if key == "mod_command":
        word = _text(key, value).lstrip("!").lower()
        if not _COMMAND_WORD.fullmatch(word):
            raise SettingsError(key, "one word without spaces, e.g. tts (typed as !tts)")
        return word
    if value is None:
        return CommandWords()
    if not isinstance(value, Mapping):
        raise SettingsError(key, f"expected a mapping of action: word, got {value!r}")
    words: dict[str, str] = {}
    actions = {a.value for a in ModAction}
    for raw_action, raw_word in value.items():
        action = str(raw_action).lower()
        if action not in actions:
            raise SettingsError(f"{key}.{raw_action}", f"unknown action (known: {', '.join(sorted(actions))})")
        word = _text(f"{key}.{raw_action}", raw_word).lower()
        if not _COMMAND_WORD.fullmatch(word):
            raise SettingsError(f"{key}.{raw_action}", "one word without spaces")
        words[action] = word
    result = dataclasses.replace(CommandWords(), **words)
    chosen = [getattr(result, a) for a in sorted(actions)]
    if len(set(chosen)) != len(chosen):
        raise SettingsError(key, "two actions use the same word")
    return result


# --- trigger rules and chat notifications ------------------------------------------------------------------

def _section(key: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, Mapping):
        raise SettingsError(key, f"expected a mapping, got {raw!r}")
    return {str(k).lower(): v for k, v in raw.items()}


def _triggers(raw: Any, current: TriggerSettings) -> TriggerSettings:
    if raw is None:
        return current
    values: dict[str, Any] = {}
    for name, value in _section("triggers", raw).items():
        dotted = f"triggers.{name}"
        if name == "mode":
            mode = _text(dotted, value).lower()
            if mode not in TRIGGER_MODES:
                raise SettingsError(dotted, f"must be one of {', '.join(TRIGGER_MODES)}")
            values[name] = mode
        elif name == "command":
            command = _text(dotted, value)
            if not re.fullmatch(r"\S{1,32}", command):
                raise SettingsError(dotted, "one word without spaces, e.g. !tts")
            values[name] = command
        elif name == "roles":
            roles = tuple(r.lower() for r in _words(dotted, value))
            for role in roles:
                if role not in TRIGGER_ROLES:
                    raise SettingsError(dotted, f"unknown role {role!r} (known: {', '.join(TRIGGER_ROLES)})")
            values[name] = roles
        elif name == "first_time_chatters":
            values[name] = _flag(dotted, value)
        else:
            raise SettingsError(dotted, "unknown key")
    return dataclasses.replace(current, **values)


def check_template(key: str, template: str) -> None:
    """A notification template may use only ``TEMPLATE_PLACEHOLDERS``, bare: ``{user}``, not ``{0}`` or ``{user!r}``."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise SettingsError(key, f"not a valid template ({exc}); write a literal brace as {{{{ or }}}}") from None
    allowed = ", ".join(f"{{{p}}}" for p in TEMPLATE_PLACEHOLDERS)
    for _literal, name, spec, conversion in parts:
        if name is None:
            continue
        if name not in TEMPLATE_PLACEHOLDERS or spec or conversion:
            shown = "{" + name + (f"!{conversion}" if conversion else "") + (f":{spec}" if spec else "") + "}"
            raise SettingsError(key, f"unknown placeholder {shown} (allowed: {allowed})")


def _notifications(raw: Any, current: NotificationSettings) -> NotificationSettings:
    if raw is None:
        return current
    values: dict[str, Any] = {}
    for name, value in _section("notifications", raw).items():
        dotted = f"notifications.{name}"
        if name == "queue":
            try:
                values[name] = QueueName(_text(dotted, value).lower())
            except ValueError:
                raise SettingsError(dotted, "must be bits or mentions") from None
        elif name == "min_raid_viewers":
            values[name] = _number(dotted, value, kind=int, low=0)
        elif name == "templates":
            templates = dict(current.templates)
            for notice, template in ({} if value is None else _section(dotted, value)).items():
                if notice not in DEFAULT_TEMPLATES:
                    raise SettingsError(f"{dotted}.{notice}",
                                        f"unknown notice type (known: {', '.join(DEFAULT_TEMPLATES)})")
                text = _text(f"{dotted}.{notice}", template)
                check_template(f"{dotted}.{notice}", text)
                templates[notice] = text
            values[name] = templates
        else:
            raise SettingsError(dotted, "unknown key")
    return dataclasses.replace(current, **values)

