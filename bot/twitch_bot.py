"""The twitchio ``commands.Bot`` StreamVoice runs inside its own event loop (never ``bot.run()``).

What differs from a stock twitchio bot, and why:

* tokens live in our token file (``bot.tokens``), are saved as soon as they are added or refreshed, and a
  token that fails to load is reported by user id without ever logging the token itself;
* commands are also read from the bot's own account when that account is the broadcaster's (twitchio skips
  them), so a streamer who runs the bot on their own account can still type ``!ttsclear``;
* unknown commands (``!so``, ``!lurk``...) and refused ones are normal chat, not errors: nothing is logged;
* there is no built-in web adapter: OAuth runs on StreamVoice's own server (``bot.oauth``).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import Any

import twitchio
from twitchio.eventsub.websockets import Websocket
from twitchio.exceptions import HTTPException, InvalidTokenException
from twitchio.ext import commands
from twitchio.payloads import TokenRefreshedPayload

from bot.conversion import chat_line, may_run_commands
from bot.tokens import TokenFile
from core.settings import TwitchSettings

log = logging.getLogger(__name__)


class TwitchUnavailable(Exception):
    """Twitch could not be reached or answered with a server error: worth retrying later."""


class _NoStarletteNotice(logging.Filter):
    """twitchio logs a WARNING about its optional Starlette adapter on every client; we never use it."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "StarletteAdapter" not in str(record.msg)


logging.getLogger("twitchio.client").addFilter(_NoStarletteNotice())


class StreamVoiceBot(commands.Bot):
    """One login session with Twitch. A new instance is made for every (re)start: twitchio's login runs once."""

    def __init__(self, settings: TwitchSettings, token_file: TokenFile, *,
                 on_command_refused: Callable[[str], None] | None = None) -> None:
        super().__init__(
            client_id=settings.client_id, client_secret=settings.client_secret, bot_id=settings.bot_id,
            prefix="!", case_insensitive=True, fetch_client_user=False,
        )
        self.token_file = token_file
        #: Set once the broadcaster's user id is known; commands are only read in that channel.
        self.broadcaster_id: str | None = None
        #: User ids whose stored token Twitch rejected at load (expired and not refreshable, or revoked).
        self.rejected_tokens: set[str] = set()
        self._tokens_loaded = False
        self._save_lock = asyncio.Lock()
        self._on_command_refused = on_command_refused

    # --- tokens -------------------------------------------------------------------------------------
    async def load_tokens(self, path: str | None = None, /) -> None:
        """Add every stored token; expired ones are refreshed by twitchio on the way (and saved again)."""
        stored = await asyncio.to_thread(self.token_file.load)
        transient = False
        for user_id, entry in stored.items():
            try:
                await self.add_token(entry["token"], entry["refresh"])
            except InvalidTokenException as exc:  # its text quotes the token: never log it
                if exc.status >= 500:
                    transient = True
                    log.warning("Twitch could not check the stored token of user %s (HTTP %s)", user_id, exc.status)
                else:
                    self.rejected_tokens.add(user_id)
                    log.error("Twitch rejected the stored token of user %s (expired or revoked); "
                              "authorise that account again", user_id)
        if transient:
            raise TwitchUnavailable("Twitch could not validate the stored tokens")
        self._tokens_loaded = True
        self._http._has_loaded = True  # twitchio's own save guard, in case anything calls it
        log.info("loaded %d Twitch token(s) from %s", len(self.tokens), self.token_file.path)
        now = {uid: (d["token"], d["refresh"]) for uid, d in self.tokens.items()}
        if now != {uid: (d["token"], d["refresh"]) for uid, d in stored.items()}:
            await self.save_tokens()  # refreshed on load, or dead entries dropped

    async def save_tokens(self, path: str | None = None, /) -> None:
        """Write the tokens twitchio manages now; never before they were loaded (that would wipe the file)."""
        if not self._tokens_loaded:
            return
        async with self._save_lock:
            tokens = {uid: dict(data) for uid, data in self.tokens.items()}
            await asyncio.to_thread(self.token_file.save, tokens)

    async def event_token_refreshed(self, payload: TokenRefreshedPayload) -> None:
        log.info("Twitch token of user %s refreshed", payload.user_id)
        await self.save_tokens()

    async def event_subscription_revoked(self, payload: Any) -> None:
        log.warning("Twitch revoked the %s subscription (%s)", payload.type, payload.reason.value)

    def has_token(self, user_id: str) -> bool:
        return user_id in self.tokens

    # --- chat ---------------------------------------------------------------------------------------
    async def event_message(self, payload: twitchio.ChatMessage) -> None:
        """Replaces twitchio's filter: commands from the broadcaster's channel, own account included."""
        if self.broadcaster_id is None or str(payload.broadcaster.id) != self.broadcaster_id:
            return
        if may_run_commands(chat_line(payload), self.bot_id):
            await self.process_commands(payload)

    async def event_command_error(self, payload: commands.CommandErrorPayload) -> None:
        error = payload.exception
        if isinstance(error, commands.CommandNotFound):
            return  # another bot's command
        if isinstance(error, commands.GuardFailure):
            chatter = payload.context.chatter
            log.debug("!%s refused for %s (not a moderator)", payload.context.command, chatter.name)
            if self._on_command_refused is not None:
                self._on_command_refused(str(payload.context.command))
            return
        log.error("chat command %s failed: %s", payload.context.command, error, exc_info=error)

    async def event_error(self, payload: twitchio.EventErrorPayload) -> None:
        log.error("Twitch event handler %s failed: %s", payload.listener.__qualname__, payload.error,
                  exc_info=payload.error)

    # --- connection state ---------------------------------------------------------------------------
    def chat_sockets(self) -> list[Websocket]:
        """The EventSub sockets carrying the bot's subscriptions (closed ones are forgotten first).

        twitchio has no public view of its sockets; this reads its registry, keyed by the token owner.
        """
        self.forget_closed_sockets()
        return list(self._websockets.get(self.bot_id, {}).values())

    def forget_closed_sockets(self) -> None:
        """Drop closed sockets from twitchio's registry and key the live ones by their current session id.

        twitchio 3.3 re-registers a socket that reconnected after a drop under its *old* session id, and a
        later close (every subscription revoked) removes the *new* id: the closed socket stays registered.
        The watcher would then wait for it for ever, and ``subscribe_websocket`` would pick it (a dead
        session) instead of opening a new socket.
        """
        for owner, sockets in list(self._websockets.items()):
            live = {socket.session_id or key: socket for key, socket in sockets.items()
                    if not getattr(socket, "_closed", False)}
            if live != sockets:
                self._websockets[owner] = live

    async def subscribe_websocket(self, *args: Any, **kwargs: Any) -> Any:
        """twitchio's, on a registry without closed sockets (see ``forget_closed_sockets``)."""
        self.forget_closed_sockets()
        return await super().subscribe_websocket(*args, **kwargs)

    def chat_connected(self) -> bool:
        """True while one of the bot's sockets is open *and* welcomed (not mid-reconnect)."""
        return any(_welcomed(s) for s in self.chat_sockets())


def _welcomed(socket: Websocket) -> bool:
    ready: Any = getattr(socket, "_ready", None)  # set on session_welcome, cleared when a reconnect starts
    return socket.connected and (ready is None or ready.is_set())


def is_auth_error(exc: BaseException) -> bool:
    """An HTTP 4xx from Twitch about credentials (not a network or server problem)."""
    return isinstance(exc, HTTPException) and exc.status in {400, 401, 403}
