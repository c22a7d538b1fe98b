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
    #: The Kokoro language code the line is spoken in (``core.language``); None on rows from before languages.
    lang: Mapped[str | None] = mapped_column(String(8), default=None)

    __table_args__ = (
        Index("ix_messages_live", "queue", "is_deleted", "status", "id"),
        Index("ix_messages_external_id", "external_id"),
        Index("ix_messages_replay_of", "replay_of"),
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


class ViewerLanguageRow(Base):
    """A viewer's own language, chosen with ``!lang <code>`` in chat (one row per login; ``!lang`` deletes it)."""

    __tablename__ = "viewer_languages"

    login: Mapped[str] = mapped_column(String(64), primary_key=True)
    #: A Kokoro language code (``a``, ``e``...).
    lang: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(DateTime)
