"""Rasa's SQL tracker store, configured by one SQLAlchemy URL (``tracker_store.url`` in endpoints.yml)."""
from __future__ import annotations

from typing import Any, Optional

import os

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import make_url

from bot.databases import require


class UrlSQLTrackerStore(SQLTrackerStore):
    """``sqlite:///var/trackers.db`` or ``postgresql://user:pw@host:5432/rasa``, and so on."""

    def __init__(self, host: Optional[str] = None, domain: Any = None, event_broker: Any = None,
                 url: Optional[str] = None, **kwargs: Any) -> None:
        url = url or host or "sqlite:///rasa.db"
        target = make_url(url)
        # Rasa would start anyway and fail on every turn; refuse to start, saying which database
        require(url, "conversation (tracker store)", wait_seconds=float(os.environ.get("MUTUALS_DB_WAIT_SECONDS", "10")))
        if target.drivername.startswith("sqlite") and target.database:
            from pathlib import Path

            Path(target.database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            domain=domain, dialect=target.drivername, host=target.host, port=target.port,
            db=target.database or "", username=target.username, password=target.password,
            event_broker=event_broker, query=dict(target.query) or None, **kwargs,
        )
        if target.drivername.startswith("sqlite"):
            _fast_sqlite(self.engine)


def _fast_sqlite(engine) -> None:
    """WAL with synchronous=NORMAL: a commit no longer waits for fsync (profiled at ~13% of a
    turn), and a crash can lose at most the last turns, never corrupt the file."""
    from sqlalchemy import event

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    engine.dispose()  # connections made from now on get the pragmas
