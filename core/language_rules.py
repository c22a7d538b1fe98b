"""What changes with a line's language: its spoken-text rules, the name template, and its voice.

- The English-only parts of ``core.spoken_text`` stay English: links are read as the language's own word
  (``LINK_WORDS``: "enlace", "lien"...), the flat ``pronunciations`` table (misaki respellings and IPA) applies
  to English lines only and each other language has its own (``pronunciations: {e: {...}}``), and the name is
  read with that language's template (``languages.username_templates``; ``username_template``, "{user} says:
  {text}", is English). Numbers, money and times are never rewritten in ``core``: each language's G2P reads
  them (misaki for English, espeak-ng in the language's own words for the others).
- Voices (``voice_for_language``): a line in the channel's language (``lang_code``; English counts as one
  language for a/b) keeps ``core.viewer_voice.resolve_voice``, except that with ``detect`` on a per-user mix
  is drawn from the ``voice_pool`` voices of that language only. A line in another language is spoken by that
  language's voices only: a viewer's ``!voice`` choice or ``user_voices`` entry when every voice in it is of
  that language (Kokoro ids start with the language's code), else with ``voice_mode: per_user`` a mix drawn
  from the ``voice_pool`` voices of that language plus ``languages.voices[code]``, else that voice alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

from core.language import ENGLISH, LanguageChoice, Scorer, StickyLanguages, choose_language, readable_text
from core.language_settings import LINK_WORDS
from core.logins import login_key
from core.settings import Settings
from core.spoken_text import SpeechRules, normalize_chat_text
from core.viewer_voice import default_pool, per_user_mix, resolve_voice
from core.voice_mix import VoiceMixError, parse_voice_mix

#: English lines in a channel of another language, when ``languages.voices`` names no English voice.
ENGLISH_VOICES = {"a": "af_heart", "b": "bf_emma"}
#: The name template of a language without one in ``languages.username_templates``.
PLAIN_TEMPLATE = "{user}: {text}"


def enabled_languages(settings: Settings) -> frozenset[str]:
    return frozenset(settings.languages.enabled) | {settings.lang_code}


def same_language(a: str, b: str) -> bool:
    """English (a, b) is one language for voices and rules; the others are themselves."""
    return a == b or (a in ENGLISH and b in ENGLISH)


def line_language(text: str, sent_by: str, settings: Settings, rules: SpeechRules, sticky: StickyLanguages,
                  viewer_choice: str | None, scorer: Scorer | None) -> tuple[LanguageChoice, str]:
    """The line's language and the text to speak it from (with ``detect`` on: letters of scripts no enabled
    language reads dropped). Detection sees the line as it will be read: emotes, links and handles gone."""
    languages = settings.languages
    text = readable_text(text, enabled_languages(settings)) if languages.detect else text
    probe = ""
    if languages.detect:
        probe = normalize_chat_text(text, dataclasses.replace(rules, link_word="", pronunciations=(),
                                                              banned_words_action="skip"))
    choice = choose_language(login_key(sent_by), probe, default=settings.lang_code,
                             enabled=enabled_languages(settings), detect_on=languages.detect,
                             viewer_choice=viewer_choice, user_languages=languages.user_languages, sticky=sticky,
                             sticky_after=languages.sticky_after, scorer=scorer)
    return choice, text


def rules_for(rules: SpeechRules, code: str, settings: Settings) -> SpeechRules:
    """``rules`` (built for English) adapted to ``code``: its link word and its pronunciations."""
    if code in ENGLISH:
        own = settings.languages.pronunciations.get(code, {})
        pronunciations = tuple(sorted({**dict(rules.pronunciations), **own}.items()))
    else:
        pronunciations = tuple(sorted(settings.languages.pronunciations.get(code, {}).items()))
    return dataclasses.replace(rules, link_word=LINK_WORDS.get(code, "link"), pronunciations=pronunciations)


def name_template(code: str, settings: Settings) -> str:
    if code in ENGLISH:
        return settings.username_template
    return settings.languages.username_templates.get(code, PLAIN_TEMPLATE)


def _voice_ids(spec: str, settings: Settings) -> tuple[str, ...]:
    try:
        return tuple(share.voice_id for share in parse_voice_mix(spec, settings.voices))
    except VoiceMixError:
        return ()


def of_language(spec: str, code: str, settings: Settings) -> bool:
    """Every voice in ``spec`` is a voice of ``code`` (English: American and British both)."""
    ids = _voice_ids(spec, settings)
    return bool(ids) and all(same_language(voice_id[0], code) for voice_id in ids)


def language_pool(code: str, settings: Settings) -> tuple[str, ...]:
    """The voices a per-user mix in ``code`` is drawn from: ``voice_pool`` voices of it and its own voice."""
    own = settings.languages.voices.get(code)
    pool: Iterable[str] = [v for v in default_pool(settings) if same_language(v[0], code)]
    return tuple(sorted(set(pool) | ({own} if own else set())))


def voice_for_language(sent_by: str, settings: Settings, code: str, chosen: str | None = None) -> str:
    """The voice spec for one line of ``sent_by`` in language ``code`` (see the module docstring)."""
    if same_language(code, settings.lang_code):
        chose = chosen is not None and chosen.lower() in {k.lower() for k in settings.voices}
        mixed = not chose and not settings.user_voices.get(login_key(sent_by)) and settings.voice_mode == "per_user"
        pool = language_pool(code, settings)
        if settings.languages.detect and mixed and pool:
            return per_user_mix(sent_by, pool)  # never a blend across languages (it brings an accent)
        return resolve_voice(sent_by, settings, chosen)
    if chosen is not None and chosen.lower() in {k.lower() for k in settings.voices}:
        spec = f"{chosen.lower()}100"
        if of_language(spec, code, settings):
            return spec
    override = settings.user_voices.get(login_key(sent_by))
    if override and of_language(override, code, settings):
        return override
    pool = language_pool(code, settings)
    if settings.voice_mode == "per_user" and pool:
        return per_user_mix(sent_by, pool)
    return settings.languages.voices.get(code) or ENGLISH_VOICES.get(code) or resolve_voice(sent_by, settings, chosen)


def language_voice_specs(old: Settings, new: Settings) -> list[tuple[str, str]]:
    """``(settings key, voice)`` for each ``languages.voices`` entry a live edit starts to use (each pack is
    loaded before the edit applies; a missing one refuses the edit, naming the key)."""
    enabled = enabled_languages(new)
    return [(f"languages.voices.{code}", voice) for code, voice in sorted(new.languages.voices.items())
            if code in enabled and (old.languages.voices.get(code) != voice or code not in enabled_languages(old))]
