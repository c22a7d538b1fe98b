"""The ``languages:`` settings section: which languages chat may be spoken in, and how each sounds.

Each field carries its own rule (``core.setting_types``); ``core.settings`` validates the section as part of
``Settings``. An error names the dotted key (``languages.voices.e``) like every other setting.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BeforeValidator, ConfigDict, Field, PlainValidator, model_validator

from core.language import KOKORO_LANGUAGES
from core.setting_types import Flag, SettingsError

#: Kokoro codes in the order the documentation lists them.
CODES = tuple("abefhipjz")
DEFAULT_VOICES: dict[str, str] = {"e": "ef_dora", "f": "ff_siwis", "i": "if_sara", "p": "pf_dora", "h": "hf_alpha",
                                  "j": "jf_alpha", "z": "zf_xiaobei"}
DEFAULT_TEMPLATES: dict[str, str] = {"e": "{user} dice: {text}", "f": "{user} dit : {text}",
                                     "i": "{user} dice: {text}", "p": "{user} diz: {text}"}
#: What a link is called in each language (the English "link" is kept for Italian and Portuguese, where
#: it is the usual word).
LINK_WORDS: dict[str, str] = {"a": "link", "b": "link", "e": "enlace", "f": "lien", "h": "लिंक", "i": "link",
                              "p": "link", "j": "リンク", "z": "链接"}
#: Python modules each misaki extra needs, and what to install when one is missing. Japanese: misaki's cutlet
#: reader (fugashi with unidic-lite's bundled dictionary, jaconv, mojimoji); never ``misaki[ja]``, which pulls the
#: ``unidic`` package (~500 MB downloaded at run time) and pyopenjtalk (downloads its dictionary at first use).
#: Chinese: misaki[zh] (jieba, pypinyin, cn2an...: dictionaries inside the packages).
_OFFLINE_MODULES: dict[str, tuple[tuple[str, ...], str]] = {
    "j": (("fugashi", "unidic_lite", "jaconv", "mojimoji"),
          "pip install 'streamvoice[ja]' (fugashi jaconv mojimoji unidic-lite; not misaki[ja] or unidic)"),
    "z": (("jieba", "pypinyin", "cn2an", "ordered_set", "pypinyin_dict"),
          "pip install 'streamvoice[zh]' (misaki[zh])"),
}
_VOICE_ID = re.compile(r"[a-z]{2}_[a-z0-9]+")


def missing_for_offline(code: str) -> str | None:
    """What to install for ``code``'s G2P, or ``None`` when it can work here without a download."""
    needed = _OFFLINE_MODULES.get(code)
    if needed is None:
        return None
    modules, install = needed
    if all(importlib.util.find_spec(m) is not None for m in modules):
        return None
    return install


# --- how each field is read (its key is given where the problem is below the field) -------------------------

def _code(value: Any, key: str | None = None) -> str:
    code = str(value).strip().lower()
    if code not in KOKORO_LANGUAGES:
        problem = f"unknown language code {value!r} (known: {', '.join(CODES)})"
        raise SettingsError(key, problem) if key else ValueError(problem)
    return code


def _table(value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError(f"expected a mapping, got {value!r}")
    return {str(k).strip(): v for k, v in value.items()}


def _enabled(value: Any) -> tuple[str, ...]:
    items = value.split(",") if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or not items:
        raise ValueError("expected a non-empty list of codes, e.g. [a, e, f]")
    return tuple(dict.fromkeys(_code(v) for v in items if str(v).strip()))


def _voices(value: Any) -> dict[str, str]:
    """Language code -> a Kokoro voice of that language."""
    key = "languages.voices"
    voices = {}
    for code, voice in _table(value).items():
        lang = _code(code, f"{key}.{code}")
        voice_id = str(voice).strip().lower()
        if not _VOICE_ID.fullmatch(voice_id) or voice_id[0] != lang:
            raise SettingsError(f"{key}.{code}", f"{voice!r} is not a Kokoro voice of that language "
                                                 f"(its id starts with {lang!r}, e.g. {lang}f_...)")
        voices[lang] = voice_id
    return voices


def _whole(value: Any) -> int:
    if isinstance(value, bool) or not str(value).strip().isdigit():
        raise ValueError(f"expected a whole number from 1 to 100, got {value!r}")
    return int(value)


def _user_languages(value: Any) -> dict[str, str]:
    """Login -> the language code a viewer's lines are spoken in."""
    key = "languages.user_languages"
    return {login.lstrip("@").lower(): _code(code, f"{key}.{login}")
            for login, code in _table(value).items() if login.lstrip("@")}


def _username_templates(value: Any) -> dict[str, str]:
    """Language code -> ``username_template`` in that language."""
    key = "languages.username_templates"
    templates = {}
    for code, template in _table(value).items():
        lang = _code(code, f"{key}.{code}")
        text = str(template).strip()
        try:
            text.format(user="u", text="t")
        except (KeyError, IndexError, ValueError) as exc:
            raise SettingsError(f"{key}.{code}", f"only {{user}} and {{text}} may be used ({exc})") from None
        if "{text}" not in text:
            raise SettingsError(f"{key}.{code}", "must contain {text}")
        templates[lang] = text
    return templates


@dataclass(frozen=True, slots=True)
class LanguageSettings:
    """See settings.yaml (``languages:``) and docs/languages.md."""

    __pydantic_config__ = ConfigDict(extra="forbid")

    detect: Flag = False
    enabled: Annotated[tuple[str, ...], PlainValidator(_enabled)] = ("a", "e", "f", "i", "p")
    voices: Annotated[Mapping[str, str], PlainValidator(_voices)] = field(
        default_factory=lambda: dict(DEFAULT_VOICES))
    sticky_after: Annotated[int, BeforeValidator(_whole), Field(ge=1, le=100)] = 2
    user_languages: Annotated[Mapping[str, str], PlainValidator(_user_languages)] = field(default_factory=dict)
    viewer_command: Flag = False
    username_templates: Annotated[Mapping[str, str], PlainValidator(_username_templates)] = field(
        default_factory=lambda: dict(DEFAULT_TEMPLATES))
    #: ``{code: {word: respelling}}``, written as ``pronunciations: {e: {...}}`` next to the flat English table
    #: (``with_pronunciations``), not in this section.
    pronunciations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def voice_for(self, code: str) -> str | None:
        return self.voices.get(code)

    @model_validator(mode="before")
    @classmethod
    def _keys(cls, value: Any) -> Any:
        """Keys in any case; ``pronunciations`` belongs to the top-level table, not to this section."""
        if not isinstance(value, Mapping):
            return value
        value = {str(k).strip().lower(): v for k, v in value.items()}
        if "pronunciations" in value:
            raise SettingsError("languages.pronunciations", "unknown key (check the spelling against settings.yaml)")
        return value


def with_pronunciations(current: LanguageSettings, per_language: Mapping[str, Any]) -> LanguageSettings:
    """The ``pronunciations: {e: {word: respelling}}`` entries (respellings only: espeak reads no IPA markup)."""
    tables: dict[str, dict[str, str]] = {}
    for code, table in per_language.items():
        key = f"pronunciations.{code}"
        lang = _code(code, key)
        words: dict[str, str] = {}
        try:
            entries = _table(table)
        except ValueError as exc:
            raise SettingsError(key, str(exc)) from None
        for word, spelled in entries.items():
            text = str(spelled).strip()
            if not word.strip() or not text:
                raise SettingsError(f"{key}.{word}", "neither side may be empty")
            if set("[]()/") & set(text):
                raise SettingsError(f"{key}.{word}", "a respelling in letters (IPA works for English only)")
            words[word.strip().lower()] = text
        tables[lang] = words
    return dataclasses.replace(current, pronunciations=tables)


def check_languages(languages: LanguageSettings, lang_code: str) -> None:
    """Cross-key rules: each enabled language can be spoken (a voice, and a G2P that works offline)."""
    install = missing_for_offline(lang_code)
    if install is not None:
        raise SettingsError("lang_code", f"{KOKORO_LANGUAGES[lang_code]} ({lang_code}) cannot be spoken "
                                         f"offline here: {install}")
    for code in languages.enabled:
        install = missing_for_offline(code)
        if install is not None:
            raise SettingsError("languages.enabled", f"{KOKORO_LANGUAGES[code]} ({code}) cannot be spoken "
                                                     f"offline here: {install}")
        if code not in {"a", "b", lang_code} and code not in languages.voices:
            raise SettingsError("languages.voices", f"no voice for enabled language {code!r} "
                                                    f"({KOKORO_LANGUAGES[code]})")
