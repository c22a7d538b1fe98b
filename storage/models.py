"""SQLAlchemy 2.0 typed models."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class MessageRow(Base):
    """One accepted chat line and everything that happened to it. Audio lives on disk at ``audio_path``."""

    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    queue: Mapped[str] = mapped_column(String(16))
    source: Mapped[str] = mapped_column(String(16))
    sent_by: Mapped[str] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    #: What is actually spoken (normalised, filtered); None until decided.
    spoken_text: Mapped[str | None] = mapped_column(Text, default=None)
    bits_amount: Mapped[int | None] = mapped_column(Integer, default=None)
    external_id: Mapped[str | None] = mapped_column(String(64), default=None)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    #: Why a message was skipped or failed (human readable).
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    timestamp_deleted: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    deleted_reason: Mapped[str | None] = mapped_column(String(16), default=None)
    received_at: Mapped[datetime] = mapped_column(DateTime)
    synthesized_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    played_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    audio_path: Mapped[str | None] = mapped_column(String(255), default=None)
    audio_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    duration_s: Mapped[float | None] = mapped_column(Float, default=None)
    voice: Mapped[str | None] = mapped_column(String(128), default=None)
    #: Word timings for captions, JSON (core/captions.py, docs/captions.md); None until synthesised.
    word_timings: Mapped[str | None] = mapped_column(Text, default=None)
    #: A cheer held until a moderator approves it (``bits_need_approval``); never played while true.
    awaiting_approval: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    #: A dashboard replay: the id of the item this row repeats. Waiting replays play before the rest.
    replay_of: Mapped[int | None] = mapped_column(Integer, default=None)
    #: What kind of request this is (``core.chat.Origin``); NULL on rows stored before it existed.
    origin: Mapped[str | None] = mapped_column(String(16), default=None)
    # --- channel points (storage/redemptions.py) ---
    #: The Twitch redemption this item was paid with (channel points); NULL for every other item.
    redemption_id: Mapped[str | None] = mapped_column(String(64), default=None)
    #: unfulfilled, fulfilled, canceled, ``pending: <status>`` until Twitch acknowledged it, ``failed: <status>``.
    redemption_status: Mapped[str | None] = mapped_column(String(32), default=None)
    #: Why Twitch refused the status change (HTTP 4xx), when it did.
    redemption_error: Mapped[str | None] = mapped_column(Text, default=None)
    # --- matching a chatter (purge, Twitch timeouts and bans) -----------------------------------------------
    #: ``core.logins.login_key(sent_by)``: what a purge matches, in SQL, exactly as Python matches it. Older rows
    #: get it from ``storage.migrate`` (NULL is never left behind).
    login_key: Mapped[str | None] = mapped_column(String(64), default=None)
    #: The Kokoro language code the line is spoken in (``core.language``); None on rows from before languages.
    lang: Mapped[str | None] = mapped_column(String(8), default=None)

    __table_args__ = (
        Index("ix_messages_live", "queue", "is_deleted", "status", "id"),
        Index("ix_messages_external_id", "external_id"),
        Index("ix_messages_replay_of", "replay_of"),
        Index("ix_messages_redemption", "redemption_status", "redemption_id"),
        Index("ix_messages_login_key", "login_key", "is_deleted", "status"),
    )


class ServerStateRow(Base):
    """Single-row table (id = 1): what must survive a restart besides the messages."""

    __tablename__ = "server_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    active_queue: Mapped[str] = mapped_column(String(16), default="mentions")
    autoplay: Mapped[bool] = mapped_column(Boolean, default=False)


class ViewerVoiceRow(Base):
    """A viewer's own voice, chosen with ``!voice <name>`` in chat (one row per login; reset deletes it)."""

    __tablename__ = "viewer_voices"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: A friendly name from the ``voices`` setting.
    voice: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(DateTime)


# --- channel points (storage/redemptions.py) ----------------------------------------------------------------
class RewardRow(Base):
    """The channel-point reward StreamVoice created, per broadcaster, and what it was last set to on Twitch."""

    __tablename__ = "channel_point_rewards"

    broadcaster_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    reward_id: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(64))
    cost: Mapped[int] = mapped_column(Integer)
    prompt: Mapped[str] = mapped_column(Text)
    global_cooldown: Mapped[int] = mapped_column(Integer, default=0)
    max_per_user_per_stream: Mapped[int] = mapped_column(Integer, default=0)
    is_paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(DateTime)


class RedemptionRow(Base):
    """One redemption of our reward: seen once (never queued twice), and the outbox of its status change.

    ``state``: ``open`` (nothing decided yet), ``pending`` (``status`` to send, with retries), ``sent``,
    ``dropped`` (Twitch refused it: ``error``) or ``twitch`` (a moderator decided it in Twitch's own queue).
    """

    __tablename__ = "redemptions"

    redemption_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    broadcaster_id: Mapped[str] = mapped_column(String(32))
    reward_id: Mapped[str] = mapped_column(String(64))
    message_id: Mapped[int | None] = mapped_column(Integer, default=None)
    state: Mapped[str] = mapped_column(String(16), default="open")
    status: Mapped[str] = mapped_column(String(16), default="unfulfilled")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime, default=None)

    __table_args__ = (Index("ix_redemptions_state", "state", "next_attempt_at"),)
class ViewerLanguageRow(Base):
    """A viewer's own language, chosen with ``!lang <code>`` in chat (one row per login; ``!lang`` deletes it)."""

    __tablename__ = "viewer_languages"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: A Kokoro language code (``a``, ``e``...).
    lang: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(DateTime)
