"""One StreamVoice per database and audio folder: an exclusive lock taken before anything is touched.

A second server on the same files would run startup recovery on the live one (turning its ``synthesizing``
and ``playing`` rows back, deleting its newest WAVs as orphans). ``flock`` locks belong to the open file, so
the kernel drops them when the process dies, ``kill -9`` included: a stale lock file never blocks a restart.
The holder writes its pid and address into the file so the refused one can say who is there.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from pathlib import Path
from typing import IO

LOCK_NAME = ".streamvoice.lock"


class AlreadyRunning(RuntimeError):
    """Another live process holds one of the locks; the message names it (pid, address) and the folder."""


class InstanceLock:
    """Exclusive ``flock`` on ``<folder>/.streamvoice.lock`` for each folder; released by ``release`` or exit."""

    def __init__(self, folders: list[Path], *, host: str, port: int) -> None:
        self.paths = sorted({(folder.resolve() / LOCK_NAME) for folder in folders})
        self.owner = {"pid": os.getpid(), "host": host, "port": port}
        self._held: list[IO[str]] = []

    def acquire(self) -> None:
        """Take every lock or none; raises ``AlreadyRunning`` when another process holds one."""
        try:
            for path in self.paths:
                path.parent.mkdir(parents=True, exist_ok=True)
                handle = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held until release()
                try:
                    fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    handle.seek(0)
                    other = handle.read()
                    handle.close()
                    raise AlreadyRunning(f"another StreamVoice ({_describe(other)}) is already using "
                                         f"{path.parent}; stop it first") from None
                except BaseException:
                    handle.close()
                    raise
                self._held.append(handle)
                handle.seek(0)
                handle.truncate()
                handle.write(json.dumps(self.owner))
                handle.flush()
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        held, self._held = self._held, []
        for handle in held:
            with contextlib.suppress(OSError):
                handle.seek(0)
                handle.truncate()  # nobody holds it now: a later refusal must not name this pid
            handle.close()  # closing drops the flock

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _describe(text: str) -> str:
    """``pid 123, port 8765`` from what the holder wrote (it may be empty for a moment while it starts)."""
    try:
        owner = json.loads(text)
        return f"pid {int(owner['pid'])}, port {int(owner['port'])}"
    except (ValueError, KeyError, TypeError):
        return "pid unknown"


def lock_folders(database_url: str, audio_dir: str | Path) -> list[Path]:
    """The folders one instance owns: the SQLite file's folder (when the database is a file) and audio_dir."""
    from sqlalchemy.engine import make_url

    folders = [Path(audio_dir)]
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        folders.append(Path(url.database).parent)
    return folders
