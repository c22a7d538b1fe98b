"""The unauthenticated OAuth callback cannot forge log lines."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import pytest

FORGED = "denied\n2026-11-26 12:00:00 ERROR web.app: api_token rotated to hunter2\x1b[2K"


async def test_error_description_is_logged_on_one_line(start_bot: Any, twitch_settings: Any,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    client, _ = await start_bot(twitch_settings())
    caplog.set_level(logging.WARNING, logger="bot.oauth")
    response = await client.get(f"/twitch/oauth/callback?error=access_denied&error_description={quote(FORGED)}")
    assert response.status == 400
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.oauth"]
    assert len(lines) == 1
    assert "\n" not in lines[0] and "\x1b" not in lines[0]
    assert "denied\\n2026-11-26" in lines[0] and "\\x1b[2K" in lines[0]
