"""Channel-point redemptions: what Twitch is told when an item ends (docs/queue-rules.md, "Channel points and
refunds").

Pure rules, no I/O. A redemption of our own reward waits in Twitch's reward queue as ``UNFULFILLED`` until we
mark it: ``FULFILLED`` keeps the viewer's points, ``CANCELED`` gives them back. The rule: the viewer keeps paying
only when they were heard to the end, or when a moderator removed them for a timeout or ban.
"""

from __future__ import annotations

import enum

from core.chat import DeleteReason, Status
from core.moderation import SKIP_REASON

#: The reason a channel-point item gets when its ``user_input`` is empty (nothing to read; refunded).
EMPTY_REASON = "empty"
#: The reason ``STOP`` leaves on the item it ended early (the played status alone means "heard to its end").
STOP_REASON = "stopped"


class RedemptionStatus(enum.StrEnum):
    """Twitch's status of a redemption (lower case here; Helix spells them in capitals)."""

    UNFULFILLED = "unfulfilled"
    FULFILLED = "fulfilled"
    CANCELED = "canceled"

    @property
    def helix(self) -> str:
        return self.value.upper()

    def pending(self) -> str:
        """The item's ``redemption_status`` while the PATCH that sets this status is not acknowledged yet."""
        return f"pending: {self.value}"


class Ending(enum.StrEnum):
    """How a channel-point item left the queue."""

    PLAYED = "played"                  # played to its end (a player reported the end, or its time ran out)
    STOPPED = "stopped"                # ended early by STOP
    SKIPPED = "skipped"                # ended by SKIP
    REMOVED = "removed"                # a moderator removed it (dashboard, API, ``!tts remove``)
    CLEARED = "cleared"                # CLEAR, ``!ttsclear``, a Twitch chat clear
    STALE = "stale"                    # too old when its turn came
    OVERFLOW = "overflow"              # dropped by the audio cap
    REJECTED = "rejected"              # waiting for approval, rejected
    FAILED = "failed"                  # synthesis failed
    REFUSED = "refused"                # banned word, hygiene left nothing to say, a cooldown
    EMPTY = "empty"                    # the viewer typed nothing
    USER_MODERATED = "user_moderated"  # the viewer was timed out or banned
    TWITCH = "twitch"                  # a moderator completed or refunded it in Twitch's own reward queue


_REFUNDS: dict[Ending, RedemptionStatus | None] = {
    Ending.PLAYED: RedemptionStatus.FULFILLED,
    Ending.USER_MODERATED: RedemptionStatus.FULFILLED,
    Ending.STOPPED: RedemptionStatus.CANCELED,
    Ending.SKIPPED: RedemptionStatus.CANCELED,
    Ending.REMOVED: RedemptionStatus.CANCELED,
    Ending.CLEARED: RedemptionStatus.CANCELED,
    Ending.STALE: RedemptionStatus.CANCELED,
    Ending.OVERFLOW: RedemptionStatus.CANCELED,
    Ending.REJECTED: RedemptionStatus.CANCELED,
    Ending.FAILED: RedemptionStatus.CANCELED,
    Ending.REFUSED: RedemptionStatus.CANCELED,
    Ending.EMPTY: RedemptionStatus.CANCELED,
    Ending.TWITCH: None,
}


def refund_status(ending: Ending) -> RedemptionStatus | None:
    """The status to send Twitch for an item that ended this way; ``None``: send nothing (Twitch decided)."""
    return _REFUNDS[ending]


_DELETED: dict[str, Ending] = {
    DeleteReason.CLEARED.value: Ending.CLEARED,
    DeleteReason.REMOVED.value: Ending.REMOVED,
    DeleteReason.STALE.value: Ending.STALE,
    DeleteReason.OVERFLOW.value: Ending.OVERFLOW,
    DeleteReason.REJECTED.value: Ending.REJECTED,
}


def ending_of(status: Status, is_deleted: bool, deleted_reason: str | None, reason: str | None) -> Ending | None:
    """How an item ended, from its stored row; ``None`` while it is still waiting or playing."""
    if is_deleted:
        return _DELETED.get(deleted_reason or "", Ending.REMOVED)
    if status is Status.PLAYED:
        return Ending.STOPPED if reason == STOP_REASON else Ending.PLAYED
    if status is Status.ERROR:
        return Ending.FAILED
    if status is Status.SKIPPED:
        if reason == SKIP_REASON:
            return Ending.SKIPPED
        return Ending.EMPTY if reason == EMPTY_REASON else Ending.REFUSED
    return None


def twitch_status(value: str) -> RedemptionStatus | None:
    """A status as Twitch sends it (any case); ``None`` for ``unknown`` or anything else."""
    try:
        return RedemptionStatus(value.lower())
    except ValueError:
        return None


def is_settled(redemption_status: str | None) -> bool:
    """True once a final status was decided for the item (sent, being sent, or decided on Twitch)."""
    return redemption_status not in (None, RedemptionStatus.UNFULFILLED.value)
