"""How a refusal leaves the server: one table, one error body, one middleware.

- ``STATUS`` maps the domain's exception classes (``core.errors``) to HTTP statuses; a subclass takes its
  nearest listed ancestor's status. ``answer_for`` adds the database faults ``storage.errors`` classifies:
  locked/busy is 503 with ``Retry-After`` (retry shortly), a full disk 507 (nothing was stored), any other
  operational failure 503. The HTTP middleware ``error_answers`` and the WebSocket's error frames both use it,
  so both transports say the same.
- The error body is ``{"error": message, "field": name}`` (``field`` only when one input is at fault). Under
  ``/v1``, the OpenAI-compatible API, the one variant: OpenAI's ``{"error": {"message", "type", "param",
  "code"}}``, with ``field`` as ``param`` (``error_response`` chooses it by the path).
- Anything else a handler raises is a server fault: logged once with its traceback, answered 500.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiohttp import hdrs, web
from multidict import CIMultiDict

from core.errors import (
    Conflict,
    Forbidden,
    Invalid,
    Malformed,
    NotFound,
    Refused,
    Unavailable,
    UnsupportedEncoding,
)
from storage.errors import DbFault, DbFaultKind, classify

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The domain's refusals as HTTP statuses (nearest class in the exception's MRO wins).
STATUS: dict[type[Exception], int] = {
    Refused: 400,  # a refusal of no more precise kind
    Malformed: 400,
    Forbidden: 403,
    NotFound: 404,
    Conflict: 409,
    UnsupportedEncoding: 415,
    Invalid: 422,
    Unavailable: 503,
}

#: Seconds a client should wait before retrying a request refused because the database was locked.
RETRY_AFTER_S = 2
#: The path prefix whose errors take OpenAI's shape.
OPENAI_PREFIX = "/v1"
INTERNAL_ERROR = "internal server error"


@dataclass(frozen=True)
class ErrorAnswer:
    """What to answer for an exception: status, the ``{"error", "field"?}`` body, extra headers."""

    status: int
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    #: Set when the exception was a database fault (logged as one, not as a server bug).
    fault: DbFault | None = None


def error_body(message: str, field: str | None = None) -> dict[str, Any]:
    """The one error body: ``{"error": message}``, plus ``"field"`` when one input is at fault."""
    body: dict[str, Any] = {"error": message}
    if field:
        body["field"] = field
    return body


def _database_answer(fault: DbFault) -> ErrorAnswer:
    if fault.kind is DbFaultKind.LOCKED:
        return ErrorAnswer(503, error_body(f"the database is busy ({fault.reason}); nothing was changed, retry "
                                           "shortly"), {"Retry-After": str(RETRY_AFTER_S)}, fault)
    if fault.kind is DbFaultKind.FULL:
        return ErrorAnswer(507, error_body(f"the disk is full ({fault.reason}); nothing was stored"), fault=fault)
    return ErrorAnswer(503, error_body(f"the database is unavailable ({fault.reason}); nothing was changed"),
                       fault=fault)


def answer_for(exc: BaseException) -> ErrorAnswer | None:
    """The answer for a refusal or a database fault; None for anything else (a server fault)."""
    for cls in type(exc).__mro__:
        status = STATUS.get(cls)
        if status is not None:
            return ErrorAnswer(status, error_body(str(exc), getattr(exc, "field", None)))
    fault = classify(exc)
    return None if fault is None else _database_answer(fault)


# --- the OpenAI variant ---------------------------------------------------------------------------------------
_OPENAI_TYPES = {401: ("invalid_request_error", "invalid_api_key"), 403: ("permission_error", None),
                 404: ("invalid_request_error", "not_found"), 429: ("rate_limit_error", "rate_limit_exceeded")}


def openai_error(status: int, message: str, param: str | None = None, code: str | None = None,
                 headers: Mapping[str, str] | None = None) -> web.Response:
    """OpenAI's error shape, for everything under ``/v1``."""
    kind, default_code = _OPENAI_TYPES.get(status, ("server_error" if status >= 500 else "invalid_request_error",
                                                    None))
    body = {"error": {"message": message, "type": kind, "param": param, "code": code or default_code}}
    return web.json_response(body, status=status, headers=headers)


def error_response(request: web.BaseRequest, status: int, message: str, field: str | None = None,
                   headers: Mapping[str, str] | None = None) -> web.Response:
    """The error answer to ``request``: the one error body, in OpenAI's shape under ``/v1``."""
    if request.path.startswith(OPENAI_PREFIX):
        return openai_error(status, message, field, headers=headers)
    return web.json_response(error_body(message, field), status=status, headers=headers)


def answer_response(request: web.BaseRequest, answer: ErrorAnswer) -> web.Response:
    return error_response(request, answer.status, answer.body["error"], answer.body.get("field"), answer.headers)


@web.middleware
async def error_answers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every 4xx/5xx leaves as a JSON error body: refusals and database faults by the table, aiohttp's own
    (404, 405 with ``Allow``, 413) with their headers, and any other exception as a logged 500."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status < 400 or exc.content_type == "application/json":
            raise
        kept = CIMultiDict((name, value) for name, value in exc.headers.items()
                           if name not in (hdrs.CONTENT_TYPE, hdrs.CONTENT_LENGTH))  # Allow, Retry-After, ...
        return error_response(request, exc.status, exc.reason, headers=kept)
    except (asyncio.CancelledError, ConnectionError):
        raise
    except Exception as exc:
        answer = answer_for(exc)
        if answer is None:  # a real server fault: still JSON, and logged once with its traceback
            if hdrs.UPGRADE in request.headers:  # a WebSocket already switched protocols: no HTTP answer fits
                raise
            log.exception("unhandled error answering %s %r", request.method, request.path)
            return error_response(request, 500, INTERNAL_ERROR)
        if answer.fault is not None:
            log.warning("%s %s: database %s: %s", request.method, request.path, answer.fault.kind.value,
                        answer.fault.reason)
        return answer_response(request, answer)
