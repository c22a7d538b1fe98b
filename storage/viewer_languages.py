"""The viewers' ``!lang`` choices: a tiny table, read whole at startup and written on each change."""

from __future__ import annotations

from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from storage.messages import utcnow
from storage.models import ViewerLanguageRow


class ViewerLanguageStore:
    """Synchronous like ``MessageStore``; the service runs it on the same database thread."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def all(self) -> dict[str, str]:
        """Every stored choice, ``{login: language code}``."""
        with Session(self.engine) as session:
            return {row.login: row.lang for row in session.scalars(select(ViewerLanguageRow))}

    def set(self, login: str, lang: str) -> None:
        with Session(self.engine) as session, session.begin():
            session.merge(ViewerLanguageRow(login=login, lang=lang, updated_at=utcnow()))

    def reset(self, login: str) -> bool:
        """Forget ``login``'s choice; True when there was one."""
        with Session(self.engine) as session, session.begin():
            result = session.execute(delete(ViewerLanguageRow).where(ViewerLanguageRow.login == login))
            return bool(getattr(result, "rowcount", 0))
