"""The vocabulary shared by every layer: queues, sources, statuses and an incoming chat line."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field


class QueueName(enum.StrEnum):
    """The two queues; exactly one of them is active at a time."""

    MENTIONS = "mentions"
    BITS = "bits"

    def other(self) -> QueueName:
        return QueueName.BITS if self is QueueName.MENTIONS else QueueName.MENTIONS


class Source(enum.StrEnum):
    """Where a chat line came from (kept per message for auditing and duplicate detection)."""

    APP_HTTP = "app_http"
    APP_WS = "app_ws"
    TWITCH = "twitch"


class Origin(enum.StrEnum):
    """Why an item is in a queue: the way the viewer asked to be heard (shown as ``source`` in every view).

    ``source`` above is the transport a line arrived by; ``origin`` is what kind of request it is.
    """

    MENTION = "mention"
    CHAT = "chat"
    COMMAND = "command"
    CHEER = "cheer"
    CHANNEL_POINTS = "channel_points"
    NOTIFICATION = "notification"
    APP = "app"
    API = "api"

    @classmethod
    def default_for(cls, bits_amount: int | None) -> Origin:
        """The origin of a line that names none: a cheer, or a mention (the rules before trigger modes)."""
        return cls.CHEER if bits_amount is not None else cls.MENTION


class Status(enum.StrEnum):
    """Life cycle of a queued message.

    pending -> synthesizing -> ready -> playing -> played; ``error`` when synthesis failed;
    ``skipped`` when the message was stored but deliberately not spoken (reason recorded).
    """

    PENDING = "pending"
    SYNTHESIZING = "synthesizing"
    READY = "ready"
    PLAYING = "playing"
    PLAYED = "played"
    ERROR = "error"
    SKIPPED = "skipped"


#: Statuses that count towards the queue size (the App's "queue size" button).
WAITING_STATUSES: frozenset[Status] = frozenset({Status.PENDING, Status.SYNTHESIZING, Status.READY})
#: Statuses of a row still in its queue or playing: what Clear, removal and the audio cap act on.
LIVE_STATUSES: frozenset[Status] = WAITING_STATUSES | {Status.PLAYING}


class DeleteReason(enum.StrEnum):
    CLEARED = "cleared"
    OVERFLOW = "overflow"
    #: a moderator removed it (one item, a chatter's lines, a Twitch message delete / timeout / ban)
    REMOVED = "removed"
    #: a mention older than ``mentions_max_age`` when its turn came
    STALE = "stale"
    #: a cheer waiting for approval that a moderator rejected
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True)
class IncomingChat:
    """One chat line as it reaches the server, before any queue decision.

    ``bits_amount`` is ``None`` for a plain ``Message`` and a positive int for a ``BitsMessage``.
    ``emotes`` holds words known to be emotes (Twitch EventSub fragments tell the bot exactly which).
    ``external_id`` is the Twitch message id when known, used to drop a line delivered twice.
    """

    sent_by: str
    text: str
    source: Source
    bits_amount: int | None = None
    emotes: frozenset[str] = field(default_factory=frozenset)
    external_id: str | None = None
    #: What kind of request this is; ``None``: decided from the line (``Origin.default_for``).
    origin: Origin | None = None
    #: The chatter's badges / role names (``core.triggers.roles_of``); ``None``: unknown (passes the role gate).
    badges: frozenset[str] | None = None
    #: The viewer's first message in the channel (Twitch's ``user_intro``).
    first_message: bool = False

    @property
    def is_cheer(self) -> bool:
        return self.bits_amount is not None
