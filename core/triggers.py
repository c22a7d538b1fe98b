"""Trigger rules: which chat lines are read at all, and why (``triggers:`` in settings.yaml).

One rule set for the bot's chat lines and the App's ``Message`` alike, applied by ``core.queue_rules.decide``
before everything else it checks (cooldowns, banned words and clean-up follow in every mode):

* ``mention`` (the default, the rules before trigger modes): a line that @mentions the streamer;
* ``command``: ``!tts <text>`` reads ``<text>`` (the command word is ``triggers.command``);
* ``all``: every line, read as it is (a leading ``@streamer`` is not dropped). ``!tts <text>`` works here too.

``ignored_prefixes`` drops every other ``!command`` in every mode; the trigger command passes. A line whose
first word after the command is a moderation word (``!tts skip``) is a moderation command, never read.
Cheers are paid for: they are read in every mode, whatever the chatter's roles.

``roles`` (empty: everyone) lets only chatters with one of those roles be read. Roles come from Twitch chat
badges (the bot) or the App's ``badges`` list; a line that carries no badges at all (an App that does not send
them) passes, as before roles existed. ``first_time_chatters`` also reads a viewer's first message in the
channel (Twitch's ``user_intro``), whatever the mode and the roles.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from core.chat import IncomingChat, Origin
from core.mentions import mentions_streamer
from core.settings import Settings

#: Badge set ids (and role names an App may send) -> the role they give. A founder is a subscriber too.
_BADGE_ROLES: dict[str, tuple[str, ...]] = {
    "broadcaster": ("broadcaster",),
    "moderator": ("moderator",),
    "lead_moderator": ("moderator",),
    "vip": ("vip",),
    "subscriber": ("subscriber",),
    "founder": ("founder", "subscriber"),
    "artist": ("artist",),
    "artist-badge": ("artist",),
}


def roles_of(badges: Iterable[str]) -> frozenset[str]:
    """The trigger roles a set of badges gives (unknown badges give none)."""
    return frozenset(role for badge in badges for role in _BADGE_ROLES.get(badge.strip().lower(), ()))


@dataclass(frozen=True, slots=True)
class Trigger:
    """Read ``text`` (the line, or what follows the command) as ``origin``; ``origin`` None: not read (``reason``).

    ``strip_streamer``: a leading ``@streamer`` is addressed to the streamer and dropped (every mode but ``all``).
    """

    origin: Origin | None
    text: str = ""
    reason: str | None = None
    strip_streamer: bool = True

    @property
    def read(self) -> bool:
        return self.origin is not None


def _command_text(text: str, command: str) -> str | None:
    """``"!tts hello"`` -> ``"hello"`` (the command word in any case); ``None`` when the line is not the command."""
    parts = text.strip().split(maxsplit=1)
    if not parts or parts[0].casefold() != command.casefold():
        return None
    return parts[1].strip() if len(parts) > 1 else ""


def trigger(chat: IncomingChat, settings: Settings) -> Trigger:
    """Apply the trigger rules to one chat line (``ignored_users`` and duplicates are checked by the caller)."""
    rules = settings.triggers
    strip = rules.mode != "all"
    if chat.is_cheer:
        return Trigger(Origin.CHEER, chat.text, strip_streamer=strip)
    command_text = _command_text(chat.text, rules.command) if rules.mode in {"command", "all"} else None
    if command_text is not None:
        first = command_text.split(maxsplit=1)[0] if command_text else ""
        if rules.command.casefold() == f"!{settings.mod_command}".casefold() and first \
                and settings.mod_commands.action(first) is not None:
            return Trigger(None, reason="moderation command")
        if not command_text:
            return Trigger(None, reason="command without text")
    elif any(chat.text.lstrip().startswith(p) for p in settings.ignored_prefixes):
        return Trigger(None, reason="chat command")

    if chat.origin is Origin.API:  # GET /api/speak: a tool asked for it, no @mention or command needed
        return Trigger(Origin.API, chat.text, strip_streamer=strip)
    first_time = rules.first_time_chatters and chat.first_message
    if command_text is not None:
        matched: Trigger = Trigger(Origin.COMMAND, command_text, strip_streamer=strip)
    elif rules.mode == "all":
        matched = Trigger(Origin.CHAT, chat.text, strip_streamer=False)
    elif rules.mode == "mention" and mentions_streamer(chat.text, settings.username):
        matched = Trigger(Origin.MENTION, chat.text)
    elif first_time:
        return Trigger(Origin.CHAT, chat.text, strip_streamer=strip)
    else:
        reason = "not a mention" if rules.mode == "mention" else f"not the {rules.command} command"
        return Trigger(None, reason=reason)

    if chat.badges is not None and rules.roles and roles_of(chat.badges).isdisjoint(rules.roles):
        if first_time:  # a first message is read whatever the roles
            return matched
        return Trigger(None, reason=f"not one of the roles {', '.join(rules.roles)}")
    return matched
