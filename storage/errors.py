"""What a database failure means, decided in one place: busy (wait and retry), full (free space), or broken.

SQLite reports faults as ``sqlite3.OperationalError`` (raw, from the ingest hot path's DBAPI cursor) or
wrapped in ``sqlalchemy.exc.DBAPIError`` (everywhere else). The web layer maps the kind to an HTTP status
(503 + ``Retry-After`` for busy, 507 for full) and the background loops retry every kind with backoff.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from enum import Enum

from sqlalchemy.exc import DBAPIError

# SQLite primary result codes (https://sqlite.org/rescode.html); extended codes keep them in the low byte.
_SQLITE_BUSY, _SQLITE_LOCKED, _SQLITE_FULL = 5, 6, 13


class DbFaultKind(Enum):
    LOCKED = "locked"  # another connection holds the write lock (a DB browser, a backup): wait and retry
    FULL = "full"  # the disk (or the file size limit) is full
    ERROR = "error"  # I/O error, read-only file, cannot open...: the environment, not the request


@dataclass(frozen=True, slots=True)
class DbFault:
    kind: DbFaultKind
    reason: str

    def describe(self) -> str:
        """``locked`` or ``error: <reason>`` — what ``/api/health`` shows as ``db``."""
        return self.kind.value if self.kind is DbFaultKind.LOCKED else f"error: {self.reason}"


def _sqlite_error(exc: BaseException) -> sqlite3.Error | None:
    if isinstance(exc, sqlite3.Error):
        return exc
    if isinstance(exc, DBAPIError) and isinstance(exc.orig, sqlite3.Error):
        return exc.orig
    return None


def classify(exc: BaseException) -> DbFault | None:
    """The fault behind a database exception, or None when ``exc`` is not an operational database failure
    (a programming error, a constraint violation, or not a database exception at all)."""
    error = _sqlite_error(exc)
    if error is None or not isinstance(error, sqlite3.OperationalError):
        return None
    reason = str(error) or type(error).__name__
    code = getattr(error, "sqlite_errorcode", None)
    primary = code & 0xFF if isinstance(code, int) else None
    lowered = reason.lower()
    if primary in (_SQLITE_BUSY, _SQLITE_LOCKED) or "locked" in lowered or "busy" in lowered:
        return DbFault(DbFaultKind.LOCKED, reason)
    if primary == _SQLITE_FULL or "full" in lowered:
        return DbFault(DbFaultKind.FULL, reason)
    return DbFault(DbFaultKind.ERROR, reason)
