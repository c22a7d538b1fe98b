"""Helix calls for the channel-point TTS reward, made with the broadcaster's token through twitchio's HTTP client
(which refreshes that token when it expires).

* ``GET/POST/PATCH /helix/channel_points/custom_rewards``: find our reward (``only_manageable_rewards=true``),
  create it, update it (title, cost, prompt, limits, ``is_paused``);
* ``GET /helix/channel_points/custom_rewards/redemptions?status=UNFULFILLED&sort=OLDEST``: what viewers
  redeemed while StreamVoice was stopped;
* ``PATCH /helix/channel_points/custom_rewards/redemptions``: FULFILLED or CANCELED (the refund).

A 4xx answer raises ``HelixRefused`` (retrying cannot help); anything else that fails (unreachable, 5xx)
raises as it is and the caller retries.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from twitchio.exceptions import HTTPException
from twitchio.http import Route

from bot.twitch_bot import StreamVoiceBot
from core.channel_points import Redemption
from core.refunds import RedemptionStatus, twitch_status
from core.settings import ChannelPointsSettings
from service.redemptions import MANAGE_SCOPE, HelixRefused
from storage.redemptions import OutboxEntry, RewardRecord

log = logging.getLogger(__name__)

REWARDS = "channel_points/custom_rewards"
REDEMPTIONS = "channel_points/custom_rewards/redemptions"


def reward_body(points: ChannelPointsSettings) -> dict[str, Any]:
    """The reward as the settings describe it. Input required and never skipping Twitch's request queue:
    a redemption that skipped the queue is FULFILLED at once and could never be refunded."""
    return {
        "title": points.title, "cost": points.cost, "prompt": points.prompt,
        "is_user_input_required": True, "should_redemptions_skip_request_queue": False,
        "is_global_cooldown_enabled": points.global_cooldown > 0,
        "global_cooldown_seconds": max(points.global_cooldown, 1) if points.global_cooldown else 0,
        "is_max_per_user_per_stream_enabled": points.max_per_user_per_stream > 0,
        "max_per_user_per_stream": points.max_per_user_per_stream,
    }


def record_of(broadcaster_id: str, data: dict[str, Any]) -> RewardRecord:
    """Our record of a reward as Helix describes it."""
    cooldown = data.get("global_cooldown_setting") or {}
    per_user = data.get("max_per_user_per_stream_setting") or {}
    return RewardRecord(
        broadcaster_id=broadcaster_id, reward_id=str(data["id"]), title=str(data.get("title") or ""),
        cost=int(data.get("cost") or 0), prompt=str(data.get("prompt") or ""),
        global_cooldown=int(cooldown.get("global_cooldown_seconds") or 0) if cooldown.get("is_enabled") else 0,
        max_per_user_per_stream=(int(per_user.get("max_per_user_per_stream") or 0)
                                 if per_user.get("is_enabled") else 0),
        is_paused=bool(data.get("is_paused")))


def _reason(exc: HTTPException) -> str:
    extra: Any = exc.extra
    if isinstance(extra, dict) and extra.get("message"):
        return str(extra["message"])
    return f"HTTP {exc.status}"


class HelixRewards:
    """The ``RewardClient`` the service sends status changes through, plus the calls made at start."""

    def __init__(self, bot: StreamVoiceBot, broadcaster_id: str) -> None:
        self.bot = bot
        self.broadcaster_id = broadcaster_id

    async def _call(self, method: str, path: str, params: dict[str, Any], body: dict[str, Any] | None = None) -> Any:
        route = Route(method, path, params=params, json=body or {}, token_for=self.broadcaster_id)  # type: ignore[arg-type]
        try:
            return await self.bot.http.request_json(route)
        except HTTPException as exc:
            if 400 <= exc.status < 500:
                raise HelixRefused(exc.status, _reason(exc)) from None
            raise

    # --- the token ----------------------------------------------------------------------------------
    async def can_manage(self) -> bool:
        """Does the broadcaster's stored token carry ``channel:manage:redemptions``?"""
        entry = self.bot.tokens.get(self.broadcaster_id)
        if entry is None:
            return False
        try:
            who = await self.bot.http.validate_token(entry["token"])
        except HTTPException as exc:
            if 400 <= exc.status < 500:
                return False
            raise
        return MANAGE_SCOPE in who.scopes

    # --- the reward ---------------------------------------------------------------------------------
    async def manageable_rewards(self) -> list[dict[str, Any]]:
        data = await self._call("GET", REWARDS, {"broadcaster_id": self.broadcaster_id,
                                                 "only_manageable_rewards": "true"})
        return list(data.get("data") or [])

    async def create_reward(self, points: ChannelPointsSettings) -> RewardRecord:
        data = await self._call("POST", REWARDS, {"broadcaster_id": self.broadcaster_id}, reward_body(points))
        return record_of(self.broadcaster_id, data["data"][0])

    async def update_reward(self, record: RewardRecord, *, fields: ChannelPointsSettings | None = None,
                            paused: bool | None = None) -> None:
        body: dict[str, Any] = reward_body(fields) if fields is not None else {}
        if paused is not None:
            body["is_paused"] = paused
        await self._call("PATCH", REWARDS, {"broadcaster_id": self.broadcaster_id, "id": record.reward_id}, body)

    # --- redemptions --------------------------------------------------------------------------------
    async def unfulfilled(self, reward_id: str) -> AsyncIterator[Redemption]:
        """Every UNFULFILLED redemption of ``reward_id``, oldest first, page by page."""
        cursor: str | None = None
        while True:
            params = {"broadcaster_id": self.broadcaster_id, "reward_id": reward_id, "status": "UNFULFILLED",
                      "sort": "OLDEST", "first": "50", "after": cursor}
            data = await self._call("GET", REDEMPTIONS, params)
            for entry in data.get("data") or []:
                yield Redemption(
                    id=str(entry["id"]), broadcaster_id=self.broadcaster_id,
                    reward_id=str((entry.get("reward") or {}).get("id") or reward_id),
                    user_login=str(entry.get("user_login") or ""), user_name=str(entry.get("user_name") or ""),
                    user_input=str(entry.get("user_input") or ""),
                    redeemed_at=_timestamp(entry.get("redeemed_at")))
            cursor = (data.get("pagination") or {}).get("cursor")
            if not cursor:
                return

    async def redemption_status(self, entry: OutboxEntry) -> RedemptionStatus | None:
        """The redemption's status on Twitch now (``None``: Twitch does not know it)."""
        data = await self._call("GET", REDEMPTIONS, {"broadcaster_id": entry.broadcaster_id,
                                                     "reward_id": entry.reward_id, "id": entry.redemption_id})
        found = [d for d in data.get("data") or [] if str(d.get("id")) == entry.redemption_id]
        return twitch_status(str(found[0].get("status") or "")) if found else None

    async def set_redemption_status(self, entry: OutboxEntry) -> None:
        await self._call("PATCH", REDEMPTIONS, {"broadcaster_id": entry.broadcaster_id, "reward_id": entry.reward_id,
                                                "id": entry.redemption_id}, {"status": entry.status.helix})


def _timestamp(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
