"""Checks the ``streamvoice`` command runs before anything starts, each failing with one line a person can act on.

They run after the instance lock is held and before the app's startup (recovery, model load) and the bind,
so a problem found here has touched nothing: a damaged database file, a port another program listens on.
"""

from __future__ import annotations

import errno
import socket
import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url

#: What a failed bind raises: the port is taken, privileged, or the host is not an address of this machine.
BIND_ERRORS = frozenset({errno.EADDRINUSE, errno.EACCES, errno.EADDRNOTAVAIL})


class StartupProblem(RuntimeError):
    """Something outside StreamVoice stops it from starting; the message says what and where."""


def check_database_file(database_url: str) -> None:
    """An existing SQLite file must be a readable database (read-only look: nothing is changed)."""
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return
    path = Path(url.database)
    if not path.is_file():
        return  # a new database is made at startup
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            found = connection.execute("PRAGMA quick_check(1)").fetchone()
        finally:
            connection.close()
    except sqlite3.OperationalError:
        return  # locked or busy: a live fault the server itself reports and retries, not damage
    except sqlite3.DatabaseError as exc:  # "file is not a database", "database disk image is malformed"
        raise StartupProblem(_damaged(path, str(exc))) from None
    if not found or found[0] != "ok":
        raise StartupProblem(_damaged(path, str(found[0]) if found else "no answer to an integrity check"))


def _damaged(path: Path, detail: str) -> str:
    return (f"the database file {path.resolve()} is damaged or not a SQLite database ({detail}); "
            "move it away (a new one is made) or restore a backup")


def check_port_free(host: str, port: int) -> None:
    """Bind and release each address ``host`` resolves to, as the server will (asyncio reuses the address)."""
    try:
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise StartupProblem(f"cannot listen on host {host!r}: {exc.strerror}; check host in settings.yaml") from None
    for family, kind, proto, _name, address in infos:
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as exc:
                raise StartupProblem(describe_bind_error(host, port, exc)) from None


def describe_bind_error(host: str, port: int, exc: OSError) -> str:
    where = f"{host or 'every interface'} port {port}"
    if exc.errno == errno.EADDRINUSE:
        return (f"{where} is already in use by another program (or another StreamVoice with other data "
                "folders); stop it or set port in settings.yaml")
    if exc.errno == errno.EACCES:
        return f"not allowed to listen on {where}; choose a port above 1023 in settings.yaml"
    return f"cannot listen on {where}: {exc.strerror or exc}; check host and port in settings.yaml"
