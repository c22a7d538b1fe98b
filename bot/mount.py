"""What the bot brings to the app: its cleanup context (the bot task) and its authorisation pages.

The composition root (``assembly``) calls ``mount_twitch_bot`` on the app that ``web`` built, passing how to
reach the running service and the settings in force; the bot never imports ``web``.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from bot.context import Running, make_twitch_bot_ctx
from bot.oauth import setup_oauth_routes


def mount_twitch_bot(app: web.Application, running: Running, **options: Any) -> None:
    """Run the bot once the service is up (its context comes after the app's own) and serve
    ``/twitch/oauth``; ``options`` are ``TwitchBotRunner`` options."""
    app.cleanup_ctx.append(make_twitch_bot_ctx(running, **options))
    setup_oauth_routes(app)
