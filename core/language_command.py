"""The viewers' ``!lang <language>`` chat command, as a pure rule (like ``!voice``, ``core.voice_command``).

With ``languages.viewer_command: true`` a chatter picks the language their lines are read in: ``!lang es``,
``!lang e`` (Kokoro's code) or ``!lang spanish``; ``!lang`` alone goes back to automatic (detection, sticky,
``lang_code``). The language must be enabled (``languages.enabled`` or ``lang_code``); anything else is ignored
(a debug log line, nothing said in chat). At most one change per ``voice_command_cooldown`` seconds per viewer;
ignored commands do not start it. Runs before ``ignored_prefixes``; cheers are never commands.
"""

from __future__ import annotations

from core.chat import IncomingChat
from core.language import ISO_CODES, KOKORO_LANGUAGES
from core.settings import Settings
from core.voice_command import VoiceAction, VoiceCommand, VoiceCommandMemory, settle_choice, viewer_command

COMMAND = "!lang"
#: Names a viewer may type besides the Kokoro code: ISO 639-1 codes, BCP 47 tags and English names.
_NAMES: dict[str, str] = {
    "en-us": "a", "us": "a", "american": "a", "en-gb": "b", "gb": "b", "uk": "b", "british": "b",
    "english": "", "en": "",  # the channel's English (resolved below)
    "es": "e", "spanish": "e", "español": "e", "espanol": "e", "fr": "f", "french": "f", "français": "f",
    "francais": "f", "hi": "h", "hindi": "h", "it": "i", "italian": "i", "italiano": "i", "pt": "p", "pt-br": "p",
    "portuguese": "p", "português": "p", "portugues": "p", "ja": "j", "japanese": "j", "zh": "z", "chinese": "z",
}


def language_code(word: str, settings: Settings) -> str | None:
    """The Kokoro code a viewer means by ``word`` among the enabled languages, else ``None``."""
    word = word.casefold()
    enabled = set(settings.languages.enabled) | {settings.lang_code}
    code = word if word in KOKORO_LANGUAGES else _NAMES.get(word)
    if code == "":  # "en": the default English when it is English, else the first enabled English
        code = settings.lang_code if settings.lang_code in {"a", "b"} else ("a" if "a" in enabled else "b")
    if code is None or code not in enabled:
        return None
    return code


def language_command(chat: IncomingChat, settings: Settings, memory: VoiceCommandMemory,
                     now: float) -> VoiceCommand | None:
    """``None`` when the line is not a ``!lang`` command, else what to do (``name``: the Kokoro code)."""
    if not settings.languages.viewer_command or chat.is_cheer:
        return None
    parsed = viewer_command(chat, COMMAND, settings)
    if parsed is None:
        return None
    login, word = parsed
    code = language_code(word, settings) if word is not None else None
    if word is not None and code is None:
        return VoiceCommand(VoiceAction.IGNORE, login, word[:32],
                            f"language command ignored: unknown or disabled language {word[:32]!r}")
    chosen = f"{code} ({ISO_CODES[code]})" if code is not None else ""
    return settle_choice(login, code, memory, now, settings.voice_command_cooldown, "language", chosen,
                         "back to automatic")
