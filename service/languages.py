"""The running side of languages: viewers' ``!lang`` choices and the detector warm-up."""

from __future__ import annotations

import asyncio

from core.chat import IncomingChat
from core.language import Scorer
from core.language_command import language_command
from core.settings import Settings
from core.voice_command import VoiceCommand, VoiceCommandMemory
from service.database import AsyncStore
from service.viewer_choices import ViewerChoices
from storage.viewer_languages import ViewerLanguageStore


def scorer_for(settings: Settings) -> Scorer | None:
    """The language detector when ``languages.detect`` is on."""
    if not settings.languages.detect:
        return None
    from core.language_detector import fasttext_scores

    return fasttext_scores


class ViewerLanguages:
    """Every viewer's ``!lang`` choice (``service.viewer_choices``) and the detector warm-up."""

    def __init__(self, db: AsyncStore) -> None:
        self.chosen = ViewerChoices(db, ViewerLanguageStore(db.store.engine), "!lang", "language", "automatic language")
        self.commands = VoiceCommandMemory()

    async def start(self, settings: Settings) -> None:
        await self.chosen.load()
        scorer = scorer_for(settings)
        if scorer is not None:  # the detector's model loads on first use (~0.3 s): not on the event loop
            await asyncio.to_thread(scorer, "warm up", ("en", "es"))

    def choice(self, sent_by: str) -> str | None:
        return self.chosen.get(sent_by)

    def command(self, chat: IncomingChat, settings: Settings, now: float) -> VoiceCommand | None:
        return language_command(chat, settings, self.commands, now)

    async def apply(self, command: VoiceCommand) -> None:
        """``!lang <code>`` / ``!lang``: store or forget the viewer's language; never spoken, never answered."""
        await self.chosen.apply(command)
