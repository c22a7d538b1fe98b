"""Where the bot keeps its Twitch user tokens: one JSON file next to the database, readable only by its owner.

A file (rather than a table) keeps the secrets out of the message database that people copy around for
debugging, and uses twitchio's own token mapping format, so a token file written by a plain twitchio bot
(``.tio.tokens.json``) can be dropped in as it is.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.settings import Settings

log = logging.getLogger(__name__)

TOKEN_FILE_NAME = "twitch_tokens.json"

#: One entry per Twitch user id: {"user_id", "token", "refresh", "last_validated"} (twitchio's format).
TokenMapping = dict[str, dict[str, str]]


def token_path(settings: Settings) -> Path:
    """``twitch.token_file`` when set, else ``twitch_tokens.json`` in the SQLite database's folder.

    For a non-file database the folder above ``audio_dir`` (``data/`` by default) is used.
    """
    if settings.twitch.token_file:
        return Path(settings.twitch.token_file)
    try:
        url = make_url(settings.database_url)
    except ArgumentError:
        url = None
    if url is not None and url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return Path(url.database).parent / TOKEN_FILE_NAME
    return Path(settings.audio_dir).parent / TOKEN_FILE_NAME


class TokenFile:
    """Load and atomically save the token mapping; a damaged file is moved aside, never silently overwritten."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> TokenMapping:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(raw)
            tokens = _valid_mapping(data)
        except ValueError as exc:
            aside = self.path.with_name(self.path.name + ".damaged")
            os.replace(self.path, aside)
            log.error("Twitch token file %s is damaged (%s); moved it to %s, authorise the bot again",
                      self.path, exc, aside)
            return {}
        return tokens

    def save(self, tokens: Mapping[str, Mapping[str, Any]]) -> None:
        """Write to a temporary file created with mode 0600, then rename it over the old one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        data = {str(uid): {k: str(v) for k, v in entry.items()} for uid, entry in tokens.items()}
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fp:
            json.dump(data, fp, indent=2)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, self.path)
        log.debug("saved %d Twitch token(s) to %s", len(data), self.path)


def _valid_mapping(data: Any) -> TokenMapping:
    if not isinstance(data, dict):
        raise ValueError("expected a JSON object")
    tokens: TokenMapping = {}
    for user_id, entry in data.items():
        if not isinstance(entry, dict) or not isinstance(entry.get("token"), str) \
                or not isinstance(entry.get("refresh"), str):
            raise ValueError(f"entry {user_id!r} has no token/refresh pair")
        tokens[str(user_id)] = {str(k): str(v) for k, v in entry.items()}
    return tokens
