"""The running side of languages: viewers' ``!lang`` choices (database + memory) and the detector warm-up."""

from __future__ import annotations

import asyncio
import logging

from core.chat import IncomingChat
from core.language import Scorer
from core.language_command import language_command
from core.logins import login_key
from core.settings import Settings
from core.voice_command import VoiceAction, VoiceCommand, VoiceCommandMemory
from service.database import AsyncStore
from storage.viewer_languages import ViewerLanguageStore

log = logging.getLogger(__name__)


def scorer_for(settings: Settings) -> Scorer | None:
    """The language detector when ``languages.detect`` is on."""
    if not settings.languages.detect:
        return None
    from core.language_detector import fasttext_scores

    return fasttext_scores


class ViewerLanguages:
    """Every viewer's ``!lang`` choice, all of it in memory (read on each accepted line), kept in the DB."""

    def __init__(self, db: AsyncStore) -> None:
        self._db = db
        self.store = ViewerLanguageStore(db.store.engine)
        self.choices: dict[str, str] = {}
        self.commands = VoiceCommandMemory()

    async def start(self, settings: Settings) -> None:
        self.choices = await self._db.call(self.store.all)
        scorer = scorer_for(settings)
        if scorer is not None:  # the detector's model loads on first use (~0.3 s): not on the event loop
            await asyncio.to_thread(scorer, "warm up", ("en", "es"))

    def choice(self, sent_by: str) -> str | None:
        return self.choices.get(login_key(sent_by))

    def command(self, chat: IncomingChat, settings: Settings, now: float) -> VoiceCommand | None:
        return language_command(chat, settings, self.commands, now)

    async def apply(self, command: VoiceCommand) -> None:
        """``!lang <code>`` / ``!lang``: store or forget the viewer's language; never spoken, never answered."""
        if command.action is VoiceAction.SET and command.name is not None:
            await self._db.call(self.store.set, command.login, command.name)
            self.choices[command.login] = command.name
            log.info("viewer %s chose the language %r", command.login, command.name)
        elif command.action is VoiceAction.RESET:
            await self._db.call(self.store.reset, command.login)
            self.choices.pop(command.login, None)
            log.info("viewer %s went back to automatic language", command.login)
        else:
            log.debug("!lang from %s: %s", command.login, command.reason)
