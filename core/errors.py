"""Why a request is refused, in the domain's words: plain exception classes with no transport in them.

The service and the request parsers raise these; the edges say them in their own protocol (``web.errors``
maps each class to an HTTP status and error body, for HTTP answers and WebSocket error frames alike).
``field`` names the input at fault, where one is.
"""

from __future__ import annotations


class Refused(Exception):
    """A request the service will not carry out; the message says why."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


class Invalid(Refused, ValueError):
    """A value in the request breaks a rule (too long, out of range, not one of the choices)."""


class Malformed(Invalid):
    """The request is not the shape asked for at all (not JSON, not a JSON object)."""


class UnsupportedEncoding(Malformed):
    """The request's body is in an encoding this server cannot read."""


class NotFound(Refused, LookupError):
    """The thing the request names does not exist (or no longer does)."""


class Conflict(Refused):
    """The request is fine but the current state forbids it (already playing, not awaiting approval)."""


class Forbidden(Refused):
    """The configuration does not allow this request at all (no token set for a state-changing GET)."""


class Unavailable(Refused):
    """A part the request needs is not working now (the speech engine not loaded, a render that failed)."""
