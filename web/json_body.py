"""Read a request's JSON body without letting hostile JSON reach an unhandled exception.

``json.loads`` raises ``RecursionError`` on deep nesting, ``ValueError`` on a number over Python's int digit
limit, and accepts ``NaN``/``Infinity``; ``request.json()`` raises ``LookupError`` for an unknown charset.
Every one of those is the client's fault and becomes ``BodyError`` (``Malformed``, or ``UnsupportedEncoding``
for an unknown charset), with a reason.
"""

from __future__ import annotations

import codecs
import json
from typing import Any

from aiohttp import web

from core.errors import Malformed, UnsupportedEncoding

#: Deeper than any payload of ours; checked before parsing, so the parser never recurses that far.
MAX_NESTING = 64


class BodyError(Malformed):
    """The body is not plain, reasonably shaped JSON."""


class UnknownCharset(BodyError, UnsupportedEncoding):
    """The body names a charset this server does not know."""


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _nesting(text: str) -> int:
    """The deepest bracket nesting outside strings (a linear scan; cheap next to parsing)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def parse_json(text: str) -> Any:
    """Parse client JSON; ``BodyError`` for anything that is not plain, reasonably shaped JSON."""
    if text.count("[") + text.count("{") > MAX_NESTING and _nesting(text) > MAX_NESTING:
        raise BodyError(f"the JSON is nested deeper than {MAX_NESTING} levels")
    try:
        return json.loads(text, parse_constant=_refuse_constant)
    except RecursionError:
        raise BodyError("the JSON is nested too deeply") from None
    except ValueError as exc:  # JSONDecodeError, a number over the digit limit, NaN/Infinity
        reason = "a number is too long" if "digits" in str(exc) else "the body is not valid JSON"
        raise BodyError(reason) from None


async def read_json(request: web.Request) -> Any:
    """The body as JSON (``{}`` when there is none)."""
    if not request.body_exists:  # not can_read_body: limits.body_in_time has already read (cached) it
        return {}
    raw = await request.read()  # 413 (aiohttp) above client_max_size
    charset = request.charset or "utf-8"
    try:
        codecs.lookup(charset)
    except LookupError:
        raise UnknownCharset(f"unknown charset {charset!r} (send UTF-8)") from None
    try:
        text = raw.decode(charset)
    except UnicodeDecodeError:
        raise BodyError(f"the body is not valid {charset}") from None
    return parse_json(text)
