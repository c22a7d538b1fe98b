"""A small, strict fake of the parts of Twitch the bot talks to, on aiohttp, for a real twitchio client.

* id host: ``POST /oauth2/token`` (client credentials, authorisation code, refresh), ``GET /oauth2/validate``,
  ``GET /oauth2/authorize`` (consents at once as ``signed_in_as`` and redirects back with a code);
* Helix: ``GET /helix/users``, ``POST /helix/eventsub/subscriptions``, ``POST /helix/chat/messages``;
  channel points (``FakeChannelPoints`` below): custom rewards GET/POST/PATCH, redemptions GET/PATCH, and the
  ``channel.channel_points_custom_reward_redemption.add``/``.update`` notifications;
* EventSub WebSocket ``/ws``: ``session_welcome``, keepalives, ``notification``, ``session_reconnect``,
  ``revocation``; notifications for ``channel.chat.message``, ``channel.chat.message_delete``,
  ``channel.chat.clear_user_messages``, ``channel.chat.clear`` and ``channel.chat.notification`` (subs, resubs,
  gifts, raids; complete events, as Twitch documents them).

It checks what real Twitch checks where a mistake in our code would otherwise pass unnoticed: the client
secret, user tokens (not app tokens) and the ``user:read:chat`` scope for WebSocket subscriptions, the
subscribing user matching the token, the session being connected, the redirect URI matching the one sent to
the consent page. Chat notifications carry complete ``channel.chat.message`` events (twitchio indexes most keys
directly) with fragments split the way Twitch splits them; messages the bot sends come back as chat, as on
Twitch.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import itertools
import re
import secrets
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web
from aiohttp.test_utils import TestServer

CHAT_SUBSCRIPTION = "channel.chat.message"
#: Chat moderation notifications (version 1, the same ``user:read:chat`` authorisation as chat messages).
MESSAGE_DELETE_SUBSCRIPTION = "channel.chat.message_delete"
CLEAR_USER_SUBSCRIPTION = "channel.chat.clear_user_messages"
CLEAR_SUBSCRIPTION = "channel.chat.clear"
#: Chat notifications (subs, resubs, gifts, raids...), version 1, the same ``user:read:chat`` authorisation.
NOTIFICATION_SUBSCRIPTION = "channel.chat.notification"
CHAT_SUBSCRIPTIONS = frozenset({CHAT_SUBSCRIPTION, MESSAGE_DELETE_SUBSCRIPTION, CLEAR_USER_SUBSCRIPTION,
                                CLEAR_SUBSCRIPTION, NOTIFICATION_SUBSCRIPTION})
_CHEERMOTE = re.compile(r"^(?P<prefix>[A-Za-z]+?)(?P<bits>[1-9][0-9]*)$")
_CHEER_PREFIXES = frozenset({"cheer", "biblethump", "kappa", "pogchamp", "kreygasm", "swiftrage", "showlove"})
_TWITCH_EMOTES = {"Kappa": "25", "PogChamp": "305954156", "LUL": "425618", "BibleThump": "86"}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat().replace("+00:00", "Z")


@dataclass
class FakeUser:
    id: str
    login: str
    display_name: str

    def helix(self) -> dict[str, Any]:
        return {
            "id": self.id, "login": self.login, "display_name": self.display_name, "type": "",
            "broadcaster_type": "affiliate", "description": "", "profile_image_url": "https://example.invalid/p.png",
            "offline_image_url": "", "view_count": 0, "created_at": "2020-01-01T00:00:00Z",
        }


@dataclass
class UserToken:
    user_id: str
    scopes: tuple[str, ...]
    refresh: str


@dataclass
class Session:
    id: str
    ws: web.WebSocketResponse
    request: web.Request
    keepalive: asyncio.Task[None] | None = None


@dataclass
class Subscription:
    id: str
    type: str
    version: str
    condition: dict[str, str]
    session_id: str
    created_at: str = field(default_factory=_now)

    def describe(self) -> dict[str, Any]:
        return {
            "id": self.id, "status": "enabled", "type": self.type, "version": self.version,
            "condition": self.condition, "created_at": self.created_at, "cost": 0,
            "transport": {"method": "websocket", "session_id": self.session_id, "connected_at": self.created_at},
        }


def fragments_for(text: str, *, users: Iterable[FakeUser], cheering: bool) -> list[dict[str, Any]]:
    """Split ``text`` like Twitch: mentions of known users, emotes, cheermotes (in cheers), and text runs."""
    by_login = {u.login.lower(): u for u in users}
    fragments: list[dict[str, Any]] = []

    def add(kind: str, piece: str, **extra: Any) -> None:
        if kind == "text" and fragments and fragments[-1]["type"] == "text":
            fragments[-1]["text"] += piece
            return
        fragments.append({"type": kind, "text": piece, "cheermote": None, "emote": None, "mention": None, **extra})

    for piece in re.split(r"(\s+)", text):
        if not piece:
            continue
        cheer = _CHEERMOTE.match(piece) if cheering else None
        user = by_login.get(piece[1:].lower()) if piece.startswith("@") else None
        if cheer and cheer["prefix"].lower() in _CHEER_PREFIXES:
            bits = int(cheer["bits"])
            tier = max(t for t in (1, 100, 1000, 5000, 10000) if t <= bits)
            add("cheermote", piece, cheermote={"prefix": cheer["prefix"].lower(), "bits": bits, "tier": tier})
        elif user is not None:
            add("mention", piece, mention={"user_id": user.id, "user_login": user.login,
                                           "user_name": user.display_name})
        elif piece in _TWITCH_EMOTES:
            add("emote", piece, emote={"id": _TWITCH_EMOTES[piece], "emote_set_id": "0", "owner_id": "0",
                                       "format": ["static"]})
        else:
            add("text", piece)
    return fragments


def chat_event(*, broadcaster: FakeUser, chatter: FakeUser, text: str, users: Iterable[FakeUser],
               bits: int | None = None, badges: Iterable[str] = (), source_broadcaster: FakeUser | None = None,
               message_id: str | None = None, message_type: str = "text") -> dict[str, Any]:
    """A complete ``channel.chat.message`` event, as Twitch sends it (every key present, nulls included)."""
    badge_list = [{"set_id": b, "id": "1", "info": ""} for b in badges]
    return {
        "broadcaster_user_id": broadcaster.id, "broadcaster_user_login": broadcaster.login,
        "broadcaster_user_name": broadcaster.display_name,
        "source_broadcaster_user_id": source_broadcaster.id if source_broadcaster else None,
        "source_broadcaster_user_login": source_broadcaster.login if source_broadcaster else None,
        "source_broadcaster_user_name": source_broadcaster.display_name if source_broadcaster else None,
        "chatter_user_id": chatter.id, "chatter_user_login": chatter.login,
        "chatter_user_name": chatter.display_name,
        "message_id": message_id or str(uuid.uuid4()),
        "source_message_id": str(uuid.uuid4()) if source_broadcaster else None,
        "is_source_only": False if source_broadcaster else None,
        "message": {"text": text, "fragments": fragments_for(text, users=users, cheering=bits is not None)},
        "color": "#1E90FF", "badges": badge_list,
        "source_badges": badge_list if source_broadcaster else None,
        "message_type": message_type, "cheer": {"bits": bits} if bits is not None else None, "reply": None,
        "channel_points_custom_reward_id": None, "channel_points_animation_id": None,
    }


# --- chat notifications (channel.chat.notification) ---------------------------------------------------------

#: Every notice-specific object of a ``channel.chat.notification`` event; all but the one of its type are null.
NOTICE_OBJECTS: tuple[str, ...] = (
    "sub", "resub", "sub_gift", "community_sub_gift", "gift_paid_upgrade", "prime_paid_upgrade", "pay_it_forward",
    "raid", "unraid", "announcement", "bits_badge_tier", "charity_donation", "watch_streak", "modiversary",
    "shared_chat_sub", "shared_chat_resub", "shared_chat_sub_gift", "shared_chat_community_sub_gift",
    "shared_chat_gift_paid_upgrade", "shared_chat_prime_paid_upgrade", "shared_chat_pay_it_forward",
    "shared_chat_raid", "shared_chat_unraid", "shared_chat_announcement", "shared_chat_modiversary",
)
#: Who Twitch names as the chatter of an anonymous gift.
ANONYMOUS_GIFTER = FakeUser("274598607", "ananonymousgifter", "AnAnonymousGifter")


def _user_keys(prefix: str, user: FakeUser | None) -> dict[str, Any]:
    return {f"{prefix}_id": user.id if user else None, f"{prefix}_login": user.login if user else None,
            f"{prefix}_name": user.display_name if user else None}


def sub_object(*, months: int = 1, tier: str = "1000", prime: bool = False) -> dict[str, Any]:
    return {"sub_tier": tier, "is_prime": prime, "duration_months": months}


def resub_object(*, cumulative: int, streak: int | None = None, tier: str = "1000", prime: bool = False,
                 gifter: FakeUser | None = None) -> dict[str, Any]:
    return {"cumulative_months": cumulative, "duration_months": 1, "streak_months": streak, "sub_tier": tier,
            "is_prime": prime, "is_gift": gifter is not None,
            "gifter_is_anonymous": False if gifter is not None else None, **_user_keys("gifter_user", gifter)}


def sub_gift_object(recipient: FakeUser, *, community_gift_id: str | None = None, tier: str = "1000",
                    cumulative_total: int | None = None) -> dict[str, Any]:
    return {"duration_months": 1, "cumulative_total": cumulative_total, **_user_keys("recipient_user", recipient),
            "sub_tier": tier, "community_gift_id": community_gift_id}


def community_sub_gift_object(gift_id: str, total: int, *, tier: str = "1000",
                              cumulative_total: int | None = None) -> dict[str, Any]:
    return {"id": gift_id, "total": total, "sub_tier": tier, "cumulative_total": cumulative_total}


def raid_object(raider: FakeUser, viewers: int) -> dict[str, Any]:
    return {**_user_keys("user", raider), "viewer_count": viewers,
            "profile_image_url": "https://example.invalid/raider.png"}


def notification_event(*, broadcaster: FakeUser, chatter: FakeUser, notice_type: str, notice: dict[str, Any] | None,
                       users: Iterable[FakeUser], text: str = "", anonymous: bool = False,
                       system_message: str = "", badges: Iterable[str] = (),
                       source_broadcaster: FakeUser | None = None) -> dict[str, Any]:
    """A complete ``channel.chat.notification`` event as Twitch documents it: every key present, null where
    empty; ``notice`` fills the object named by ``notice_type`` (``shared_chat_*`` types included)."""
    badge_list = [{"set_id": b, "id": "1", "info": ""} for b in badges]
    objects: dict[str, Any] = {name: None for name in NOTICE_OBJECTS}
    if notice_type in objects:
        objects[notice_type] = notice
    return {
        "broadcaster_user_id": broadcaster.id, "broadcaster_user_login": broadcaster.login,
        "broadcaster_user_name": broadcaster.display_name,
        **_user_keys("chatter_user", chatter), "chatter_is_anonymous": anonymous, "color": "#9146FF",
        "badges": badge_list, "system_message": system_message or f"{chatter.display_name}: {notice_type}",
        "message_id": str(uuid.uuid4()),
        "message": {"text": text, "fragments": fragments_for(text, users=users, cheering=False) if text else []},
        "notice_type": notice_type, **objects,
        **_user_keys("source_broadcaster_user", source_broadcaster),
        "source_message_id": str(uuid.uuid4()) if source_broadcaster else None,
        "source_badges": badge_list if source_broadcaster else None,
        "is_source_only": False if source_broadcaster else None,
    }


class FakeTwitch:
    """Start with ``await fake.start()``; point twitchio at ``api_base``, ``id_base`` and ``wss``."""

    def __init__(self, *, client_id: str = "fake-client-id", client_secret: str = "fake-client-secret",
                 keepalive_interval: float = 2.0) -> None:
        self.client_id = client_id
        self.client_secret = client_secret
        self.keepalive_interval = keepalive_interval
        self.users: dict[str, FakeUser] = {}
        self.app_tokens: set[str] = set()
        self.user_tokens: dict[str, UserToken] = {}
        self.refresh_tokens: dict[str, tuple[str, tuple[str, ...]]] = {}
        self.codes: dict[str, tuple[str, tuple[str, ...], str]] = {}
        self.sessions: dict[str, Session] = {}
        self.subscriptions: dict[str, Subscription] = {}
        self.sent_messages: list[dict[str, Any]] = []
        #: The account that is "signed in" in the browser when the consent page is opened.
        self.signed_in_as: str | None = None
        #: Cleared: new sockets connect but get no welcome until it is set again (a slow reconnect).
        self.welcome_gate = asyncio.Event()
        self.welcome_gate.set()
        self._ids = itertools.count(1)
        self._server: TestServer | None = None
        #: Channel-point rewards and redemptions (``FakeChannelPoints``).
        self.points = FakeChannelPoints(self)

    # --- lifecycle ----------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/oauth2/token", self._token)
        app.router.add_get("/oauth2/validate", self._validate)
        app.router.add_get("/oauth2/authorize", self._authorize)
        app.router.add_get("/helix/users", self._users)
        app.router.add_post("/helix/eventsub/subscriptions", self._subscribe)
        app.router.add_post("/helix/chat/messages", self._send_chat)
        self.points.add_routes(app)  # channel points
        app.router.add_get("/ws", self._websocket)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        self.welcome_gate.set()
        for session in list(self.sessions.values()):
            with contextlib.suppress(Exception):
                await session.ws.close()
        if self._server is not None:
            await self._server.close()

    @property
    def base(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.port}"

    @property
    def api_base(self) -> str:
        return f"{self.base}/helix/"

    @property
    def id_base(self) -> str:
        return f"{self.base}/"

    @property
    def wss(self) -> str:
        return f"ws://127.0.0.1:{self._server.port if self._server else 0}/ws"

    # --- test controls ------------------------------------------------------------------------------
    def add_user(self, user_id: str, login: str, display_name: str | None = None) -> FakeUser:
        user = FakeUser(user_id, login, display_name or login)
        self.users[user_id] = user
        return user

    def grant(self, user_id: str, scopes: Iterable[str]) -> tuple[str, str]:
        """Issue a user token pair, as if ``user_id`` had authorised our client earlier."""
        access, refresh = f"access-{secrets.token_hex(8)}", f"refresh-{secrets.token_hex(8)}"
        self.user_tokens[access] = UserToken(user_id, tuple(scopes), refresh)
        self.refresh_tokens[refresh] = (user_id, tuple(scopes))
        return access, refresh

    def expire(self, access_token: str) -> None:
        """The access token stops working (its refresh token still does)."""
        self.user_tokens.pop(access_token, None)

    def revoke(self, user_id: str) -> None:
        """The user disconnected our app: every token and refresh token of theirs is dead."""
        self.user_tokens = {t: v for t, v in self.user_tokens.items() if v.user_id != user_id}
        self.refresh_tokens = {r: v for r, v in self.refresh_tokens.items() if v[0] != user_id}

    async def disconnect_app(self, user_id: str) -> None:
        """The user removes our app in their Twitch connections: tokens die, subscriptions are revoked."""
        self.revoke(user_id)
        for sub in list(self.subscriptions.values()):
            session = self.sessions.get(sub.session_id)
            if sub.condition.get("user_id") != user_id or session is None:
                continue
            del self.subscriptions[sub.id]
            revoked = {**sub.describe(), "status": "authorization_revoked"}
            await session.ws.send_json({
                "metadata": {"message_id": str(uuid.uuid4()), "message_type": "revocation",
                             "message_timestamp": _now(), "subscription_type": sub.type,
                             "subscription_version": sub.version},
                "payload": {"subscription": revoked},
            })

    def chat_sessions(self) -> set[str]:
        """Sessions that currently carry a chat subscription."""
        return {s.session_id for s in self.subscriptions.values()
                if s.type == CHAT_SUBSCRIPTION and s.session_id in self.sessions}

    async def chat(self, chatter: FakeUser, text: str, *, broadcaster: FakeUser, bits: int | None = None,
                   badges: Iterable[str] = (), source_broadcaster: FakeUser | None = None,
                   message_type: str = "text") -> str:
        """Someone types in ``broadcaster``'s chat: a notification to every session subscribed to it.

        ``message_type="user_intro"``: the chatter's first message in the channel."""
        event = chat_event(broadcaster=broadcaster, chatter=chatter, text=text, users=self.users.values(),
                           bits=bits, badges=badges, source_broadcaster=source_broadcaster, message_type=message_type)
        delivered = 0
        for sub in list(self.subscriptions.values()):
            session = self.sessions.get(sub.session_id)
            if sub.type != CHAT_SUBSCRIPTION or session is None \
                    or sub.condition["broadcaster_user_id"] != broadcaster.id:
                continue
            await session.ws.send_json({
                "metadata": {"message_id": str(uuid.uuid4()), "message_type": "notification",
                             "message_timestamp": _now(), "subscription_type": sub.type,
                             "subscription_version": sub.version},
                "payload": {"subscription": sub.describe(), "event": event},
            })
            delivered += 1
        assert delivered, "no chat subscription to deliver to"
        return str(event["message_id"])

    # --- chat moderation (a moderator deletes a message, times out or bans a chatter, clears chat) -----------
    def subscription_types(self) -> set[str]:
        """The subscription types live on connected sessions."""
        return {s.type for s in self.subscriptions.values() if s.session_id in self.sessions}

    async def _notify(self, kind: str, broadcaster: FakeUser, event: dict[str, Any]) -> int:
        """Send one ``notification`` of ``kind`` to every session subscribed to it for ``broadcaster``."""
        delivered = 0
        for sub in list(self.subscriptions.values()):
            session = self.sessions.get(sub.session_id)
            if sub.type != kind or session is None or sub.condition["broadcaster_user_id"] != broadcaster.id:
                continue
            await session.ws.send_json({
                "metadata": {"message_id": str(uuid.uuid4()), "message_type": "notification",
                             "message_timestamp": _now(), "subscription_type": sub.type,
                             "subscription_version": sub.version},
                "payload": {"subscription": sub.describe(), "event": event},
            })
            delivered += 1
        return delivered

    @staticmethod
    def _broadcaster_fields(broadcaster: FakeUser) -> dict[str, str]:
        return {"broadcaster_user_id": broadcaster.id, "broadcaster_user_login": broadcaster.login,
                "broadcaster_user_name": broadcaster.display_name}

    @staticmethod
    def _target_fields(target: FakeUser) -> dict[str, str]:
        return {"target_user_id": target.id, "target_user_login": target.login,
                "target_user_name": target.display_name}

    async def delete_message(self, message_id: str, *, chatter: FakeUser, broadcaster: FakeUser) -> None:
        """A moderator deletes one message: ``channel.chat.message_delete``."""
        event = {**self._broadcaster_fields(broadcaster), **self._target_fields(chatter), "message_id": message_id}
        assert await self._notify(MESSAGE_DELETE_SUBSCRIPTION, broadcaster, event), "nobody subscribed"

    async def clear_user_messages(self, chatter: FakeUser, *, broadcaster: FakeUser) -> None:
        """A moderator times out or bans ``chatter``: ``channel.chat.clear_user_messages``."""
        event = {**self._broadcaster_fields(broadcaster), **self._target_fields(chatter)}
        assert await self._notify(CLEAR_USER_SUBSCRIPTION, broadcaster, event), "nobody subscribed"

    async def clear_chat(self, *, broadcaster: FakeUser) -> None:
        """A moderator clears the whole chat (``/clear``): ``channel.chat.clear``."""
        assert await self._notify(CLEAR_SUBSCRIPTION, broadcaster, self._broadcaster_fields(broadcaster)), \
            "nobody subscribed"

    async def chat_notification(self, chatter: FakeUser, notice_type: str, notice: dict[str, Any] | None, *,
                                broadcaster: FakeUser, text: str = "", anonymous: bool = False,
                                source_broadcaster: FakeUser | None = None) -> str:
        """A sub, resub, gift, raid... shows in ``broadcaster``'s chat: ``channel.chat.notification``."""
        event = notification_event(broadcaster=broadcaster, chatter=chatter, notice_type=notice_type, notice=notice,
                                   users=self.users.values(), text=text, anonymous=anonymous,
                                   source_broadcaster=source_broadcaster)
        assert await self._notify(NOTIFICATION_SUBSCRIPTION, broadcaster, event), "nobody subscribed"
        return str(event["message_id"])

    async def drop_connections(self) -> None:
        """Cut every EventSub socket without a goodbye (a network drop); their subscriptions die with them."""
        for session in list(self.sessions.values()):
            transport = session.request.transport
            if transport is not None:
                transport.abort()

    async def request_reconnect(self) -> None:
        """Twitch's planned move: ``session_reconnect`` with a URL; subscriptions follow to the new socket."""
        for session in list(self.sessions.values()):
            url = f"{self.wss}?{urlencode({'reconnect_from': session.id})}"
            await session.ws.send_json({
                "metadata": {"message_id": str(uuid.uuid4()), "message_type": "session_reconnect",
                             "message_timestamp": _now()},
                "payload": {"session": {"id": session.id, "status": "reconnecting", "connected_at": _now(),
                                        "keepalive_timeout_seconds": None, "reconnect_url": url,
                                        "recovery_url": None}},
            })

    # --- id host ------------------------------------------------------------------------------------
    @staticmethod
    def _error(status: int, message: str) -> web.Response:
        return web.json_response({"status": status, "message": message}, status=status)

    async def _token(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != self.client_id:
            return self._error(400, "invalid client")
        if q.get("client_secret") != self.client_secret:
            return self._error(403, "invalid client secret")
        grant = q.get("grant_type")
        if grant == "client_credentials":
            token = f"app-{secrets.token_hex(8)}"
            self.app_tokens.add(token)
            return web.json_response({"access_token": token, "expires_in": 5_000_000, "token_type": "bearer"})
        if grant == "authorization_code":
            found = self.codes.pop(q.get("code", ""), None)
            if found is None:
                return self._error(400, "Invalid authorization code")
            user_id, scopes, redirect = found
            if q.get("redirect_uri") != redirect:
                return self._error(400, "Parameter redirect_uri does not match registered URI")
            return self._issue(user_id, scopes)
        if grant == "refresh_token":
            found_refresh = self.refresh_tokens.pop(q.get("refresh_token", ""), None)
            if found_refresh is None:
                return self._error(400, "Invalid refresh token")
            user_id, scopes = found_refresh
            self.user_tokens = {t: v for t, v in self.user_tokens.items() if v.refresh != q.get("refresh_token")}
            return self._issue(user_id, scopes)
        return self._error(400, "unsupported grant type")

    def _issue(self, user_id: str, scopes: tuple[str, ...]) -> web.Response:
        access, refresh = self.grant(user_id, scopes)
        return web.json_response({"access_token": access, "refresh_token": refresh, "expires_in": 14_000,
                                  "scope": list(scopes), "token_type": "bearer"})

    async def _validate(self, request: web.Request) -> web.Response:
        # Twitch accepts both schemes here (twitchio's managed client rewrites "OAuth" to "Bearer")
        token = request.headers.get("Authorization", "").removeprefix("OAuth ").removeprefix("Bearer ")
        if token in self.app_tokens:
            return web.json_response({"client_id": self.client_id, "scopes": [], "expires_in": 5_000_000})
        user = self.user_tokens.get(token)
        if user is None:
            return self._error(401, "invalid access token")
        return web.json_response({"client_id": self.client_id, "login": self.users[user.user_id].login,
                                  "scopes": list(user.scopes), "user_id": user.user_id, "expires_in": 14_000})

    async def _authorize(self, request: web.Request) -> web.Response:
        q = request.query
        if q.get("client_id") != self.client_id or q.get("response_type") != "code":
            return self._error(400, "bad authorize request")
        if self.signed_in_as is None:
            return self._error(400, "nobody is signed in to the fake browser")
        code = f"code-{secrets.token_hex(6)}"
        scopes = tuple(q.get("scope", "").split())
        self.codes[code] = (self.signed_in_as, scopes, q["redirect_uri"])
        back = {"code": code, "scope": " ".join(scopes), "state": q.get("state", "")}
        raise web.HTTPFound(f"{q['redirect_uri']}?{urlencode(back)}")

    # --- Helix --------------------------------------------------------------------------------------
    def _helix_caller(self, request: web.Request) -> str | UserToken | web.Response:
        """The app token or the user token behind a Helix request, or the error Twitch would answer."""
        if request.headers.get("Client-ID") != self.client_id:
            return self._error(401, "Client ID and OAuth token do not match")
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token in self.app_tokens:
            return token
        user = self.user_tokens.get(token)
        if user is None:
            return self._error(401, "Invalid OAuth token")
        return user

    async def _users(self, request: web.Request) -> web.Response:
        caller = self._helix_caller(request)
        if isinstance(caller, web.Response):
            return caller
        ids = set(request.query.getall("id", []))
        logins = {login.lower() for login in request.query.getall("login", [])}
        found = [u.helix() for u in self.users.values() if u.id in ids or u.login in logins]
        return web.json_response({"data": found})

    async def _subscribe(self, request: web.Request) -> web.Response:
        caller = self._helix_caller(request)
        if isinstance(caller, web.Response):
            return caller
        body = await request.json()
        transport = body.get("transport", {})
        if transport.get("method") != "websocket":
            return self._error(400, "only websocket transport is faked")
        if not isinstance(caller, UserToken):
            return self._error(400, "websocket transport requires a user access token")
        if body.get("type") in REDEMPTION_SUBSCRIPTIONS:  # channel points
            return self.points.subscribe(caller, body)
        if body.get("type") not in CHAT_SUBSCRIPTIONS or body.get("version") != "1":
            return self._error(400, f"only {', '.join(sorted(CHAT_SUBSCRIPTIONS))} v1 are faked")
        condition = body.get("condition", {})
        if condition.get("user_id") != caller.user_id or "user:read:chat" not in caller.scopes:
            return self._error(403, "subscription missing proper authorization")
        if condition.get("broadcaster_user_id") not in self.users:
            return self._error(400, "invalid broadcaster_user_id")
        session_id = transport.get("session_id")
        if session_id not in self.sessions:
            return self._error(400, "websocket transport session does not exist or has already disconnected")
        for sub in self.subscriptions.values():
            if sub.session_id == session_id and sub.condition == condition and sub.type == body["type"]:
                return self._error(409, f"subscription already exists id={sub.id}")
        sub = Subscription(str(uuid.uuid4()), body["type"], body["version"], condition, session_id)
        self.subscriptions[sub.id] = sub
        return web.json_response({"data": [sub.describe()], "total": len(self.subscriptions), "total_cost": 0,
                                  "max_total_cost": 10}, status=202)

    async def _send_chat(self, request: web.Request) -> web.Response:
        caller = self._helix_caller(request)
        if isinstance(caller, web.Response):
            return caller
        body = await request.json()
        sender, broadcaster = self.users.get(str(body.get("sender_id"))), self.users.get(body.get("broadcaster_id"))
        if sender is None or broadcaster is None:
            return self._error(400, "unknown sender or broadcaster")
        if isinstance(caller, UserToken) and (caller.user_id != sender.id or "user:write:chat" not in caller.scopes):
            return self._error(401, "The sender must have authorized the app with the user:write:chat scope")
        self.sent_messages.append(body)
        badges = ("broadcaster",) if sender.id == broadcaster.id else ()
        # as on Twitch, the bot's own message arrives in chat like anyone's
        if any(s.condition["broadcaster_user_id"] == broadcaster.id for s in self.subscriptions.values()):
            await self.chat(sender, body["message"], broadcaster=broadcaster, badges=badges)
        return web.json_response({"data": [{"message_id": str(uuid.uuid4()), "is_sent": True,
                                            "drop_reason": None}]})

    # --- EventSub WebSocket -------------------------------------------------------------------------
    async def _websocket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        session = Session(f"session-{next(self._ids)}", ws, request)
        moved_from = request.query.get("reconnect_from")
        self.sessions[session.id] = session
        try:
            await self.welcome_gate.wait()
            if moved_from:  # subscriptions follow a planned reconnect; the client closes the old socket
                for sub in self.subscriptions.values():
                    if sub.session_id == moved_from:
                        sub.session_id = session.id
            await ws.send_json({
                "metadata": {"message_id": str(uuid.uuid4()), "message_type": "session_welcome",
                             "message_timestamp": _now()},
                "payload": {"session": {"id": session.id, "status": "connected", "connected_at": _now(),
                                        "keepalive_timeout_seconds": 10, "reconnect_url": None,
                                        "recovery_url": None}},
            })
            session.keepalive = asyncio.create_task(self._keepalives(session))
            async for frame in ws:
                if frame.type is WSMsgType.TEXT:  # clients must not send anything
                    await ws.close(code=4001, message=b"client sent inbound traffic")
        finally:
            if session.keepalive is not None:
                session.keepalive.cancel()
            self.sessions.pop(session.id, None)
            self.subscriptions = {k: s for k, s in self.subscriptions.items() if s.session_id != session.id}
        return ws

    async def _keepalives(self, session: Session) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):
            while not session.ws.closed:
                await asyncio.sleep(self.keepalive_interval)
                await session.ws.send_json({
                    "metadata": {"message_id": str(uuid.uuid4()), "message_type": "session_keepalive",
                                 "message_timestamp": _now()},
                    "payload": {},
                })


# --- channel points: rewards, redemptions and their notifications -------------------------------------------
REDEMPTION_ADD = "channel.channel_points_custom_reward_redemption.add"
REDEMPTION_UPDATE = "channel.channel_points_custom_reward_redemption.update"
REDEMPTION_SUBSCRIPTIONS = frozenset({REDEMPTION_ADD, REDEMPTION_UPDATE})
READ_REDEMPTIONS = frozenset({"channel:read:redemptions", "channel:manage:redemptions"})


@dataclass
class FakeReward:
    id: str
    broadcaster: FakeUser
    #: The client that created it: only that client may update it or its redemptions (Twitch's rule).
    owner_client_id: str | None
    title: str
    cost: int
    prompt: str = ""
    is_user_input_required: bool = False
    should_redemptions_skip_request_queue: bool = False
    is_paused: bool = False
    global_cooldown: int = 0
    max_per_user_per_stream: int = 0

    def helix(self) -> dict[str, Any]:
        """Every key Helix documents for a custom reward (null where empty)."""
        return {
            "broadcaster_id": self.broadcaster.id, "broadcaster_login": self.broadcaster.login,
            "broadcaster_name": self.broadcaster.display_name, "id": self.id, "title": self.title,
            "prompt": self.prompt, "cost": self.cost, "image": None,
            "default_image": {"url_1x": "https://example.invalid/1.png", "url_2x": "https://example.invalid/2.png",
                              "url_4x": "https://example.invalid/4.png"},
            "background_color": "#9147FF", "is_enabled": True,
            "is_user_input_required": self.is_user_input_required,
            "max_per_stream_setting": {"is_enabled": False, "max_per_stream": 0},
            "max_per_user_per_stream_setting": {"is_enabled": self.max_per_user_per_stream > 0,
                                                "max_per_user_per_stream": self.max_per_user_per_stream},
            "global_cooldown_setting": {"is_enabled": self.global_cooldown > 0,
                                        "global_cooldown_seconds": self.global_cooldown},
            "is_paused": self.is_paused, "is_in_stock": True,
            "should_redemptions_skip_request_queue": self.should_redemptions_skip_request_queue,
            "redemptions_redeemed_current_stream": None, "cooldown_expires_at": None,
        }

    def brief(self) -> dict[str, Any]:
        return {"id": self.id, "title": self.title, "cost": self.cost, "prompt": self.prompt}


@dataclass
class FakeRedemption:
    id: str
    reward: FakeReward
    user: FakeUser
    user_input: str
    status: str = "UNFULFILLED"
    redeemed_at: str = field(default_factory=_now)

    def helix(self) -> dict[str, Any]:
        broadcaster = self.reward.broadcaster
        return {"broadcaster_id": broadcaster.id, "broadcaster_login": broadcaster.login,
                "broadcaster_name": broadcaster.display_name, "id": self.id, "user_id": self.user.id,
                "user_login": self.user.login, "user_name": self.user.display_name, "user_input": self.user_input,
                "status": self.status, "redeemed_at": self.redeemed_at, "reward": self.reward.brief()}

    def event(self) -> dict[str, Any]:
        """A complete ``...redemption.add``/``.update`` event (every documented key, status in lower case)."""
        broadcaster = self.reward.broadcaster
        return {"id": self.id, "broadcaster_user_id": broadcaster.id, "broadcaster_user_login": broadcaster.login,
                "broadcaster_user_name": broadcaster.display_name, "user_id": self.user.id,
                "user_login": self.user.login, "user_name": self.user.display_name, "user_input": self.user_input,
                "status": self.status.lower(), "reward": self.reward.brief(), "redeemed_at": self.redeemed_at}


class FakeChannelPoints:
    """Twitch's channel points, strictly: the broadcaster's own token with the right scope, rewards updatable
    only by the client that created them, a redemption's status changed once (UNFULFILLED -> FULFILLED or
    CANCELED), and an ``.update`` notification for every change, as Twitch sends it."""

    def __init__(self, fake: FakeTwitch) -> None:
        self.fake = fake
        self.rewards: dict[str, FakeReward] = {}
        self.redemptions: dict[str, FakeRedemption] = {}
        #: Every request the channel-point routes answered: (method, path, status).
        self.calls: list[tuple[str, str, int]] = []
        #: Statuses the next requests to ``(method, path)`` answer with instead of doing their work.
        self.failures: dict[tuple[str, str], list[int]] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/helix/channel_points/custom_rewards", self._get_rewards)
        app.router.add_post("/helix/channel_points/custom_rewards", self._create_reward)
        app.router.add_patch("/helix/channel_points/custom_rewards", self._update_reward)
        app.router.add_get("/helix/channel_points/custom_rewards/redemptions", self._get_redemptions)
        app.router.add_patch("/helix/channel_points/custom_rewards/redemptions", self._update_redemption)

    # --- test controls ------------------------------------------------------------------------------
    def fail_next(self, method: str, path: str, *statuses: int) -> None:
        """The next ``len(statuses)`` requests to ``method path`` answer these statuses (e.g. 500, 500)."""
        self.failures.setdefault((method, path), []).extend(statuses)

    def calls_to(self, method: str, path: str) -> list[int]:
        return [status for m, p, status in self.calls if (m, p) == (method, path)]

    def made_by_hand(self, broadcaster: FakeUser, title: str, *, input_required: bool = True) -> FakeReward:
        """A reward the streamer made on Twitch's dashboard (no client may manage it through the API)."""
        reward = FakeReward(str(uuid.uuid4()), broadcaster, None, title, 100,
                            is_user_input_required=input_required)
        self.rewards[reward.id] = reward
        return reward

    async def redeem(self, viewer: FakeUser, reward: FakeReward, text: str, *, notify: bool = True,
                     in_chat: bool = False) -> str:
        """A viewer redeems ``reward``; ``notify=False``: nobody is subscribed (StreamVoice was stopped).
        ``in_chat``: the text also shows in chat, as Twitch shows a redemption with text."""
        redemption = FakeRedemption(str(uuid.uuid4()), reward, viewer, text,
                                    "FULFILLED" if reward.should_redemptions_skip_request_queue else "UNFULFILLED")
        self.redemptions[redemption.id] = redemption
        if notify:
            assert await self.fake._notify(REDEMPTION_ADD, reward.broadcaster, redemption.event()), \
                "nobody subscribed to redemptions"
        if in_chat:
            await self.redeem_in_chat(viewer, reward, text)
        return redemption.id

    async def resolve_on_twitch(self, redemption_id: str, status: str) -> None:
        """A moderator completes (FULFILLED) or refunds (CANCELED) it in Twitch's own reward queue."""
        redemption = self.redemptions[redemption_id]
        assert redemption.status == "UNFULFILLED"
        redemption.status = status
        await self.fake._notify(REDEMPTION_UPDATE, redemption.reward.broadcaster, redemption.event())

    async def redeem_in_chat(self, viewer: FakeUser, reward: FakeReward, text: str) -> str:
        """A redemption of a reward with text, as it shows in chat: a chat line carrying the reward's id."""
        event = chat_event(broadcaster=reward.broadcaster, chatter=viewer, text=text, users=self.fake.users.values())
        event["channel_points_custom_reward_id"] = reward.id
        assert await self.fake._notify(CHAT_SUBSCRIPTION, reward.broadcaster, event), "no chat subscription"
        return str(event["message_id"])

    def ours(self) -> list[FakeReward]:
        return [r for r in self.rewards.values() if r.owner_client_id == self.fake.client_id]

    # --- EventSub -----------------------------------------------------------------------------------
    def subscribe(self, caller: UserToken, body: dict[str, Any]) -> web.Response:
        condition = body.get("condition", {})
        if body.get("version") != "1" or set(condition) - {"broadcaster_user_id", "reward_id"}:
            return self.fake._error(400, "invalid condition")
        if "reward_id" in condition and condition["reward_id"] not in self.rewards:
            return self.fake._error(400, "invalid reward_id")
        if condition.get("broadcaster_user_id") != caller.user_id or READ_REDEMPTIONS.isdisjoint(caller.scopes):
            return self.fake._error(403, "subscription missing proper authorization")
        session_id = body.get("transport", {}).get("session_id")
        if session_id not in self.fake.sessions:
            return self.fake._error(400, "websocket transport session does not exist or has already disconnected")
        sub = Subscription(str(uuid.uuid4()), body["type"], body["version"], condition, session_id)
        self.fake.subscriptions[sub.id] = sub
        return web.json_response({"data": [sub.describe()], "total": len(self.fake.subscriptions), "total_cost": 1,
                                  "max_total_cost": 10}, status=202)

    # --- Helix --------------------------------------------------------------------------------------
    def _check(self, request: web.Request, *, manage: bool) -> tuple[UserToken, FakeUser] | web.Response:
        failures = self.failures.get((request.method, request.path))
        if failures:
            status = failures.pop(0)
            return self.fake._error(status, "fake failure")
        caller = self.fake._helix_caller(request)
        if isinstance(caller, web.Response):
            return caller
        if not isinstance(caller, UserToken):
            return self.fake._error(401, "a user access token is required")
        broadcaster = self.fake.users.get(request.query.get("broadcaster_id", ""))
        if broadcaster is None or broadcaster.id != caller.user_id:
            return self.fake._error(403, "broadcaster_id must match the user in the token")
        scopes = {"channel:manage:redemptions"} if manage else READ_REDEMPTIONS
        if scopes.isdisjoint(caller.scopes):
            return self.fake._error(401, "Missing scope: channel:manage:redemptions")
        return caller, broadcaster

    def _answer(self, request: web.Request, response: web.Response) -> web.Response:
        self.calls.append((request.method, request.path, response.status))
        return response

    def _managed(self, request: web.Request, reward_id: str) -> FakeReward | web.Response:
        reward = self.rewards.get(reward_id)
        if reward is None:
            return self.fake._error(404, "reward not found")
        if reward.owner_client_id != self.fake.client_id:
            return self.fake._error(403, "The ID in the Client-Id header must match the client ID used to "
                                         "create the custom reward")
        return reward

    async def _get_rewards(self, request: web.Request) -> web.Response:
        checked = self._check(request, manage=False)
        if isinstance(checked, web.Response):
            return self._answer(request, checked)
        _, broadcaster = checked
        only_ours = request.query.get("only_manageable_rewards", "false").lower() == "true"
        ids = set(request.query.getall("id", []))
        found = [r.helix() for r in self.rewards.values()
                 if r.broadcaster.id == broadcaster.id and (not only_ours or r.owner_client_id == self.fake.client_id)
                 and (not ids or r.id in ids)]
        return self._answer(request, web.json_response({"data": found}))

    async def _create_reward(self, request: web.Request) -> web.Response:
        checked = self._check(request, manage=True)
        if isinstance(checked, web.Response):
            return self._answer(request, checked)
        _, broadcaster = checked
        body = await request.json()
        if not body.get("title") or not isinstance(body.get("cost"), int) or body["cost"] < 1:
            return self._answer(request, self.fake._error(400, "title and cost are required"))
        if any(r.broadcaster.id == broadcaster.id and r.title.casefold() == str(body["title"]).casefold()
               for r in self.rewards.values()):
            return self._answer(request, self.fake._error(400, "CREATE_CUSTOM_REWARD_DUPLICATE_REWARD"))
        reward = FakeReward(str(uuid.uuid4()), broadcaster, self.fake.client_id, body["title"], body["cost"])
        self._apply(reward, body)
        self.rewards[reward.id] = reward
        return self._answer(request, web.json_response({"data": [reward.helix()]}))

    @staticmethod
    def _apply(reward: FakeReward, body: dict[str, Any]) -> None:
        for key in ("title", "cost", "prompt", "is_user_input_required", "should_redemptions_skip_request_queue",
                    "is_paused"):
            if key in body:
                setattr(reward, key, body[key])
        if "is_global_cooldown_enabled" in body or "global_cooldown_seconds" in body:
            reward.global_cooldown = (int(body.get("global_cooldown_seconds") or 0)
                                      if body.get("is_global_cooldown_enabled") else 0)
        if "is_max_per_user_per_stream_enabled" in body or "max_per_user_per_stream" in body:
            reward.max_per_user_per_stream = (int(body.get("max_per_user_per_stream") or 0)
                                              if body.get("is_max_per_user_per_stream_enabled") else 0)

    async def _update_reward(self, request: web.Request) -> web.Response:
        checked = self._check(request, manage=True)
        if isinstance(checked, web.Response):
            return self._answer(request, checked)
        reward = self._managed(request, request.query.get("id", ""))
        if isinstance(reward, web.Response):
            return self._answer(request, reward)
        self._apply(reward, await request.json())
        return self._answer(request, web.json_response({"data": [reward.helix()]}))

    async def _get_redemptions(self, request: web.Request) -> web.Response:
        checked = self._check(request, manage=False)
        if isinstance(checked, web.Response):
            return self._answer(request, checked)
        reward = self._managed(request, request.query.get("reward_id", ""))
        if isinstance(reward, web.Response):
            return self._answer(request, reward)
        status, ids = request.query.get("status"), set(request.query.getall("id", []))
        if not status and not ids:
            return self._answer(request, self.fake._error(400, "status is required unless id is given"))
        found = [r for r in self.redemptions.values() if r.reward.id == reward.id
                 and (not status or r.status == status) and (not ids or r.id in ids)]
        found.sort(key=lambda r: r.redeemed_at, reverse=request.query.get("sort", "OLDEST") == "NEWEST")
        first = int(request.query.get("first", "20"))
        start = int(request.query.get("after") or 0)
        page = found[start:start + first]
        cursor = str(start + first) if start + first < len(found) else None
        return self._answer(request, web.json_response({"data": [r.helix() for r in page],
                                                        "pagination": {"cursor": cursor} if cursor else {}}))

    async def _update_redemption(self, request: web.Request) -> web.Response:
        checked = self._check(request, manage=True)
        if isinstance(checked, web.Response):
            return self._answer(request, checked)
        reward = self._managed(request, request.query.get("reward_id", ""))
        if isinstance(reward, web.Response):
            return self._answer(request, reward)
        redemption = self.redemptions.get(request.query.get("id", ""))
        status = (await request.json()).get("status")
        if redemption is None or redemption.reward.id != reward.id or redemption.status != "UNFULFILLED":
            return self._answer(request, self.fake._error(404, "no unfulfilled redemption with that id"))
        if status not in {"FULFILLED", "CANCELED"}:
            return self._answer(request, self.fake._error(400, "status must be FULFILLED or CANCELED"))
        redemption.status = status
        await self.fake._notify(REDEMPTION_UPDATE, reward.broadcaster, redemption.event())
        return self._answer(request, web.json_response({"data": [redemption.helix()]}))
