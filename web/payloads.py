"""Validate the App's JSON payloads into domain objects; every problem is a clear ``PayloadError``.

Unknown fields are ignored (newer App versions may send more); wrong types, missing fields, empty or
over-long text and non-positive ``bits_amount`` are refused and nothing is stored.
"""

from __future__ import annotations

import re
from typing import Any

from core.chat import IncomingChat, QueueName, Source
from core.errors import Invalid, Malformed

MAX_SENT_BY_CHARS = 64
MAX_BITS = 1_000_000_000
#: The App's ``badges``: at most this many role names (Twitch badge set ids), each at most this long.
MAX_BADGES = 32
MAX_BADGE_CHARS = 64
#: A lone UTF-16 surrogate (JSON ``"\ud800"``) is valid JSON but no character: SQLite cannot store it.
#: It becomes U+FFFD, the replacement character, so the rest of the line is still read and stored.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


class PayloadError(Invalid):
    """A payload breaks a rule; ``field`` names the key at fault."""


def refusal(exc: PayloadError, body: Any) -> Invalid:
    """A payload problem as the request's refusal: a body that is not a JSON object at all is ``Malformed``,
    any other problem stays ``Invalid``."""
    return exc if isinstance(body, dict) else Malformed(str(exc), exc.field)


def _object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise PayloadError("the body must be a JSON object")
    return body


def _string(body: dict[str, Any], field: str, max_chars: int) -> str:
    if field not in body:
        raise PayloadError(f"'{field}' is required", field)
    value = body[field]
    if not isinstance(value, str):
        raise PayloadError(f"'{field}' must be a string", field)
    value = _LONE_SURROGATE.sub("\ufffd", value)
    if not value.strip():
        raise PayloadError(f"'{field}' must not be empty", field)
    if len(value) > max_chars:
        raise PayloadError(f"'{field}' is longer than {max_chars} characters", field)
    return value.strip()


def parse_message(body: Any, source: Source, max_text_chars: int) -> IncomingChat:
    """``{"sent_by": str, "text": str, "message_id"?: str, "badges"?: [str], "first_message"?: bool}``"""
    body = _object(body)
    return IncomingChat(sent_by=_string(body, "sent_by", MAX_SENT_BY_CHARS),
                        text=_string(body, "text", max_text_chars), source=source,
                        external_id=parse_message_id(body, required=False),
                        badges=parse_badges(body), first_message=parse_first_message(body))


def parse_badges(body: dict[str, Any]) -> frozenset[str] | None:
    """``badges``: the chatter's role names (``moderator``, ``vip``, ``subscriber``...; Twitch badge set ids).

    Absent or null: the App does not say, and the line passes the trigger rules' role gate as before.
    """
    value = body.get("badges")
    if value is None:
        return None
    if not isinstance(value, list) or len(value) > MAX_BADGES:
        raise PayloadError(f"'badges' must be a list of at most {MAX_BADGES} role names", "badges")
    if not all(isinstance(b, str) and 0 < len(b.strip()) <= MAX_BADGE_CHARS for b in value):
        raise PayloadError(f"each of 'badges' must be a role name of 1 to {MAX_BADGE_CHARS} characters", "badges")
    return frozenset(b.strip().lower() for b in value)


def parse_first_message(body: dict[str, Any]) -> bool:
    """``first_message``: the viewer's first message in the channel (absent or null: false)."""
    value = body.get("first_message")
    if value is None:
        return False
    if not isinstance(value, bool):
        raise PayloadError("'first_message' must be true or false", "first_message")
    return value


def parse_bits(body: Any, source: Source, max_text_chars: int) -> IncomingChat:
    """``{"sent_by": str, "text": str, "bits_amount": int > 0}``"""
    body = _object(body)
    sent_by = _string(body, "sent_by", MAX_SENT_BY_CHARS)
    text = _string(body, "text", max_text_chars)
    if "bits_amount" not in body:
        raise PayloadError("'bits_amount' is required", "bits_amount")
    bits = body["bits_amount"]
    if isinstance(bits, bool) or not isinstance(bits, int):
        raise PayloadError("'bits_amount' must be a whole number", "bits_amount")
    if not 0 < bits <= MAX_BITS:
        raise PayloadError("'bits_amount' must be a positive integer", "bits_amount")
    return IncomingChat(sent_by=sent_by, text=text, source=source, bits_amount=bits,
                        external_id=parse_message_id(body, required=False),
                        badges=parse_badges(body), first_message=parse_first_message(body))


def parse_flag(body: Any, field: str = "enabled") -> bool:
    body = _object(body)
    value = body.get(field)
    if not isinstance(value, bool):
        raise PayloadError(f"'{field}' must be true or false", field)
    return value


def parse_mode(body: Any) -> QueueName:
    body = _object(body)
    value = body.get("mode")
    try:
        return QueueName(value)
    except ValueError:
        raise PayloadError("'mode' must be \"mentions\" or \"bits\"", "mode") from None


def parse_optional_queue(body: Any) -> QueueName | None:
    """``{}`` or ``{"queue": "mentions" | "bits"}`` (Clear: the queue the streamer confirmed)."""
    value = _object(body).get("queue")
    if value is None:
        return None
    try:
        return QueueName(value)
    except (ValueError, TypeError):
        raise PayloadError("'queue' must be \"mentions\" or \"bits\"", "queue") from None


#: Ids are SQLite integers: above this the driver raises OverflowError.
MAX_ID = 2**63 - 1


def whole_number(raw: str) -> int | None:
    """A whole number 0 .. ``MAX_ID`` from ASCII digits only (``str.isdigit`` also accepts ``²`` and ``١``), or
    None. The one parser of ids and cursors in paths and query strings."""
    if not (0 < len(raw) <= len(str(MAX_ID)) and raw.isascii() and raw.isdigit()):
        return None
    value = int(raw)
    return value if value <= MAX_ID else None


def ascii_id(raw: str) -> int | None:
    """A positive id (``whole_number`` above 0), or None."""
    value = whole_number(raw)
    return value if value else None


def parse_id(value: Any) -> int:
    if isinstance(value, str):
        value = ascii_id(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= MAX_ID:
        raise PayloadError("'id' must be a message id", "id")
    return value


#: A ``progress`` position above this (a day of audio) is not a position.
MAX_POSITION_S = 86_400.0


def parse_position(body: Any) -> float:
    """``{"position": seconds}``: how far a player has played an item (a finite number, 0 .. a day)."""
    value = _object(body).get("position")
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= MAX_POSITION_S:
        raise PayloadError("'position' must be the seconds played so far (a number, 0 or more)", "position")
    return float(value)


# --- moderation -----------------------------------------------------------------------------------------------
MAX_MESSAGE_ID_CHARS = 64


def parse_message_id(body: Any, required: bool = True) -> str | None:
    """``message_id``: the Twitch chat message id (stored as the item's external id), 1-64 characters."""
    body = _object(body)
    if "message_id" not in body or body["message_id"] is None:
        if required:
            raise PayloadError("'message_id' is required", "message_id")
        return None
    return _string(body, "message_id", MAX_MESSAGE_ID_CHARS)


def parse_login(body: Any) -> str:
    """``{"login": str}``: a chatter's Twitch login (a leading ``@`` is allowed)."""
    login = _string(_object(body), "login", MAX_SENT_BY_CHARS).lstrip("@").strip()
    if not login or any(c.isspace() for c in login):
        raise PayloadError("'login' must be one Twitch login", "login")
    return login
