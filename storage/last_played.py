"""The item that finished playing last (``GET /api/control/replay_last`` queues it again)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.chat import Status
from storage.messages import MessageStore
from storage.models import MessageRow


def last_played_id(store: MessageStore) -> int | None:
    """The id of the played item with the latest ``played_at`` (None when nothing was played yet)."""
    query = (select(MessageRow.id).where(MessageRow.status == Status.PLAYED.value)
             .order_by(MessageRow.played_at.desc(), MessageRow.id.desc()).limit(1))
    with Session(store.engine) as session:
        return session.scalars(query).first()
