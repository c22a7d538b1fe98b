"""Token file location and safety, and secret redaction in logs (no network)."""

from __future__ import annotations

import json
import logging
import stat
from pathlib import Path
from typing import Any

import pytest
from twitchio.exceptions import HTTPException, InvalidTokenException
from twitchio.http import Route

from bot.tokens import TokenFile, token_path
from core.settings import Settings, TwitchSettings
from service.log_hygiene import RedactSecrets, redact


@pytest.mark.parametrize(("database_url", "token_file", "expected"), [
    ("sqlite:///data/streamvoice.db", "", "data/twitch_tokens.json"),
    ("sqlite:////srv/sv/db.sqlite", "", "/srv/sv/twitch_tokens.json"),
    ("sqlite://", "", "data/twitch_tokens.json"),  # in-memory: next to the audio folder's parent
    ("postgresql://u@h/db", "", "data/twitch_tokens.json"),
    ("sqlite:///data/streamvoice.db", "/secure/tokens.json", "/secure/tokens.json"),
])
def test_token_path(database_url: str, token_file: str, expected: str) -> None:
    settings = Settings(database_url=database_url, audio_dir="data/audio",
                        twitch=TwitchSettings(token_file=token_file))
    assert token_path(settings) == Path(expected)


def test_token_file_round_trip_is_private_and_atomic(tmp_path: Path) -> None:
    store = TokenFile(tmp_path / "sub" / "tokens.json")
    assert store.load() == {}
    tokens = {"42": {"user_id": "42", "token": "a", "refresh": "r", "last_validated": "2024-01-01T00:00:00"}}
    store.save(tokens)
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.load() == tokens
    store.save({})
    assert store.load() == {} and [p.name for p in store.path.parent.iterdir()] == ["tokens.json"]


def test_a_damaged_token_file_is_moved_aside_not_overwritten(tmp_path: Path, caplog: Any) -> None:
    path = tmp_path / "tokens.json"
    path.write_text(json.dumps({"42": {"token": "only-half"}}))
    assert TokenFile(path).load() == {}
    assert not path.exists() and (tmp_path / "tokens.json.damaged").read_text().startswith("{")
    assert "only-half" not in caplog.text


def test_redact_twitchio_exception_texts() -> None:
    route = Route("POST", "/oauth2/token", use_id=True, params={
        "client_id": "cid", "client_secret": "s3cr3t", "grant_type": "refresh_token", "refresh_token": "rfr"})
    http_error = HTTPException(f"Request {route} failed with status 400: {{'message': 'bad'}}", route=route,
                               status=400, extra={"message": "bad"})
    assert "s3cr3t" in str(http_error)  # the reason this module exists
    cleaned = redact(str(http_error))
    assert "s3cr3t" not in cleaned and "rfr" not in cleaned and "client_id=cid" in cleaned

    invalid = InvalidTokenException('Please re-authenticate user with token: "abc123token"', token="abc123token",
                                    refresh="rfr", type_="refresh", original=http_error)
    assert "abc123token" not in redact(str(invalid))
    assert "tok-xyz" not in redact("{'token': 'tok-xyz', \"refresh\": \"rf-xyz\"}")
    assert "rf-xyz" not in redact("{'token': 'tok-xyz', \"refresh\": \"rf-xyz\"}")
    assert redact("Authorization: Bearer abcdefgh12345") == "Authorization: Bearer [redacted]"
    assert redact("GET /twitch/oauth/callback?code=c0de&state=st HTTP/1.1") == \
        "GET /twitch/oauth/callback?code=[redacted]&state=[redacted] HTTP/1.1"


def test_filter_rewrites_message_args_and_traceback() -> None:
    logger = logging.getLogger("tests.bot.redaction")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Keep()
    logger.addHandler(handler)
    logger.addFilter(RedactSecrets())
    try:
        try:
            raise RuntimeError("failed: https://id.twitch.tv/oauth2/token?client_secret=hidden1")
        except RuntimeError:
            logger.exception("request %s", "https://x/?refresh_token=hidden2")
    finally:
        logger.removeHandler(handler)
    text = logging.Formatter().format(records[0])
    assert "hidden1" not in text and "hidden2" not in text and "RuntimeError" in text
