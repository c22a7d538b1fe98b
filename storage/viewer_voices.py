"""The viewers' ``!voice`` choices: a tiny table, read whole at startup and written on each change."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from storage.messages import utcnow
from storage.models import ViewerVoiceRow


class ViewerVoiceStore:
    """Synchronous like ``MessageStore``; the service runs it on the same database thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self) -> dict[str, str]:
        """Every stored choice, ``{login: voice name}``."""
        with Session(self.engine) as session:
            return {row.login: row.voice for row in session.scalars(select(ViewerVoiceRow))}

    def set(self, login: str, voice: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.merge(ViewerVoiceRow(login=login, voice=voice, updated_at=utcnow()))

    def reset(self, login: str) -> bool:
        """Forget ``login``'s choice; True when there was one."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(delete(ViewerVoiceRow).where(ViewerVoiceRow.login == login))
            return bool(getattr(result, "rowcount", 0))
