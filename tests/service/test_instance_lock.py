"""The one-instance lock on real files (the two-process case is tests/web/test_cli_lifecycle.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from service.instance_lock import OWNER_NAME, AlreadyRunning, InstanceLock, lock_folders


def test_second_holder_is_refused_with_the_first_ones_pid_and_port(tmp_path: Path) -> None:
    folders = lock_folders(f"sqlite:///{tmp_path / 'db' / 'sv.db'}", tmp_path / "audio")
    assert sorted(folders) == sorted([tmp_path / "audio", tmp_path / "db"])
    first = InstanceLock(folders, host="127.0.0.1", port=8765)
    first.acquire()
    try:
        with pytest.raises(AlreadyRunning) as refused:
            InstanceLock([tmp_path / "audio"], host="127.0.0.1", port=9999).acquire()
        assert f"pid {os.getpid()}, port 8765" in str(refused.value)
        assert str(tmp_path / "audio") in str(refused.value)
    finally:
        first.release()
    with InstanceLock(folders, host="127.0.0.1", port=9999):  # free again once released
        assert (tmp_path / "db" / OWNER_NAME).read_text().count("9999") == 1


def test_a_refused_start_holds_none_of_the_locks(tmp_path: Path) -> None:
    """Locks are all-or-nothing: the one taken before the refusal is given back."""
    holder = InstanceLock([tmp_path / "b"], host="127.0.0.1", port=1)
    holder.acquire()
    try:
        with pytest.raises(AlreadyRunning):
            InstanceLock([tmp_path / "a", tmp_path / "b"], host="127.0.0.1", port=2).acquire()
        with InstanceLock([tmp_path / "a"], host="127.0.0.1", port=3):
            pass
    finally:
        holder.release()


def test_memory_and_uri_databases_lock_only_the_audio_folder(tmp_path: Path) -> None:
    assert lock_folders("sqlite://", tmp_path) == [tmp_path]
    assert lock_folders("sqlite:///:memory:", tmp_path) == [tmp_path]
