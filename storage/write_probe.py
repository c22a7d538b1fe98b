"""Can the server write to its database right now? A real answer for ``/api/health``, in a few milliseconds.

Reads succeed in WAL mode while another program holds the write lock, so counting rows says nothing about
it. The probe opens its own connection and takes the write lock (``BEGIN IMMEDIATE``, then ``ROLLBACK``:
nothing is written) with a short timeout, off the server's database thread (which may itself be waiting).
"""

from __future__ import annotations

import sqlite3

from sqlalchemy.engine import make_url

from storage.errors import DbFault, DbFaultKind, classify

PROBE_TIMEOUT_S = 0.2


def probe_write_lock(database_url: str, timeout: float = PROBE_TIMEOUT_S) -> DbFault | None:
    """None when the write lock can be taken now; else why not (``locked``, or an I/O error)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    try:
        connection = sqlite3.connect(f"file:{url.database}?mode=rw", uri=True, timeout=timeout,
                                     isolation_level=None, check_same_thread=False)
    except sqlite3.Error as exc:
        return classify(exc) or DbFault(DbFaultKind.ERROR, str(exc))
    try:
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("ROLLBACK")
    except sqlite3.Error as exc:
        return classify(exc) or DbFault(DbFaultKind.ERROR, str(exc))
    finally:
        connection.close()
    return None

