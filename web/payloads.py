"""Validate the App's JSON payloads into domain objects; every problem is a clear ``PayloadError``.

The chat line bodies (``Message``, ``BitsMessage``) are pydantic models: each limit sits on its field, and
``web/openapi.yaml``'s request schemas for them are generated from these models (``web.openapi_schemas``).
Unknown fields are ignored (newer App versions may send more); wrong types, missing fields, empty or
over-long text and non-positive ``bits_amount`` are refused and nothing is stored.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from core.chat import IncomingChat, QueueName, Source
from core.errors import Invalid, Malformed

MAX_SENT_BY_CHARS = 64
MAX_BITS = 1_000_000_000
#: The App's ``badges``: at most this many role names (Twitch badge set ids), each at most this long.
MAX_BADGES = 32
MAX_BADGE_CHARS = 64
#: The most ``text`` the ``max_input_chars`` setting may allow (the setting itself is the limit in force).
MAX_TEXT_CHARS = 100_000
MAX_MESSAGE_ID_CHARS = 64
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


def _clean(field: str, value: Any, max_chars: int) -> str:
    """Text that is a string, not only white space, at most ``max_chars`` long (as sent); returned stripped."""
    if not isinstance(value, str):
        raise ValueError(f"'{field}' must be a string")
    value = _LONE_SURROGATE.sub("\ufffd", value)
    if not value.strip():
        raise ValueError(f"'{field}' must not be empty")
    if len(value) > max_chars:
        raise ValueError(f"'{field}' is longer than {max_chars} characters")
    return value.strip()


def _string(body: dict[str, Any], field: str, max_chars: int) -> str:
    if field not in body:
        raise PayloadError(f"'{field}' is required", field)
    try:
        return _clean(field, body[field], max_chars)
    except ValueError as exc:
        raise PayloadError(str(exc), field) from None


Badge = Annotated[str, Field(min_length=1, max_length=MAX_BADGE_CHARS)]


class Message(BaseModel):
    """A chat line from the App (``POST /api/messages``, the WebSocket's ``message`` frame)."""

    model_config = ConfigDict(frozen=True, extra="ignore", title="Message")

    sent_by: str = Field(min_length=1, max_length=MAX_SENT_BY_CHARS, description="not only white space")
    text: str = Field(min_length=1, max_length=MAX_TEXT_CHARS,
                      description="not only white space; at most max_input_chars (setting, default 2000)")
    message_id: str | None = Field(
        None, max_length=MAX_MESSAGE_ID_CHARS,
        description="optional Twitch chat message id, stored with the item so a moderator's delete on Twitch "
                    "(delete_message) can remove it")
    badges: list[Badge] | None = Field(
        None, max_length=MAX_BADGES,
        description="optional: the chatter's roles (broadcaster, moderator, vip, subscriber, founder, artist; "
                    "Twitch badge set ids such as lead_moderator or artist-badge also count) for the trigger "
                    "rules' roles gate; absent or null: the line passes the gate")
    first_message: bool | None = Field(
        None, description="optional: the viewer's first message in the channel (Twitch's user_intro); read "
                          "whatever the mode with triggers.first_time_chatters")

    @field_validator("sent_by", "text", "message_id", mode="before")
    @classmethod
    def _text(cls, value: Any, info: ValidationInfo) -> Any:
        """Strings only (no number turned into text); the ``text`` limit in force is ``max_input_chars``."""
        name = info.field_name or ""
        if value is None and name == "message_id":
            return None
        limits = {"sent_by": MAX_SENT_BY_CHARS, "message_id": MAX_MESSAGE_ID_CHARS}
        return _clean(name, value, limits.get(name) or (info.context or {}).get("max_text_chars", MAX_TEXT_CHARS))

    @field_validator("badges", mode="before")
    @classmethod
    def _badges(cls, value: Any) -> Any:
        """Role names (Twitch badge set ids), trimmed and lower-cased."""
        if value is None:
            return None
        if not isinstance(value, list) or len(value) > MAX_BADGES:
            raise ValueError(f"'badges' must be a list of at most {MAX_BADGES} role names")
        if not all(isinstance(b, str) and 0 < len(b.strip()) <= MAX_BADGE_CHARS for b in value):
            raise ValueError(f"each of 'badges' must be a role name of 1 to {MAX_BADGE_CHARS} characters")
        return [b.strip().lower() for b in value]

    @field_validator("first_message", mode="before")
    @classmethod
    def _first_message(cls, value: Any) -> Any:
        if value is not None and not isinstance(value, bool):
            raise ValueError("'first_message' must be true or false")
        return value

    def to_chat(self, source: Source, bits_amount: int | None = None) -> IncomingChat:
        return IncomingChat(sent_by=self.sent_by, text=self.text, source=source, bits_amount=bits_amount,
                            external_id=self.message_id,
                            badges=None if self.badges is None else frozenset(self.badges),
                            first_message=bool(self.first_message))


class BitsMessage(Message):
    """A cheer from the App (``POST /api/bits``, the WebSocket's ``bits`` frame)."""

    model_config = ConfigDict(title="BitsMessage")

    bits_amount: int = Field(ge=1, le=MAX_BITS, strict=True)


M = TypeVar("M", bound=BaseModel)
#: The order the fields are checked in: the first problem found is the one answered.
_FIELD_ORDER = ("sent_by", "text", "bits_amount", "message_id", "badges", "first_message")
#: Problems said the same way whatever pydantic's error type.
_PROBLEMS = {
    "missing": "'{field}' is required",
    "int_type": "'{field}' must be a whole number",
    "int_from_float": "'{field}' must be a whole number",
    "greater_than_equal": "'{field}' must be a positive integer",
    "less_than_equal": "'{field}' must be a positive integer",
}


def _validate(model: type[M], body: Any, max_text_chars: int = MAX_TEXT_CHARS) -> M:
    """``body`` as ``model``, or the ``PayloadError`` for the first field at fault."""
    try:
        return model.model_validate(_object(body), context={"max_text_chars": max_text_chars})
    except ValidationError as exc:
        order = {name: i for i, name in enumerate(_FIELD_ORDER)}
        first = min(exc.errors(), key=lambda e: order.get(str(e["loc"][0]), len(order)))
        field = str(first["loc"][0])
        cause = first.get("ctx", {}).get("error")
        fixed: dict[str, str] = getattr(model, "field_problems", {})
        if isinstance(cause, ValueError):  # a field validator's own words
            problem = str(cause)
        elif field in fixed:
            problem = fixed[field]
        elif first["type"] in _PROBLEMS:
            problem = _PROBLEMS[first["type"]].format(field=field)
        else:
            problem = f"'{field}': {first['msg']}"
        raise PayloadError(problem, field) from None


def parse_message(body: Any, source: Source, max_text_chars: int) -> IncomingChat:
    """``{"sent_by": str, "text": str, "message_id"?: str, "badges"?: [str], "first_message"?: bool}``"""
    return _validate(Message, body, max_text_chars).to_chat(source)


def parse_bits(body: Any, source: Source, max_text_chars: int) -> IncomingChat:
    """``{"sent_by": str, "text": str, "bits_amount": int > 0}`` and the optional fields of ``Message``."""
    cheer = _validate(BitsMessage, body, max_text_chars)
    return cheer.to_chat(source, cheer.bits_amount)


# --- the small control bodies ----------------------------------------------------------------------------------
QueueChoice = Literal["mentions", "bits"]
_QUEUE_PROBLEM = "'{}' must be \"mentions\" or \"bits\""


class Toggle(BaseModel):
    """``PUT /api/autoplay``: ``{"enabled": bool}``."""

    field_problems: ClassVar[dict[str, str]] = {"enabled": "'enabled' must be true or false"}

    enabled: bool = Field(strict=True)


class ModeChoice(BaseModel):
    """``PUT /api/mode``: the queue that plays."""

    field_problems: ClassVar[dict[str, str]] = {"mode": _QUEUE_PROBLEM.format("mode")}

    mode: QueueChoice


class ClearRequest(BaseModel):
    """``POST /api/clear``: optionally, the queue the streamer confirmed clearing."""

    field_problems: ClassVar[dict[str, str]] = {"queue": _QUEUE_PROBLEM.format("queue")}

    queue: QueueChoice | None = None


def parse_flag(body: Any, field: str = "enabled") -> bool:
    if field == "enabled":
        return _validate(Toggle, body).enabled
    value = _object(body).get(field)
    if not isinstance(value, bool):
        raise PayloadError(f"'{field}' must be true or false", field)
    return value


def parse_mode(body: Any) -> QueueName:
    return QueueName(_validate(ModeChoice, body).mode)


def parse_optional_queue(body: Any) -> QueueName | None:
    """``{}`` or ``{"queue": "mentions" | "bits"}`` (Clear: the queue the streamer confirmed)."""
    queue = _validate(ClearRequest, body).queue
    return None if queue is None else QueueName(queue)


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


class Progress(BaseModel):
    """The WebSocket's ``progress`` frame: how far a player has played an item."""

    field_problems: ClassVar[dict[str, str]] = {
        "position": "'position' must be the seconds played so far (a number, 0 or more)"}

    position: float = Field(strict=True, ge=0, le=MAX_POSITION_S, allow_inf_nan=False)


def parse_position(body: Any) -> float:
    """``{"position": seconds}``: how far a player has played an item (a finite number, 0 .. a day)."""
    return _validate(Progress, body).position


# --- moderation -----------------------------------------------------------------------------------------------


def parse_message_id(body: Any, required: bool = True) -> str | None:
    """``message_id``: the Twitch chat message id (stored as the item's external id), 1-64 characters."""
    body = _object(body)
    if "message_id" not in body or body["message_id"] is None:
        if required:
            raise PayloadError("'message_id' is required", "message_id")
        return None
    return _string(body, "message_id", MAX_MESSAGE_ID_CHARS)


class LoginRequest(BaseModel):
    """``POST /api/moderation/remove_user``: a chatter's Twitch login."""

    login: str = Field(min_length=1, max_length=MAX_SENT_BY_CHARS,
                       description="Twitch login, a leading @ allowed; matched case-insensitively against sent_by")

    @field_validator("login", mode="before")
    @classmethod
    def _login(cls, value: Any) -> str:
        login = _clean("login", value, MAX_SENT_BY_CHARS).lstrip("@").strip()
        if not login or any(c.isspace() for c in login):
            raise ValueError("'login' must be one Twitch login")
        return login


def parse_login(body: Any) -> str:
    """``{"login": str}``: a chatter's Twitch login (a leading ``@`` is allowed)."""
    return _validate(LoginRequest, body).login
