"""The streamer's authorisation pages, served by StreamVoice itself (no second port).

``GET /twitch/oauth`` sends the browser to Twitch's consent page for the bot account (``?account=broadcaster``
for the optional ``channel:bot`` grant); Twitch sends it back to ``GET /twitch/oauth/callback``, where the code
is traded for tokens (twitchio's OAuth client does the HTTP) and stored. The routes must exist before the
server starts, so ``bot.mount`` adds them next to the bot's cleanup context.
"""

from __future__ import annotations

import html
import logging

from aiohttp import web

from bot.context import CALLBACK_PATH, OAUTH_PATH, TWITCH_BOT, AuthorisationError
from service.log_hygiene import escape_controls

log = logging.getLogger(__name__)

_ACCOUNTS = frozenset({"bot", "broadcaster"})


def setup_oauth_routes(app: web.Application) -> None:
    app.router.add_get(OAUTH_PATH, oauth_start)
    app.router.add_get(CALLBACK_PATH, oauth_callback)


def _page(status: int, title: str, text: str) -> web.Response:
    body = (f"<!doctype html><meta charset='utf-8'><title>StreamVoice: {html.escape(title)}</title>"
            f"<h1>{html.escape(title)}</h1><p>{html.escape(text)}</p>")
    return web.Response(status=status, text=body, content_type="text/html")


async def oauth_start(request: web.Request) -> web.StreamResponse:
    runner = request.app.get(TWITCH_BOT)
    if runner is None or runner.state == "disabled":
        return _page(404, "Twitch bot disabled", "Set the twitch: section of settings.yaml and restart.")
    account = request.query.get("account", "bot")
    if account not in _ACCOUNTS:
        return _page(400, "Unknown account", "account must be 'bot' or 'broadcaster'.")
    try:
        url = runner.authorisation_url(account)
    except AuthorisationError as exc:
        return _page(exc.status, "Not ready", str(exc))
    raise web.HTTPFound(url)


async def oauth_callback(request: web.Request) -> web.Response:
    runner = request.app.get(TWITCH_BOT)
    if runner is None:
        return _page(404, "Twitch bot disabled", "Set the twitch: section of settings.yaml and restart.")
    query = request.query
    if "error" in query:  # the streamer pressed "Cancel", or Twitch refused the request
        # unauthenticated input: escaped so it cannot forge log lines
        log.warning("Twitch authorisation cancelled: %s",
                    escape_controls(query.get("error_description") or query["error"])[:300])
        return _page(400, "Not authorised", query.get("error_description") or query["error"])
    code, state = query.get("code", ""), query.get("state", "")
    if not code or not state:
        return _page(400, "Not authorised", "Twitch did not send a code. Start again from /twitch/oauth.")
    try:
        login = await runner.finish_authorisation(code, state)
    except AuthorisationError as exc:
        return _page(exc.status, "Not authorised", str(exc))
    return _page(200, "Connected", f"Twitch account {login} is authorised. You can close this tab.")
