"""Validate the App's JSON payloads into domain objects; every problem is a clear ``PayloadError``.

Unknown fields are ignored (newer App versions may send more); wrong types, missing fields, empty or
over-long text and non-positive ``bits_amount`` are refused and nothing is stored.
"""

from __future__ import annotations

from typing import Any

from core.chat import IncomingChat, QueueName, Source

MAX_SENT_BY_CHARS = 64
MAX_BITS = 1_000_000_000


class PayloadError(ValueError):
    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


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
    if not value.strip():
        raise PayloadError(f"'{field}' must not be empty", field)
    if len(value) > max_chars:
        raise PayloadError(f"'{field}' is longer than {max_chars} characters", field)
    return value.strip()


def parse_message(body: Any, source: Source, max_text_chars: int) -> IncomingChat:
    """``{"sent_by": str, "text": str}``"""
    body = _object(body)
    return IncomingChat(sent_by=_string(body, "sent_by", MAX_SENT_BY_CHARS),
                        text=_string(body, "text", max_text_chars), source=source)


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
    return IncomingChat(sent_by=sent_by, text=text, source=source, bits_amount=bits)


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


def parse_id(value: Any) -> int:
    if isinstance(value, bool):
        raise PayloadError("'id' must be a message id", "id")
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or value <= 0:
        raise PayloadError("'id' must be a message id", "id")
    return value
