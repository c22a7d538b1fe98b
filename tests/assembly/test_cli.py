"""The ``streamvoice`` command's quick answers (``--help``, a bad settings file) and what the root assembles."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assembly.app import build_app
from assembly.cli import main
from bot.context import TWITCH_BOT
from core.settings import Settings, TwitchSettings

REPO = Path(__file__).resolve().parents[2]


def imported_modules(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    """Run ``python -m assembly ARGS`` with ``-X importtime``: every module the run imported, by name."""
    result = subprocess.run([sys.executable, "-X", "importtime", "-m", "assembly", *args], cwd=cwd,
                            capture_output=True, text=True, timeout=60,
                            env={**os.environ, "PYTHONPATH": str(REPO)})
    names = {line.rsplit("|", 1)[1].strip() for line in result.stderr.splitlines()
             if line.startswith("import time:") and line.count("|") == 2}
    return result, names


def test_help_answers_without_importing_torch(tmp_path: Path) -> None:
    result, modules = imported_modules("--help", cwd=tmp_path)
    assert result.returncode == 0 and "--settings" in result.stdout
    assert "argparse" in modules  # the import list was really read
    assert "torch" not in modules and "kokoro" not in modules


def test_a_settings_error_answers_without_importing_torch(tmp_path: Path) -> None:
    (tmp_path / "settings.yaml").write_text("port: 0\n")
    result, modules = imported_modules(cwd=tmp_path)
    assert result.returncode == 2 and "invalid setting 'port'" in result.stderr
    assert "dynaconf" in modules and "torch" not in modules


def test_cli_exits_non_zero_with_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "settings.yaml"
    path.write_text("voice: jared60_lex60\n")
    assert main(["--settings", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "invalid setting 'voice'" in err[0] and "add up to 120" in err[0]


def _routes(app: Any) -> set[str]:
    return {resource.canonical for resource in app.router.resources()}


def test_the_bot_and_its_pages_are_mounted_only_with_a_complete_twitch_section(engine_loader: Any) -> None:
    plain = build_app(Settings(), engine_loader=engine_loader)
    assert "/twitch/oauth" not in _routes(plain) and "/api/health" in _routes(plain)
    twitch = TwitchSettings(client_id="id", client_secret="secret", bot_id="2", channel="streamer")
    with_bot = build_app(Settings(twitch=twitch), engine_loader=engine_loader)
    assert {"/twitch/oauth", "/twitch/oauth/callback", "/api/health"} <= _routes(with_bot)
    assert len(with_bot.cleanup_ctx) == len(plain.cleanup_ctx) + 1  # the bot task, after the service's
    assert TWITCH_BOT not in with_bot  # the runner exists only while the app runs
