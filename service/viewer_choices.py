"""What a viewer chose for themself with ``!voice`` or ``!lang``: one login -> value table, all of it in memory.

Both commands have the same life: read on every accepted line (so never a query on that path), stored or
forgotten when the viewer types the command, and loaded once at start. The rules for reading a command and its
cooldown live in ``core.voice_command``; this is only where the answer is kept.
"""

from __future__ import annotations

import logging
from typing import Protocol

from core.logins import login_key
from core.voice_command import VoiceAction, VoiceCommand
from service.database import AsyncStore

log = logging.getLogger(__name__)


class ChoiceTable(Protocol):
    """A table of one choice per login (``storage.viewer_voices``, ``storage.viewer_languages``)."""

    def all(self) -> dict[str, str]: ...
    def set(self, login: str, value: str) -> None: ...
    def reset(self, login: str) -> bool: ...


class ViewerChoices:
    """Viewers' choices of one kind, set by ``command`` (``!voice``); ``what`` ("voice") and ``default`` ("the
    default voice", what a reset goes back to) only word the log lines."""

    def __init__(self, db: AsyncStore, table: ChoiceTable, command: str, what: str, default: str) -> None:
        self._db = db
        self.table = table
        self.command = command
        self.what = what
        self.default = default
        self.by_login: dict[str, str] = {}

    async def load(self) -> None:
        self.by_login = await self._db.call(self.table.all)

    def get(self, sent_by: str) -> str | None:
        """The chatter's choice (``sent_by`` as chat spells it: ``@Alice`` and ``alice`` are one viewer)."""
        return self.by_login.get(login_key(sent_by))

    async def apply(self, command: VoiceCommand) -> None:
        """Store or forget the viewer's choice; a refused command changes nothing (and is never answered)."""
        if command.action is VoiceAction.SET and command.name is not None:
            await self._db.call(self.table.set, command.login, command.name)
            self.by_login[command.login] = command.name
            log.info("viewer %s chose the %s %r", command.login, self.what, command.name)
        elif command.action is VoiceAction.RESET:
            await self._db.call(self.table.reset, command.login)
            self.by_login.pop(command.login, None)
            log.info("viewer %s went back to %s", command.login, self.default)
        else:
            log.debug("%s from %s: %s", self.command, command.login, command.reason)
