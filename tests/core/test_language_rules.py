"""Each line's language through the queue rules: its spoken-text rules, name template and voices; ``!lang``."""

from __future__ import annotations

import dataclasses

import pytest

from core.chat import IncomingChat, Source, Status
from core.language import LangSource
from core.language_command import language_code, language_command
from core.language_detector import fasttext_scores
from core.language_rules import language_pool, language_voice_specs, voice_for_language
from core.language_settings import LanguageSettings
from core.queue_rules import ChatMemory, decide
from core.settings import Settings, build_settings
from core.voice_command import VoiceAction, VoiceCommandMemory

LANGS = LanguageSettings(detect=True)
SETTINGS = Settings(username="streamer", read_username_mentions=True, languages=LANGS)
SPANISH = "@streamer hola amigo, mira este video que encontré ayer https://clips.twitch.tv/Abc es buenísimo"
ENGLISH = "@streamer hey friend, look at this video i found yesterday https://clips.twitch.tv/Abc so good"


def chat(text: str, user: str = "ana", bits: int | None = None) -> IncomingChat:
    return IncomingChat(sent_by=user, text=text, source=Source.APP_HTTP, bits_amount=bits)


def test_english_rules_are_not_applied_to_spanish() -> None:
    settings = dataclasses.replace(SETTINGS, pronunciations={"amigo": "a meego"})
    spanish = decide(chat(SPANISH), settings, ChatMemory(), 0.0, scorer=fasttext_scores)
    assert (spanish.lang, spanish.lang_source) == ("e", LangSource.DETECTED)
    assert spanish.spoken_text == "ana dice: hola amigo, mira este video que encontré ayer enlace es buenísimo"
    assert "link" not in spanish.spoken_text and "says" not in spanish.spoken_text
    english = decide(chat(ENGLISH, user="bob"), settings, ChatMemory(), 0.0, scorer=fasttext_scores)
    assert english.lang == "a"
    assert english.spoken_text == "bob says: hey friend, look at this video i found yesterday link so good"


def test_each_language_has_its_own_pronunciations_and_name_template() -> None:
    settings = build_settings({"username": "streamer", "read_username_mentions": True,
                               "languages": {"detect": True}, "pronunciations": {
                                   "gg": "good game", "f": {"gg": "bien joué"}}})
    french = decide(chat("@streamer gg tout le monde, c'était vraiment un super match ce soir", user="zoé"),
                    settings, ChatMemory(), 0.0, scorer=fasttext_scores)
    assert french.lang == "f" and french.spoken_text.startswith("zoé dit : bien joué tout le monde")
    english = decide(chat("@streamer gg everyone, that was a really great match tonight", user="al"),
                     settings, ChatMemory(), 0.0, scorer=fasttext_scores)
    assert english.spoken_text.startswith("al says: good game everyone")
    hindi = dataclasses.replace(settings, languages=dataclasses.replace(
        settings.languages, enabled=("a", "h")))
    line = decide(chat("@streamer नमस्ते दोस्तों, आज का खेल बहुत अच्छा था", user="raj"), hindi, ChatMemory(), 0.0,
                  scorer=fasttext_scores)
    assert line.lang == "h" and line.spoken_text.startswith("raj: नमस्ते")  # no template for Hindi: plain


def test_a_script_no_enabled_language_reads_is_dropped() -> None:
    mixed = decide(chat("@streamer 안녕하세요 hello everyone, great stream today"), SETTINGS, ChatMemory(), 0.0,
                   scorer=fasttext_scores)
    assert mixed.will_speak and "안녕" not in mixed.spoken_text and mixed.lang == "a"
    korean = decide(chat("@streamer 안녕하세요 여러분"), SETTINGS, ChatMemory(), 0.0, scorer=fasttext_scores)
    assert korean.status is Status.SKIPPED and korean.reason == "unsupported language"
    emoji = decide(chat("@streamer 😂😂"), SETTINGS, ChatMemory(), 0.0, scorer=fasttext_scores)
    assert emoji.reason == "nothing left to say after clean-up"
    japanese = decide(chat("@streamer こんにちは"), SETTINGS, ChatMemory(), 0.0, scorer=fasttext_scores)
    assert japanese.reason == "unsupported language"  # ja not enabled


def test_a_mixed_line_is_spoken_in_its_dominant_language() -> None:
    line = "@streamer jajaja no puedo creer lo que acabas de hacer, eres el mejor del mundo lol"
    decision = decide(chat(line), SETTINGS, ChatMemory(), 0.0, scorer=fasttext_scores)
    assert decision.lang == "e"


def test_sticky_language_carries_short_lines() -> None:
    memory = ChatMemory()
    for _ in range(2):
        assert decide(chat(SPANISH), SETTINGS, memory, 0.0, scorer=fasttext_scores).lang == "e"
    short = decide(chat("@streamer jaja"), SETTINGS, memory, 0.0, scorer=fasttext_scores)
    assert (short.lang, short.lang_source) == ("e", LangSource.STICKY)
    assert decide(chat("@streamer jaja", user="new"), SETTINGS, memory, 0.0, scorer=fasttext_scores).lang == "a"


def test_detection_off_keeps_the_channel_language_and_its_rules() -> None:
    off = dataclasses.replace(SETTINGS, languages=LanguageSettings())
    decision = decide(chat(SPANISH), off, ChatMemory(), 0.0, scorer=None)
    assert (decision.lang, decision.lang_source) == ("a", LangSource.DEFAULT)
    assert decision.spoken_text.startswith("ana says:") and "link" in decision.spoken_text
    pinned = dataclasses.replace(off, languages=LanguageSettings(user_languages={"ana": "e"}))
    decision = decide(chat(SPANISH), pinned, ChatMemory(), 0.0)
    assert (decision.lang, decision.lang_source) == ("e", LangSource.USER)
    viewer = decide(chat(SPANISH), pinned, ChatMemory(), 0.0, viewer_lang="f")
    assert (viewer.lang, viewer.lang_source) == ("f", LangSource.VIEWER)


# --- voices ---------------------------------------------------------------------------------------------

VOICES = Settings(username="streamer", voice="heart", languages=LANGS,
                  voices={"heart": "af_heart", "bella": "af_bella", "dora": "ef_dora", "alex": "em_alex"})


def test_the_item_voice_is_the_language_voice() -> None:
    assert voice_for_language("ana", VOICES, "a") == "heart"
    assert voice_for_language("ana", VOICES, "b") == "heart"       # English is one language for voices
    assert voice_for_language("ana", VOICES, "e") == "ef_dora"
    assert voice_for_language("ana", VOICES, "f") == "ff_siwis"
    spanish_channel = dataclasses.replace(VOICES, lang_code="e", voice="dora100")
    assert voice_for_language("ana", spanish_channel, "e") == "dora100"
    assert voice_for_language("ana", spanish_channel, "a") == "af_heart"  # never the Spanish channel voice


def test_a_viewer_voice_wins_only_in_its_own_language() -> None:
    assert voice_for_language("ana", VOICES, "e", chosen="alex") == "alex100"
    assert voice_for_language("ana", VOICES, "a", chosen="alex") == "alex100"   # the default language: as before
    assert voice_for_language("ana", VOICES, "f", chosen="alex") == "ff_siwis"  # a Spanish voice for French: no
    assert voice_for_language("ana", VOICES, "e", chosen="bella") == "ef_dora"
    pinned = dataclasses.replace(VOICES, user_voices={"ana": "bella"})
    assert voice_for_language("ana", pinned, "e") == "ef_dora"
    assert voice_for_language("ana", pinned, "a") == "bella"


def test_per_user_mixes_are_drawn_from_that_language_only() -> None:
    per_user = dataclasses.replace(VOICES, voice_mode="per_user",
                                   voice_pool=("heart", "bella", "em_alex", "pm_alex", "ff_siwis"))
    assert language_pool("e", per_user) == ("ef_dora", "em_alex")
    for login in ("ana", "bob", "carl", "dora", "ed"):
        spanish = voice_for_language(login, per_user, "e")
        assert {part.split(":")[0] for part in spanish.split("+")} <= {"ef_dora", "em_alex"}
        english = voice_for_language(login, per_user, "a")
        assert all(part.startswith("af_") for part in english.split("+"))
    assert voice_for_language("ana", per_user, "i") == "if_sara"  # one voice of that language: alone


def test_live_edit_checks_each_new_language_voice() -> None:
    new = dataclasses.replace(VOICES, languages=dataclasses.replace(LANGS, voices={**LANGS.voices, "e": "em_alex"}))
    assert language_voice_specs(VOICES, new) == [("languages.voices.e", "em_alex")]
    assert language_voice_specs(VOICES, VOICES) == []


# --- !lang ----------------------------------------------------------------------------------------------

COMMANDS = dataclasses.replace(SETTINGS, languages=dataclasses.replace(LANGS, viewer_command=True),
                               voice_command_cooldown=30.0)


@pytest.mark.parametrize(("word", "code"), [("es", "e"), ("E", "e"), ("spanish", "e"), ("pt-BR", "p"),
                                            ("en", "a"), ("fr", "f"), ("ja", None), ("xx", None), ("b", None)])
def test_lang_names(word: str, code: str | None) -> None:
    assert language_code(word, COMMANDS) == code


def test_lang_command_sets_resets_ignores_and_cools_down() -> None:
    memory = VoiceCommandMemory()
    command = language_command(chat("!lang es"), COMMANDS, memory, 0.0)
    assert command is not None and (command.action, command.name) == (VoiceAction.SET, "e")
    again = language_command(chat("!lang fr"), COMMANDS, memory, 10.0)
    assert again is not None and again.action is VoiceAction.IGNORE and "cooldown" in again.reason
    unknown = language_command(chat("!lang klingon", user="bob"), COMMANDS, memory, 10.0)
    assert unknown is not None and unknown.action is VoiceAction.IGNORE and "unknown" in unknown.reason
    reset = language_command(chat("!lang", user="bob"), COMMANDS, memory, 11.0)   # ignored ones start no cooldown
    assert reset is not None and reset.action is VoiceAction.RESET
    assert language_command(chat("!lang es"), SETTINGS, memory, 100.0) is None   # viewer_command off
    assert language_command(chat("!lang es", bits=100), COMMANDS, memory, 100.0) is None
    assert language_command(chat("!language es"), COMMANDS, memory, 100.0) is None
    assert language_command(chat("!lang es", user="Nightbot"), COMMANDS, memory, 100.0) is None
