"""Running the Twitch bot beside the aiohttp server: ``make_twitch_bot_ctx`` for ``app.cleanup_ctx``.

The bot runs as one background task. Its start never blocks or fails the server's start: Twitch being down,
wrong credentials or a missing authorisation only show in ``/api/health`` ("twitch") and in one clear log line,
and the rest of StreamVoice keeps working.

Life of the task: log in with the app credentials -> load the stored user tokens -> find the channel ->
(wait for the streamer to authorise the bot account, when there is no token) -> subscribe to the channel's
chat over EventSub -> watch the connection. twitchio reconnects a dropped socket and follows Twitch's
``session_reconnect`` itself; the watcher only reports it, and subscribes again if twitchio gave a socket up.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web
from twitchio import Scopes
from twitchio.eventsub import (
    ChatClearSubscription,
    ChatClearUserMessagesSubscription,
    ChatMessageDeleteSubscription,
    ChatMessageSubscription,
    ChatNotificationSubscription,
    SubscriptionPayload,
)
from twitchio.exceptions import HTTPException, InvalidTokenException, WebsocketConnectionException

from bot.channel_points import ChannelPointsRunner
from bot.chat_component import CONFIRM_INTERVAL_S, ChatComponent
from bot.notifications import NotificationComponent
from bot.tokens import TokenFile, token_path
from bot.twitch_bot import StreamVoiceBot, TwitchUnavailable, is_auth_error
from core.settings import Settings
from service.log_hygiene import install_redaction
from service.resilience import Backoff
from service.streamvoice import StreamVoice

log = logging.getLogger(__name__)

#: What the bot account must grant: read chat, write the !ttsclear confirmation, act as a chat bot.
BOT_SCOPES: tuple[str, ...] = ("user:read:chat", "user:write:chat", "user:bot")
#: What the broadcaster grants when the bot is a separate account (lets it chat there as a bot).
BROADCASTER_SCOPES: tuple[str, ...] = ("channel:bot",)
OAUTH_PATH = "/twitch/oauth"
CALLBACK_PATH = "/twitch/oauth/callback"
#: An authorisation link is good for this long.
OAUTH_STATE_TTL_S = 600.0
#: Waits between attempts while Twitch cannot be reached (the last one repeats).
RETRY_DELAYS_S: tuple[float, ...] = (2.0, 5.0, 15.0, 30.0, 60.0)
#: The bot's entry in ``/api/health`` ``loops`` (``ok`` or ``retrying: <reason>``).
WATCH_LOOP = "twitch"
_WATCH_BACKOFF = Backoff(initial=0.2, cap=10.0)
_NETWORK_ERRORS = (aiohttp.ClientError, OSError, TimeoutError, TwitchUnavailable, WebsocketConnectionException)


class BotStopped(Exception):
    """The bot cannot go on until the settings are fixed (``state`` says what to fix)."""

    def __init__(self, state: str, detail: str) -> None:
        super().__init__(detail)
        self.state = state


class AuthorisationError(Exception):
    """The OAuth callback could not complete; the message is shown to the streamer in the browser."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class _PendingAuthorisation:
    account: str  # "bot" or "broadcaster"
    redirect_uri: str
    created: float


class TwitchBotRunner:
    """Owns the bot task, its state (reported by ``StreamVoice.set_twitch_state``), and the OAuth hand-over."""

    def __init__(self, sv: StreamVoice, settings: Settings, *, retry_delays: Sequence[float] = RETRY_DELAYS_S,
                 poll_interval: float = 0.5, confirm_interval: float = CONFIRM_INTERVAL_S,
                 login_timeout: float = 30.0) -> None:
        self.sv = sv
        self.settings = settings
        self.twitch = settings.twitch
        self.token_file = TokenFile(token_path(settings))
        self.redirect_uri = self.twitch.redirect_uri or f"http://localhost:{settings.port}{CALLBACK_PATH}"
        self.retry_delays = tuple(retry_delays) or RETRY_DELAYS_S
        self.poll_interval = poll_interval
        self.confirm_interval = confirm_interval
        self.login_timeout = login_timeout
        self.bot: StreamVoiceBot | None = None
        self.component: ChatComponent | None = None
        #: Subs, resubs, gifts and raids (``channel.chat.notification``), read whether the App is online or not.
        self.notifications: NotificationComponent | None = None
        self.broadcaster_id: str | None = self.twitch.owner_id or None
        #: Counts of refused commands (the guard runs in twitchio, before our component sees the command).
        self.refused = 0
        self._authorised = asyncio.Event()
        self._pending: dict[str, _PendingAuthorisation] = {}
        self._task: asyncio.Task[None] | None = None
        self._failures = 0
        #: The channel-point TTS reward (bot/channel_points.py), set up beside chat in each session.
        self.channel_points = ChannelPointsRunner(sv, settings, retry_delays=self.retry_delays)

    # --- lifecycle ----------------------------------------------------------------------------------
    def start(self) -> None:
        install_redaction()
        self.sv.loops.register(WATCH_LOOP)
        self._task = asyncio.create_task(self._run(), name="twitch-bot")

    async def stop(self) -> None:
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._close_bot()
        self._set_state("stopped")

    @property
    def state(self) -> str:
        return self.sv.twitch_state

    def _set_state(self, state: str) -> None:
        if state != self.sv.twitch_state:
            log.info("Twitch bot: %s", state)
            self.sv.set_twitch_state(state)

    async def _run(self) -> None:
        while True:
            try:
                await self._session()
            except BotStopped as exc:
                self._set_state(exc.state)
                log.error("Twitch bot stopped: %s", exc)
                await self._close_bot()
                return
            except _NETWORK_ERRORS as exc:
                delay = self._next_delay()
                self._set_state("error: cannot reach Twitch")
                self.sv.loops.failing(WATCH_LOOP, exc)
                log.warning("Twitch bot: cannot reach Twitch (%s); retrying in %g s", _describe(exc), delay)
            except Exception as exc:
                delay = self._next_delay()
                self._set_state("error: unexpected failure")
                self.sv.loops.failing(WATCH_LOOP, exc)
                log.exception("Twitch bot failed; retrying in %g s: %s", delay, _describe(exc))
            await self._close_bot()
            await asyncio.sleep(delay)

    def _next_delay(self) -> float:
        """Longer and longer waits while Twitch stays away; reset to the shortest once connected."""
        delay = self.retry_delays[min(self._failures, len(self.retry_delays) - 1)]
        self._failures += 1
        return delay

    async def _close_bot(self) -> None:
        await self.channel_points.end()
        bot, self.bot, self.component = self.bot, None, None
        if bot is None:
            return
        try:
            async with asyncio.timeout(10):
                await bot.close()
        except Exception as exc:  # closing must never take the server down with it
            log.warning("Twitch bot did not close cleanly: %s", _describe(exc))

    # --- one login session --------------------------------------------------------------------------
    async def _session(self) -> None:
        if not self._failures:  # while retrying, health keeps saying why until something changes
            self._set_state("connecting")
        bot = StreamVoiceBot(self.twitch, self.token_file, on_command_refused=self._count_refusal)
        self.bot = bot
        await self._login(bot)
        bot.broadcaster_id = self.broadcaster_id = await self._find_broadcaster(bot)
        self.component = ChatComponent(self.sv, bot_id=self.twitch.bot_id, broadcaster_id=self.broadcaster_id,
                                       confirm_interval=self.confirm_interval)
        await bot.add_component(self.component)
        self.notifications = NotificationComponent(self.sv, broadcaster_id=self.broadcaster_id)
        await bot.add_component(self.notifications)
        rejected = self.twitch.bot_id in bot.rejected_tokens
        while True:
            if not bot.has_token(self.twitch.bot_id):
                await self._wait_for_authorisation(rejected)
                rejected = False
                continue
            try:
                for subscription in self._subscriptions():
                    await bot.subscribe_websocket(subscription)
            except HTTPException as exc:
                if exc.status in {401, 403} or _refresh_failed(exc):
                    # revoked, expired beyond refresh, or without user:read:chat: only a new authorisation helps
                    log.error("Twitch refused the chat subscription (HTTP %s): %s", exc.status, _reason(exc))
                    await bot.remove_token(self.twitch.bot_id)
                    await bot.save_tokens()
                    rejected = True
                    continue
                if exc.status >= 500:
                    raise TwitchUnavailable(f"HTTP {exc.status}") from None
                raise
            self._set_state("connected")
            self.sv.loops.ok(WATCH_LOOP)
            self._failures = 0
            await self.channel_points.begin(bot, self.broadcaster_id)
            await self._watch(bot)
            rejected = not bot.has_token(self.twitch.bot_id)  # twitchio drops a token it cannot refresh

    def _subscriptions(self) -> list[SubscriptionPayload]:
        """Chat, the moderation events that reach the queue (a deleted message, a timeout or ban, a clear) and
        chat notifications (subs, resubs, gifts, raids).

        All five need only ``user:read:chat`` from the bot account (no moderator rights, no new scope).
        """
        condition = {"broadcaster_user_id": self.broadcaster_id or "", "user_id": self.twitch.bot_id}
        return [ChatMessageSubscription(**condition), ChatMessageDeleteSubscription(**condition),
                ChatClearUserMessagesSubscription(**condition), ChatClearSubscription(**condition),
                ChatNotificationSubscription(**condition)]

    async def _login(self, bot: StreamVoiceBot) -> None:
        try:
            async with asyncio.timeout(self.login_timeout):
                await bot.login()
        except HTTPException as exc:
            if is_auth_error(exc):
                raise BotStopped("error: bad credentials",
                                 f"Twitch refused twitch.client_id/client_secret ({_reason(exc)}); "
                                 "fix them in settings.yaml and restart") from None
            if exc.status >= 500:
                raise TwitchUnavailable(f"HTTP {exc.status}") from None
            raise

    async def _find_broadcaster(self, bot: StreamVoiceBot) -> str:
        if self.twitch.owner_id:
            return self.twitch.owner_id
        channel = self.twitch.channel.lstrip("#@").lower()
        users = await bot.fetch_users(logins=[channel])
        if not users:
            raise BotStopped("error: channel not found",
                             f"no Twitch channel named {channel!r}; check twitch.channel in settings.yaml")
        return str(users[0].id)

    async def _wait_for_authorisation(self, rejected: bool) -> None:
        url = self.authorise_link()
        if rejected:
            self._set_state("error: token rejected, authorise again")
            log.error("The Twitch token of the bot account is expired or revoked. Authorise it again: open %s "
                      "and sign in as the bot account", url)
        else:
            self._set_state("waiting for authorisation")
            log.warning("The Twitch bot needs the bot account's permission to read chat: open %s and sign in "
                        "as the bot account (user id %s)", url, self.twitch.bot_id)
        await self._authorised.wait()
        self._authorised.clear()

    async def _watch(self, bot: StreamVoiceBot) -> None:
        """Report the socket state until twitchio has no socket left (then the caller subscribes again).

        A fault while looking (twitchio's internals caught mid-change) is retried with backoff and shown in
        ``/api/health`` under ``loops``; it does not tear the bot down.
        """
        failures = 0
        while True:
            try:
                sockets = bot.chat_sockets()
                connected = bot.chat_connected()
            except Exception as exc:
                self.sv.loops.failing(WATCH_LOOP, exc)
                await asyncio.sleep(_WATCH_BACKOFF.delay(failures))
                failures += 1
                continue
            if failures:
                failures = 0
                self.sv.loops.ok(WATCH_LOOP)
            if not sockets:
                self._set_state("reconnecting")
                log.warning("Twitch chat subscription lost; subscribing again")
                await asyncio.sleep(self.retry_delays[0])
                return
            self._set_state("connected" if connected else "reconnecting")
            await asyncio.sleep(self.poll_interval)

    def _count_refusal(self, command: str) -> None:
        self.refused += 1

    # --- OAuth --------------------------------------------------------------------------------------
    def authorise_link(self, account: str = "bot") -> str:
        """The local page that starts the authorisation (what we tell the streamer to open)."""
        base = self.redirect_uri.removesuffix(CALLBACK_PATH)
        suffix = "" if account == "bot" else f"?account={account}"
        return f"{base}{OAUTH_PATH}{suffix}"

    def authorisation_url(self, account: str) -> str:
        """Twitch's consent page for ``account`` ("bot" or "broadcaster"), with a one-time ``state``."""
        bot = self.bot
        if bot is None or self.broadcaster_id is None:
            raise AuthorisationError(503, f"The Twitch bot is not logged in yet ({self.state}). "
                                          "Check the server log, then try again.")
        now = time.monotonic()
        self._pending = {k: v for k, v in self._pending.items() if now - v.created < OAUTH_STATE_TTL_S}
        state = secrets.token_urlsafe(24)
        self._pending[state] = _PendingAuthorisation(account, self.redirect_uri, now)
        wanted = BOT_SCOPES if account == "bot" else BROADCASTER_SCOPES
        if account == "broadcaster" or self.twitch.bot_id == self.broadcaster_id:  # channel-point TTS reward
            wanted += self.channel_points.scopes_for(self.channel_points.points.enabled)
        scopes = Scopes(wanted)
        payload = bot.http.get_authorization_url(scopes=scopes, state=state, redirect_uri=self.redirect_uri,
                                                 force_verify=True)
        return payload.url

    async def finish_authorisation(self, code: str, state: str) -> str:
        """Trade Twitch's code for tokens, check they belong to the expected account, store them.

        Returns the login that was authorised.
        """
        pending = self._pending.pop(state, None)
        if pending is None or time.monotonic() - pending.created >= OAUTH_STATE_TTL_S:
            raise AuthorisationError(400, "This authorisation link is unknown or expired. Start again from "
                                          f"{self.authorise_link()}.")
        bot = self.bot
        if bot is None:
            raise AuthorisationError(503, f"The Twitch bot is not running ({self.state}).")
        try:
            tokens = await bot.http.user_access_token(code, redirect_uri=pending.redirect_uri)
            who = await bot.http.validate_token(tokens.access_token)
        except HTTPException as exc:
            log.error("Twitch refused the authorisation code (HTTP %s): %s", exc.status, _reason(exc))
            raise AuthorisationError(502, "Twitch refused the authorisation. Start again.") from None
        expected = self.twitch.bot_id if pending.account == "bot" else self.broadcaster_id
        if who.user_id != expected:
            log.warning("Twitch authorisation for the %s account was signed in as %s (user id %s); not stored",
                        pending.account, who.login, who.user_id)
            raise AuthorisationError(
                400, f"You signed in to Twitch as {who.login!r} (user id {who.user_id}), but this link is for the "
                     f"{pending.account} account (user id {expected}). Sign out of Twitch or use a private "
                     f"window, then open {self.authorise_link(pending.account)} again.")
        try:
            await bot.add_token(tokens.access_token, tokens.refresh_token)
        except InvalidTokenException:
            raise AuthorisationError(502, "Twitch did not accept the new token. Start again.") from None
        await bot.save_tokens()
        log.info("Twitch account %s (%s) authorised the %s scopes", who.login, who.user_id, pending.account)
        if pending.account == "bot":
            self._authorised.set()
        if who.user_id == self.broadcaster_id:
            self.channel_points.authorised()
        return who.login or str(who.user_id)


def _reason(exc: HTTPException) -> str:
    """Twitch's own message (``{"message": ...}``) for a log line; never the request URL or its parameters."""
    extra: Any = exc.extra
    if isinstance(extra, dict) and extra.get("message"):
        return str(extra["message"])
    return f"HTTP {exc.status}"


def _refresh_failed(exc: HTTPException) -> bool:
    """twitchio answers a 401 by refreshing the token; a refused refresh surfaces as this request's error."""
    return exc.route is not None and exc.route.base_url.endswith("oauth2/token")


def _describe(exc: BaseException) -> str:
    if isinstance(exc, HTTPException):
        return _reason(exc)
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


TWITCH_BOT = web.AppKey("twitch_bot", TwitchBotRunner)


#: How the bot reaches the running service and the settings in force, given the app (the composition root
#: knows where the web app keeps them; the bot does not import ``web``).
Running = Callable[[web.Application], tuple[StreamVoice, Settings]]


def make_twitch_bot_ctx(running: Running, **options: Any) -> Callable[[web.Application], AsyncIterator[None]]:
    """A ``cleanup_ctx`` running the bot; ``options`` are ``TwitchBotRunner`` options (tests use short delays)."""

    async def twitch_bot_ctx(app: web.Application) -> AsyncIterator[None]:
        service, settings = running(app)
        runner = TwitchBotRunner(service, settings, **options)
        app[TWITCH_BOT] = runner
        if settings.twitch.enabled:
            runner.start()
        else:
            log.info("Twitch bot disabled (twitch.client_id, client_secret, bot_id and channel are needed)")
        try:
            yield
        finally:
            await runner.stop()

    return twitch_bot_ctx

