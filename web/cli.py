"""``streamvoice``: load settings.yaml, build the app, serve it."""

from __future__ import annotations

import argparse
import logging
import sys
import warnings
from pathlib import Path

from aiohttp import web

from core.settings import SettingsError, load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="streamvoice", description="Twitch chat text-to-speech server")
    parser.add_argument("--settings", type=Path, default=None,
                        help="settings file (default: ./settings.yaml when present, else built-in defaults)")
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.captureWarnings(True)
    # torch warns about kokoro's use of deprecated weight_norm and LSTM dropout on every start: not actionable
    warnings.filterwarnings("ignore", category=FutureWarning, module=r"torch\.nn\..*")
    warnings.filterwarnings("ignore", message=r"dropout option adds dropout", category=UserWarning)
    path = args.settings
    if path is None and Path("settings.yaml").is_file():
        path = Path("settings.yaml")
    try:
        settings = load_settings(path)
    except SettingsError as exc:
        print(f"streamvoice: {exc}", file=sys.stderr)
        return 2

    from web.app import create_app

    if settings.twitch.enabled:  # the Twitch bot (docs/twitch.md) and its authorisation pages
        from bot.context import twitch_bot_ctx
        from bot.oauth import setup_oauth_routes

        app = create_app(settings, path.resolve() if path else None, extra_contexts=[twitch_bot_ctx])
        setup_oauth_routes(app)
    else:
        app = create_app(settings, path.resolve() if path else None)
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
