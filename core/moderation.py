"""Moderation rules, pure: what may be removed, when a held item becomes playable, when a mention is stale,
chat moderation commands and who may use them.

One implementation for every way in (HTTP, WebSocket, the Twitch bot, the dashboard): the service applies
these decisions, the edges only translate. Clocks are passed in, never read here. See docs/queue-rules.md.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from core.chat import QueueName, Status
from core.logins import login_key

#: Badges whose holders may moderate the queue from chat (the ``!ttsclear`` guard).
MODERATOR_BADGES: frozenset[str] = frozenset({"broadcaster", "moderator", "lead_moderator"})
#: What a skipped item's ``reason`` says.
SKIP_REASON = "skipped by a moderator"


def may_moderate(badges: Iterable[str]) -> bool:
    """Only the broadcaster, moderators and lead moderators may moderate the queue from chat."""
    return not MODERATOR_BADGES.isdisjoint(badges)


def removal_refusal(status: Status, is_deleted: bool, deleted_reason: str | None) -> str | None:
    """Why an item cannot be removed (HTTP 409), or ``None`` when it can.

    Only live items (pending, synthesizing, ready, playing) can be removed. Every end state refuses: played,
    skipped (never spoken, or skipped by a moderator), error (synthesis failed) and already deleted (cleared,
    removed, overflow, stale, rejected). A repeated remove is therefore a 409, not a silent success.
    """
    if is_deleted:
        return f"message was already removed ({deleted_reason or 'deleted'})"
    if status is Status.PLAYED:
        return "message was already played"
    if status is Status.SKIPPED:
        return "message is not in the queue (skipped)"
    if status is Status.ERROR:
        return "message is not in the queue (synthesis failed)"
    return None


# --- hold, approval and stale mentions ------------------------------------------------------------------

def hold_for(queue: QueueName, hold_seconds: float) -> float:
    """How long after arrival an item of ``queue`` is held back: mentions only; bits wait for approval instead."""
    return hold_seconds if queue is QueueName.MENTIONS else 0.0


def playable_at(queue: QueueName, received_at: datetime, hold_seconds: float) -> datetime:
    """The moment a held item may play (``received_at`` itself when nothing holds it)."""
    return received_at + timedelta(seconds=hold_for(queue, hold_seconds))


def hold_left(queue: QueueName, received_at: datetime, now: datetime, hold_seconds: float) -> float:
    """Seconds until the item may play (0 when it may play now)."""
    return max(0.0, (playable_at(queue, received_at, hold_seconds) - now).total_seconds())


def stale_cutoff(queue: QueueName, now: datetime, max_age: float) -> datetime | None:
    """Items of ``queue`` received before this are dropped as stale when their turn comes; ``None``: never.

    Only mentions go stale (``mentions_max_age``, 0 = off); a cheer is paid for and always waits its turn.
    """
    if queue is not QueueName.MENTIONS or max_age <= 0:
        return None
    return now - timedelta(seconds=max_age)


@dataclass(frozen=True, slots=True)
class HoldView:
    """What a queue view says about an item's hold: ``held`` with the time left, or waiting for approval."""

    held: bool
    playable_at: datetime
    seconds_left: float
    awaiting_approval: bool


def hold_view(queue: QueueName, received_at: datetime, awaiting_approval: bool, now: datetime,
              hold_seconds: float) -> HoldView:
    left = hold_left(queue, received_at, now, hold_seconds)
    return HoldView(held=left > 0 or awaiting_approval, playable_at=playable_at(queue, received_at, hold_seconds),
                    seconds_left=round(left, 3), awaiting_approval=awaiting_approval)


# --- chat commands --------------------------------------------------------------------------------------

class ModAction(enum.StrEnum):
    SKIP = "skip"
    PAUSE = "pause"
    RESUME = "resume"
    REMOVE = "remove"


@dataclass(frozen=True, slots=True)
class CommandWords:
    """The words after the command name (``!tts skip``); configurable in settings (``mod_commands``)."""

    skip: str = "skip"
    pause: str = "pause"
    resume: str = "resume"
    remove: str = "remove"

    def action(self, word: str) -> ModAction | None:
        word = word.lower()
        for action in ModAction:
            if getattr(self, action.value).lower() == word:
                return action
        return None


@dataclass(frozen=True, slots=True)
class ModCommand:
    action: ModAction
    #: The chatter's login for ``remove`` (without ``@``, lower case).
    target: str | None = None


def parse_mod_command(args: str, words: CommandWords) -> ModCommand | None:
    """``"skip"``, ``"remove @Troll"``... (the text after ``!tts``) -> a command, or ``None`` (ignored silently).

    ``remove`` needs exactly one login; anything else after a word that takes no argument is ignored.
    """
    parts = args.split()
    if not parts:
        return None
    action = words.action(parts[0])
    if action is None:
        return None
    if action is ModAction.REMOVE:
        if len(parts) != 2:
            return None
        login = login_key(parts[1])
        return ModCommand(action, login) if login else None
    return ModCommand(action)


def parse_mod_command_line(text: str, name: str, words: CommandWords) -> ModCommand | None:
    """A whole chat line: ``!tts skip`` (``name`` = ``tts``, case-insensitive) -> a command; else ``None``."""
    parts = text.strip().split(maxsplit=1)
    if not parts or parts[0].lower() != f"!{name.lower()}":
        return None
    return parse_mod_command(parts[1] if len(parts) > 1 else "", words)


class ReplyThrottle:
    """At most one chat confirmation per command kind every ``interval`` seconds (the command always runs)."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._last: dict[str, float] = {}

    def allow(self, kind: str, now: float) -> bool:
        last = self._last.get(kind)
        if last is not None and now - last < self.interval:
            return False
        self._last[kind] = now
        return True
