"""One StreamVoice per database and audio folder: an exclusive lock taken before anything is touched.

A second server on the same files would run startup recovery on the live one (turning its ``synthesizing``
and ``playing`` rows back, deleting its newest WAVs as orphans). The lock is an OS file lock (``filelock``:
``flock`` on Linux/macOS, ``msvcrt`` on Windows) held by the open file, so the OS drops it when the process
dies, ``kill -9`` included: a stale lock file never blocks a restart. The holder writes its pid and address
into a file beside it (``.streamvoice.owner``) so a refused start can say who is there.
"""

from __future__ import annotations

import contextlib
import json
import os
from pathlib import Path

from filelock import FileLock, Timeout

LOCK_NAME = ".streamvoice.lock"
OWNER_NAME = ".streamvoice.owner"


class AlreadyRunning(RuntimeError):
    """Another live process holds one of the locks; the message names it (pid, address) and the folder."""


class InstanceLock:
    """An exclusive lock on ``<folder>/.streamvoice.lock`` for each folder; released by ``release`` or exit."""

    def __init__(self, folders: list[Path], *, host: str, port: int) -> None:
        self.folders = sorted({folder.resolve() for folder in folders})
        self.owner = json.dumps({"pid": os.getpid(), "host": host, "port": port})
        self._held: list[tuple[FileLock, Path]] = []

    def acquire(self) -> None:
        """Take every lock or none; raises ``AlreadyRunning`` when another process holds one."""
        try:
            for folder in self.folders:
                folder.mkdir(parents=True, exist_ok=True)
                lock = FileLock(folder / LOCK_NAME, timeout=0, thread_local=False)
                try:
                    lock.acquire()
                except Timeout:
                    raise AlreadyRunning(f"another StreamVoice ({_describe(_read(folder / OWNER_NAME))}) is "
                                         f"already using {folder}; stop it first") from None
                self._held.append((lock, folder / OWNER_NAME))
                (folder / OWNER_NAME).write_text(self.owner, encoding="utf-8")
        except BaseException:
            self.release()
            raise

    def release(self) -> None:
        held, self._held = self._held, []
        for lock, owner in held:
            with contextlib.suppress(OSError):
                owner.unlink()  # nobody holds it now: a later refusal must not name this pid
            lock.release()

    def __enter__(self) -> InstanceLock:
        self.acquire()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.release()


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError:
        return ""


def _describe(text: str) -> str:
    """``pid 123, port 8765`` from what the holder wrote (it may be empty for a moment while it starts)."""
    try:
        owner = json.loads(text)
        return f"pid {int(owner['pid'])}, port {int(owner['port'])}"
    except (ValueError, KeyError, TypeError):
        return "pid unknown"


def lock_folders(database_url: str, audio_dir: str | Path) -> list[Path]:
    """The folders one instance owns: the SQLite file's folder (when the database is a file) and audio_dir.

    The file is resolved first: a symlink to a database in another folder must lock the folder the data is
    really in, or a second server reaching it through the link (or directly) would take a different lock."""
    from sqlalchemy.engine import make_url

    folders = [Path(audio_dir)]
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:" \
            and not url.database.startswith("file:"):
        folders.append(Path(url.database).resolve().parent)
    return folders
