"""The ``languages:`` settings section: which languages chat may be spoken in, and how each sounds.

Validated here, once (``parse_languages``); ``core.settings`` hooks it in. An error names the dotted key
(``languages.voices.e``) like every other setting.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from core.language import KOKORO_LANGUAGES

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
#: Python modules each misaki extra needs, and what to install when one is missing. Japanese: pyopenjtalk
#: (misaki[ja]); never the ``unidic`` package, which downloads ~500 MB at run time. Chinese: misaki[zh].
_OFFLINE_MODULES: dict[str, tuple[tuple[str, ...], str]] = {
    "j": (("pyopenjtalk", "fugashi", "unidic_lite"), "pip install 'misaki[ja]' unidic-lite (not unidic)"),
    "z": (("jieba", "pypinyin", "cn2an", "ordered_set", "pypinyin_dict"), "pip install 'misaki[zh]'"),
}
_VOICE_ID = re.compile(r"[a-z]{2}_[a-z0-9]+")


class LanguageSettingsError(ValueError):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"invalid setting {key!r}: {problem}")
        self.key = key
        self.problem = problem


@dataclass(frozen=True, slots=True)
class LanguageSettings:
    """See settings.yaml (``languages:``) and docs/languages.md."""

    detect: bool = False
    enabled: tuple[str, ...] = ("a", "e", "f", "i", "p")
    voices: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_VOICES))
    sticky_after: int = 2
    user_languages: Mapping[str, str] = field(default_factory=dict)
    viewer_command: bool = False
    username_templates: Mapping[str, str] = field(default_factory=lambda: dict(DEFAULT_TEMPLATES))
    #: ``{code: {word: respelling}}``, written as ``pronunciations: {e: {...}}`` next to the flat English table.
    pronunciations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def voice_for(self, code: str) -> str | None:
        return self.voices.get(code)


def missing_for_offline(code: str) -> str | None:
    """What to install for ``code``'s G2P, or ``None`` when it can work here without a download."""
    needed = _OFFLINE_MODULES.get(code)
    if needed is None:
        return None
    modules, install = needed
    if all(importlib.util.find_spec(m) is not None for m in modules):
        return None
    return install


def _code(key: str, value: Any) -> str:
    code = str(value).strip().lower()
    if code not in KOKORO_LANGUAGES:
        raise LanguageSettingsError(key, f"unknown language code {value!r} (known: {', '.join(CODES)})")
    return code


def _table(key: str, value: Any) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise LanguageSettingsError(key, f"expected a mapping, got {value!r}")
    return {str(k).strip(): v for k, v in value.items()}


def _flag(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in {"true", "false", "yes", "no", "on", "off", "1", "0"}:
        return value.lower() in {"true", "yes", "on", "1"}
    raise LanguageSettingsError(key, f"expected true or false, got {value!r}")


def parse_languages(raw: Any, current: LanguageSettings) -> LanguageSettings:
    """The ``languages`` mapping validated over ``current``; unknown keys and codes are refused."""
    if raw is None:
        return current
    values: dict[str, Any] = {}
    for name, value in _table("languages", raw).items():
        key = f"languages.{name.lower()}"
        name = name.lower()
        if name in {"detect", "viewer_command"}:
            values[name] = _flag(key, value)
        elif name == "enabled":
            items = value.split(",") if isinstance(value, str) else value
            if not isinstance(items, (list, tuple)) or not items:
                raise LanguageSettingsError(key, "expected a non-empty list of codes, e.g. [a, e, f]")
            values[name] = tuple(dict.fromkeys(_code(key, v) for v in items if str(v).strip()))
        elif name == "sticky_after":
            if isinstance(value, bool) or not str(value).strip().isdigit() or not 1 <= int(value) <= 100:
                raise LanguageSettingsError(key, f"expected a whole number from 1 to 100, got {value!r}")
            values[name] = int(value)
        elif name == "voices":
            voices = {}
            for code, voice in _table(key, value).items():
                lang = _code(f"{key}.{code}", code)
                voice_id = str(voice).strip().lower()
                if not _VOICE_ID.fullmatch(voice_id) or voice_id[0] != lang:
                    raise LanguageSettingsError(f"{key}.{code}", f"{voice!r} is not a Kokoro voice of that language "
                                                                 f"(its id starts with {lang!r}, e.g. {lang}f_...)")
                voices[lang] = voice_id
            values[name] = voices
        elif name == "user_languages":
            values[name] = {login.lstrip("@").lower(): _code(f"{key}.{login}", code)
                            for login, code in _table(key, value).items() if login.lstrip("@")}
        elif name == "username_templates":
            templates = {}
            for code, template in _table(key, value).items():
                lang = _code(f"{key}.{code}", code)
                text = str(template).strip()
                try:
                    text.format(user="u", text="t")
                except (KeyError, IndexError, ValueError) as exc:
                    raise LanguageSettingsError(f"{key}.{code}", f"only {{user}} and {{text}} may be used ({exc})"
                                                ) from None
                if "{text}" not in text:
                    raise LanguageSettingsError(f"{key}.{code}", "must contain {text}")
                templates[lang] = text
            values[name] = templates
        else:
            raise LanguageSettingsError(key, "unknown key (check the spelling against settings.yaml)")
    return dataclasses.replace(current, **values)


def with_pronunciations(current: LanguageSettings, per_language: Mapping[str, Any]) -> LanguageSettings:
    """The ``pronunciations: {e: {word: respelling}}`` entries (respellings only: espeak reads no IPA markup)."""
    tables: dict[str, dict[str, str]] = {}
    for code, table in per_language.items():
        lang = _code(f"pronunciations.{code}", code)
        key = f"pronunciations.{code}"
        words: dict[str, str] = {}
        for word, spelled in _table(key, table).items():
            text = str(spelled).strip()
            if not word.strip() or not text:
                raise LanguageSettingsError(f"{key}.{word}", "neither side may be empty")
            if set("[]()/") & set(text):
                raise LanguageSettingsError(f"{key}.{word}", "a respelling in letters (IPA works for English only)")
            words[word.strip().lower()] = text
        tables[lang] = words
    return dataclasses.replace(current, pronunciations=tables)


def check_languages(languages: LanguageSettings, lang_code: str) -> None:
    """Cross-key rules: each enabled language can be spoken (a voice, and a G2P that works offline)."""
    for code in languages.enabled:
        install = missing_for_offline(code)
        if install is not None:
            raise LanguageSettingsError("languages.enabled", f"{KOKORO_LANGUAGES[code]} ({code}) cannot be spoken "
                                                             f"offline here: {install}")
        if code not in {"a", "b", lang_code} and code not in languages.voices:
            raise LanguageSettingsError("languages.voices", f"no voice for enabled language {code!r} "
                                                            f"({KOKORO_LANGUAGES[code]})")
