"""A viewer's ``!voice``/``!lang`` choice is kept in memory and in its table, found under any spelling of the
login, survives a restart, and a refused command changes nothing."""

from __future__ import annotations

from pathlib import Path

from core.voice_command import VoiceAction, VoiceCommand
from service.database import AsyncStore
from service.viewer_choices import ViewerChoices
from storage.database import create_database
from storage.messages import MessageStore
from storage.viewer_languages import ViewerLanguageStore
from storage.viewer_voices import ViewerVoiceStore


async def test_choices_are_kept_found_by_login_key_and_reloaded(tmp_path: Path) -> None:
    db = AsyncStore(MessageStore(create_database(f"sqlite:///{tmp_path / 'choices.db'}")))
    voices = ViewerChoices(db, ViewerVoiceStore(db.store.engine), "!voice", "voice", "the default voice")
    languages = ViewerChoices(db, ViewerLanguageStore(db.store.engine), "!lang", "language", "automatic language")
    await voices.load()
    await voices.apply(VoiceCommand(VoiceAction.SET, "ärger", "bella"))
    await voices.apply(VoiceCommand(VoiceAction.SET, "bob", "george"))
    await voices.apply(VoiceCommand(VoiceAction.IGNORE, "carol", "nobody", "unknown voice"))
    await languages.apply(VoiceCommand(VoiceAction.SET, "ärger", "es"))
    assert voices.get("@Ärger") == "bella" and voices.get("carol") is None
    assert languages.get(" @ÄRGER") == "es"

    await voices.apply(VoiceCommand(VoiceAction.RESET, "bob"))
    reloaded = ViewerChoices(db, ViewerVoiceStore(db.store.engine), "!voice", "voice", "the default voice")
    await reloaded.load()
    assert reloaded.by_login == {"ärger": "bella"}, "the tables, not only memory, hold the choices"
    assert ViewerLanguageStore(db.store.engine).all() == {"ärger": "es"}
