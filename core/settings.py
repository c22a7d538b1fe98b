"""Typed, validated settings. ``build_settings`` is pure; ``service.settings_file`` reads settings.yaml.

Each section is a frozen dataclass whose fields carry their own rules (pydantic ``Field`` limits, a choice,
or a validator right under the field), so the rest of the code can trust a ``Settings`` object. pydantic
validates a plain mapping into them; a bad value raises ``SettingsError`` naming the dotted key; the CLI
prints it and exits non-zero, the live reloader logs it and keeps the previous settings. Built directly
(``Settings(...)``, ``dataclasses.replace``), the dataclasses are not validated: that is for code and tests.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Annotated, Any, NamedTuple

from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainValidator,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from core.chat import QueueName
from core.language_settings import LanguageSettings, check_languages, with_pronunciations
from core.logins import login_key
from core.moderation import CommandWords, ModAction
from core.setting_types import (
    DaySeconds,
    Flag,
    Float,
    Int,
    Lower,
    LowerWords,
    Seconds,
    SettingsError,
    Text,
    Words,
    as_text,
    as_words,
    lower_keys,
    matches,
    not_empty,
    one_of,
    settings_error,
    validate_section,
)
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


#: Each section refuses a key it does not know (``Settings`` lower-cases the keys first).
_SECTION = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class TwitchSettings:
    """Credentials for the twitchio bot; the bot runs only when ``enabled`` is true."""

    __pydantic_config__ = _SECTION

    client_id: Text = ""
    client_secret: Text = ""
    bot_id: Text = ""
    channel: Text = ""
    owner_id: Text = ""
    #: The App counts as online while its WebSocket is open or it sent HTTP within this many seconds.
    app_online_window: Annotated[Float, Field(ge=0)] = 30.0
    #: Optional redirect for the OAuth flow served by our server (default http://localhost:<port>/twitch/oauth/callback).
    redirect_uri: Text = ""
    #: Where the bot's Twitch tokens are kept (default: twitch_tokens.json next to the SQLite database).
    token_file: Text = ""

    @property
    def enabled(self) -> bool:
        return bool(self.client_id and self.client_secret and self.bot_id and self.channel)


# --- trigger rules and chat notifications -----------------------------------------------------------------

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


def _roles(roles: tuple[str, ...]) -> tuple[str, ...]:
    for role in roles:
        if role not in TRIGGER_ROLES:
            raise ValueError(f"unknown role {role!r} (known: {', '.join(TRIGGER_ROLES)})")
    return roles


@dataclass(frozen=True, slots=True)
class TriggerSettings:
    """Which chat lines (the bot's and the App's ``Message``) are read: see ``core.triggers``."""

    __pydantic_config__ = _SECTION

    #: mention (a line must @mention the streamer), command (``!tts <text>``) or all (every line).
    mode: Annotated[Lower, one_of(*TRIGGER_MODES)] = "mention"
    command: Annotated[Text, matches(r"\S{1,32}", "one word without spaces, e.g. !tts")] = "!tts"
    #: Empty: everyone; else only chatters with one of these roles.
    roles: Annotated[LowerWords, AfterValidator(_roles)] = ()
    #: Also read a viewer's first message in the channel, whatever the mode and roles.
    first_time_chatters: Flag = False


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


def _templates(value: Any) -> dict[str, str]:
    """Notice type -> template; the types not named keep their default."""
    key = "notifications.templates"
    if value is None:
        return dict(DEFAULT_TEMPLATES)
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {value!r}")
    templates = dict(DEFAULT_TEMPLATES)
    for notice, template in lower_keys(value).items():
        if notice not in DEFAULT_TEMPLATES:
            raise SettingsError(f"{key}.{notice}", f"unknown notice type (known: {', '.join(DEFAULT_TEMPLATES)})")
        try:
            text = as_text(template)
        except ValueError as exc:
            raise SettingsError(f"{key}.{notice}", str(exc)) from None
        check_template(f"{key}.{notice}", text)
        templates[notice] = text
    return templates


@dataclass(frozen=True, slots=True)
class NotificationSettings:
    """Twitch chat notices (subs, resubs, gifts, raids) read aloud: see ``core.notifications``."""

    __pydantic_config__ = _SECTION

    queue: Annotated[QueueName, BeforeValidator(lambda value: as_text(value).lower())] = QueueName.BITS
    #: A raid with fewer viewers than this is not read.
    min_raid_viewers: Annotated[Int, Field(ge=0)] = 0
    #: Notice type -> template ("" = not read).
    templates: Annotated[Mapping[str, str], PlainValidator(_templates)] = field(
        default_factory=lambda: dict(DEFAULT_TEMPLATES))


# --- channel points: the channel-point TTS reward (bot/channel_points.py, docs/twitch.md) ------------------

@dataclass(frozen=True, slots=True)
class ChannelPointsSettings:
    """The reward StreamVoice creates and manages on Twitch. ``enabled`` and ``reward_id`` take effect at a restart;
    title, cost, prompt, limits, ``queue`` and ``pause_with_tts`` apply live (the reward is updated on Twitch).
    The limits are Twitch's own."""

    __pydantic_config__ = _SECTION

    enabled: Flag = False
    title: Annotated[Text, Field(min_length=1, max_length=45)] = "Text to speech"
    cost: Annotated[Int, Field(ge=1)] = 300
    prompt: Annotated[Text, Field(max_length=200)] = "Your message is read aloud on stream"
    #: The queue redemptions join: ``bits`` (never dropped) or ``mentions``.
    queue: Annotated[Lower, one_of("bits", "mentions")] = "bits"
    #: Seconds between two redemptions by anyone; 0 = none.
    global_cooldown: Annotated[Int, Field(ge=0, le=604_800)] = 0
    #: Redemptions per viewer per stream; 0 = no limit.
    max_per_user_per_stream: Annotated[Int, Field(ge=0)] = 0
    #: Pause the reward on Twitch while TTS is paused.
    pause_with_tts: Flag = True
    #: Fallback without ``channel:manage:redemptions``: chat lines redeeming this reward id are read (no refunds).
    reward_id: Text = ""

    @property
    def reward_fields(self) -> tuple[str, int, str, int, int]:
        """What the reward on Twitch is made of (an edit of any of these updates it)."""
        return (self.title, self.cost, self.prompt, self.global_cooldown, self.max_per_user_per_stream)


# --- per-viewer voices and names, moderation words (validators of the fields below) -------------------------

_VOICE_NAME = re.compile(r"[a-z]+")
_POOL_ID = re.compile(r"[a-z]{2}_[a-z0-9]+")
#: Characters that would let a respelling or nickname smuggle misaki markup (``[word](/ipa/)``) into speech.
_MARKUP = frozenset("[]()")
_COMMAND_WORD = re.compile(r"[^\s!@]{1,32}")


def _voices(value: Any) -> dict[str, str]:
    """Friendly name -> Kokoro id. A name is letters only: it is followed by its percentage in a voice spec
    (``robot2`` + ``100`` could not be told apart from ``robot`` + ``2100``) and parts are joined with ``_``, so a
    name with digits or ``_`` would be accepted here and then break ``voice``, ``user_voices`` and ``!voice``."""
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping of name: kokoro_voice_id, got {value!r}")
    table: dict[str, str] = {}
    for raw_name, raw_id in value.items():
        name = str(raw_name).lower()
        if not _VOICE_NAME.fullmatch(name):
            raise SettingsError(f"voices.{raw_name}", "a voice name must be letters only (a-z), e.g. robot or "
                                                      "djx: it is followed by its percentage in voice specs "
                                                      "(robot60_heart40)")
        try:
            table[name] = as_text(raw_id)
        except ValueError as exc:
            raise SettingsError(f"voices.{raw_name}", str(exc)) from None
    return table


def _table(key: str, check: Callable[[str], str | None] | None = None) -> BeforeValidator:
    """A ``{login or word: text}`` table: keys lower-cased (logins and words match case-insensitively); ``check``
    returns the problem with one entry's text, if any."""
    def validate(value: Any) -> dict[str, str]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise ValueError(f"expected a mapping, got {value!r}")
        table: dict[str, str] = {}
        for raw_key, raw_value in value.items():
            name = login_key(str(raw_key))
            try:
                text = as_text(raw_value)
            except ValueError as exc:
                raise SettingsError(f"{key}.{raw_key}", str(exc)) from None
            if not name or not text:
                raise SettingsError(f"{key}.{raw_key}", "neither side may be empty")
            problem = check(text) if check else None
            if problem:
                raise SettingsError(f"{key}.{name}", problem)
            table[name] = text
        return table
    return BeforeValidator(validate)


def _nickname_problem(text: str) -> str | None:
    return "a nickname is plain words (no brackets or slashes)" if (_MARKUP | {"/"}) & set(text) else None


def _pronunciation_problem(text: str) -> str | None:
    ipa = len(text) > 2 and text[0] == text[-1] == "/"
    if _MARKUP & set(text) or (not ipa and "/" in text):
        return "a respelling (letters) or IPA between slashes, e.g. /kˈOkəɹO/"
    return None


def _mod_commands(value: Any) -> CommandWords:
    key = "mod_commands"
    if value is None:
        return CommandWords()
    if isinstance(value, CommandWords):
        return value
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping of action: word, got {value!r}")
    actions = {a.value for a in ModAction}
    words: dict[str, str] = {}
    for raw_action, raw_word in value.items():
        action = str(raw_action).lower()
        if action not in actions:
            raise SettingsError(f"{key}.{raw_action}", f"unknown action (known: {', '.join(sorted(actions))})")
        try:
            word = as_text(raw_word).lower()
        except ValueError as exc:
            raise SettingsError(f"{key}.{raw_action}", str(exc)) from None
        if not _COMMAND_WORD.fullmatch(word):
            raise SettingsError(f"{key}.{raw_action}", "one word without spaces")
        words[action] = word
    result = CommandWords(**words)
    chosen = [getattr(result, a) for a in sorted(actions)]
    if len(set(chosen)) != len(chosen):
        raise ValueError("two actions use the same word")
    return result


def _edge_entries(value: Any) -> tuple[str, ...]:
    return tuple(w.lower().rstrip("/") for w in as_words(value))


def _origins(entries: tuple[str, ...]) -> tuple[str, ...]:
    """``allowed_origins``: ``scheme://host[:port]``."""
    for entry in entries:
        if entry == "null":  # refused, not warned about: safe by default
            raise ValueError("'null' is the origin of every sandboxed iframe and file:// page on any site: listing "
                             "it would let all of them drive the API; serve the App from an http(s) origin and "
                             "list that instead")
        if not re.fullmatch(r"https?://[^/\s]+", entry):
            raise ValueError(f"{entry!r} is not an origin like https://app.example.com or http://host:port")
    return entries


def _hosts(entries: tuple[str, ...]) -> tuple[str, ...]:
    """``allowed_hosts``: bare host names, or ``*``."""
    for entry in entries:
        if not re.fullmatch(r"\*|[^/:\s]+", entry):
            raise ValueError(f"{entry!r} is not a host name (no scheme, port or path)")
    return entries


def _username_template(template: str) -> str:
    if "{text}" not in template:
        raise ValueError("must contain {text}")
    try:
        template.format(user="u", text="t")
    except (KeyError, IndexError, ValueError) as exc:
        raise ValueError(f"only {{user}} and {{text}} may be used ({exc})") from None
    return template


def _username(name: str) -> str:
    if not name.lstrip("@"):
        raise ValueError("set it to the streamer's Twitch login")
    return name


class _LanguagesInput(NamedTuple):
    """The ``languages`` section and the per-language tables found under ``pronunciations``."""

    section: Any
    pronunciations: Mapping[str, Any]


def _languages(value: Any) -> LanguageSettings:
    """The ``languages`` section, with the per-language tables written under ``pronunciations``."""
    if isinstance(value, LanguageSettings):
        return value
    section, per_language = value if isinstance(value, _LanguagesInput) else (value, None)
    languages = LanguageSettings() if section is None else validate_section(_adapter(LanguageSettings), section,
                                                                             "languages")
    return languages if per_language is None else with_pronunciations(languages, per_language)


def _cpu_threads(value: Any) -> int:
    """``cpu_threads``: auto (stored as 0: see ``tts.engine.KokoroEngine._threads``) or a whole number, 1-256."""
    if isinstance(value, str) and value.strip().lower() == "auto":
        return 0
    whole = (isinstance(value, int) or (isinstance(value, float) and value.is_integer())
             or (isinstance(value, str) and value.strip().isdigit()))
    if isinstance(value, bool) or not whole:
        raise ValueError(f"expected auto or a whole number of threads, got {value!r}")
    threads = int(value)
    if not 1 <= threads <= 256:
        raise ValueError(f"must be 1 to 256 (or auto), got {threads}")
    return threads


#: YAML reads a bare on/off as a boolean.
_ON_OFF = BeforeValidator(lambda value: ("on" if value else "off") if isinstance(value, bool) else value)
#: The sections: an empty (``null``) section keeps its defaults.
_SECTIONS = ("twitch", "triggers", "notifications", "channel_points")


@dataclass(frozen=True, slots=True)
class Settings:
    __pydantic_config__ = ConfigDict(extra="forbid")

    username: Annotated[Text, AfterValidator(_username)] = "streamer"
    autoplay_cooldown: Seconds = 2.0
    voice: Text = "jared50_lex30_martha20"  # a voice spec over ``voices``: checked in ``_cross_checks``
    voices: Annotated[Mapping[str, str], PlainValidator(_voices)] = field(default_factory=lambda: dict(DEFAULT_VOICES))
    speed: Annotated[Float, Field(ge=0.5, le=2.0)] = 1.0
    lang_code: Annotated[Text, one_of(*"abefhijpz")] = "a"
    device: Annotated[Text, one_of("auto", "cpu", "cuda", "mps")] = "auto"
    #: Model compute precision: auto (bf16 on a CPU with native bf16, else fp32), fp32 or bf16.
    precision: Annotated[Text, one_of("auto", "bf16", "fp32")] = "auto"
    #: The vocoder's AdaIN + Snake chains in one compiled CPU kernel: auto/on (when a C compiler builds it) or off.
    fused_vocoder: Annotated[Text, _ON_OFF, one_of("auto", "off", "on")] = "auto"
    # --- sharing the PC with a game (tts/cpu_priority.py, docs/operations.md) ---
    #: low: render threads at a lower OS priority while the queue is ahead of playback (the next item to play
    #: renders at normal priority); normal: every render at normal priority.
    cpu_priority: Annotated[Lower, one_of("low", "normal")] = "low"
    #: Most CPU threads one render uses; 0 = auto (one with cpu_priority low, every core torch sees with normal).
    cpu_threads: Annotated[int, PlainValidator(_cpu_threads)] = 0
    model_dir: Text = ""
    audio_dir: Annotated[Text, AfterValidator(not_empty)] = "data/audio"
    database_url: Annotated[Text, AfterValidator(not_empty)] = "sqlite:///data/streamvoice.db"
    host: Text = "127.0.0.1"
    port: Annotated[Int, Field(ge=1, le=65535)] = 8765
    api_token: Text = ""
    #: Browser origins besides the server's own that may call the API (an App that is a web page).
    allowed_origins: Annotated[tuple[str, ...], BeforeValidator(_edge_entries), AfterValidator(_origins)] = ()
    #: Host names besides the bound address (and loopback names) the server answers for (DNS rebinding guard).
    allowed_hosts: Annotated[tuple[str, ...], BeforeValidator(_edge_entries), AfterValidator(_hosts)] = ()
    mentions_max_audio_mb: Annotated[Float, Field(ge=0.001)] = 200.0
    max_message_chars: Annotated[Int, Field(ge=1, le=100_000)] = 300
    max_input_chars: Annotated[Int, Field(ge=1, le=100_000)] = 2000
    playback_grace: Seconds = 5.0
    # what gets spoken
    read_username_mentions: Flag = False
    read_username_bits: Flag = True
    username_template: Annotated[Text, AfterValidator(_username_template)] = "{user} says: {text}"
    ignored_users: Words = DEFAULT_IGNORED_USERS
    ignored_prefixes: Words = ("!",)
    banned_words: Words = ()
    banned_words_action: Annotated[Text, AfterValidator(lambda action: _exactly(action, "skip", "replace"))] = "skip"
    bits_min: Annotated[Int, Field(ge=1)] = 1
    per_user_cooldown: Seconds = 0.0
    emotes: Words = ()
    # a voice for every viewer, names that sound right (core/viewer_voice.py, core/spoken_names.py)
    voice_mode: Annotated[Lower, AfterValidator(lambda mode: _exactly(mode, "single", "per_user"))] = "single"
    #: per_user mixes draw from these (friendly names or Kokoro ids); empty: every voice in ``voices``.
    voice_pool: LowerWords = ()  # each a name in ``voices`` or a Kokoro id: checked in ``_cross_checks``
    user_voices: Annotated[Mapping[str, str], _table("user_voices")] = field(default_factory=dict)
    viewer_voice_command: Flag = False
    voice_command_cooldown: DaySeconds = 60.0
    nicknames: Annotated[Mapping[str, str], _table("nicknames", _nickname_problem)] = field(default_factory=dict)
    pronunciations: Annotated[Mapping[str, str], _table("pronunciations", _pronunciation_problem)] = field(
        default_factory=dict)
    #: 0: a chatter's name is read only when the speaker changes; > 0: also when this long has passed.
    name_repeat_after: DaySeconds = 0.0
    # moderation (core/moderation.py)
    #: A mention may play only this many seconds after it arrived (mods can remove it first); 0: at once.
    hold_seconds: Annotated[Float, Field(ge=0, le=600)] = 0.0
    #: Cheers wait for a moderator's approve/reject before they may play.
    bits_need_approval: Flag = False
    #: A mention older than this when its turn comes is dropped (reason stale); 0: never. Cheers never.
    mentions_max_age: DaySeconds = 0.0
    #: The chat command moderators use (``!tts skip``...), and its words.
    mod_command: Annotated[
        Text, BeforeValidator(lambda value: as_text(value).lstrip("!").lower()),
        matches(_COMMAND_WORD.pattern, "one word without spaces, e.g. tts (typed as !tts)")] = "tts"
    mod_commands: Annotated[CommandWords, PlainValidator(_mod_commands)] = field(default_factory=CommandWords)
    twitch: TwitchSettings = field(default_factory=TwitchSettings)
    triggers: TriggerSettings = field(default_factory=TriggerSettings)
    notifications: NotificationSettings = field(default_factory=NotificationSettings)
    channel_points: ChannelPointsSettings = field(default_factory=ChannelPointsSettings)
    # the OpenAI-compatible speech API (POST /v1/audio/speech; chat always comes first)
    #: Requests rendered at the same time (1-8).
    api_speech_concurrency: Annotated[Int, Field(ge=1, le=8)] = 1
    #: Requests waiting for their turn beyond those; more are answered 429 with Retry-After (0-1000).
    api_speech_queue: Annotated[Int, Field(ge=0, le=1000)] = 8
    #: Each line spoken in its own language (core/language.py, core/language_settings.py, docs/languages.md).
    languages: Annotated[LanguageSettings, PlainValidator(_languages)] = field(default_factory=LanguageSettings)

    @property
    def mentions_max_audio_bytes(self) -> int:
        return int(self.mentions_max_audio_mb * 1024 * 1024)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        """Keys in any case, a section's too; an empty section keeps its defaults."""
        value = lower_keys(value)
        if isinstance(value, dict):
            value = {k: lower_keys(v) if k in _SECTIONS else v for k, v in value.items()
                     if not (k in _SECTIONS and v is None)}
            flat = value.get("pronunciations")
            if isinstance(flat, Mapping):  # ``{e: {word: ...}}`` next to the flat English form: a language's
                per_language = {k: v for k, v in flat.items() if isinstance(v, Mapping)}
                if per_language:
                    value["pronunciations"] = {k: v for k, v in flat.items() if k not in per_language}
                    value["languages"] = _LanguagesInput(value.get("languages"), per_language)
        return value

    @model_validator(mode="after")
    def _cross_checks(self) -> Settings:
        """``voice``, every ``user_voices`` entry and ``voice_pool`` name must be voices ``voices`` knows."""
        try:
            parse_voice_mix(self.voice, self.voices)
        except VoiceMixError as exc:
            raise SettingsError("voice", str(exc)) from None
        for login, spec in self.user_voices.items():
            try:
                parse_voice_mix(spec, self.voices)
            except VoiceMixError as exc:
                raise SettingsError(f"user_voices.{login}", str(exc)) from None
        table = {k.lower() for k in self.voices}
        for name in self.voice_pool:
            if name not in table and not _POOL_ID.fullmatch(name):
                raise SettingsError("voice_pool", f"{name!r} is neither a name in voices nor a Kokoro id like af_heart")
        check_languages(self.languages, self.lang_code.lower())
        return self


def _exactly(value: str, *choices: str) -> str:
    if value not in choices:
        raise ValueError(" or ".join(repr(c) for c in choices).join(("must be ", "")))
    return value


@cache
def _adapter(cls: type[Any]) -> TypeAdapter[Any]:
    return TypeAdapter(cls)


def build_settings(raw: Mapping[str, Any]) -> Settings:
    """Validate a plain mapping (keys case-insensitive) into ``Settings``; unknown keys are refused."""
    try:
        return _adapter(Settings).validate_python(raw)
    except ValidationError as exc:
        raise settings_error(exc) from None
