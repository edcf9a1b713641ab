"""Rasa's SQL tracker store, configured by one SQLAlchemy URL (``tracker_store.url`` in endpoints.yml)."""

from __future__ import annotations

from typing import Any, Optional

from rasa.core.tracker_store import SQLTrackerStore
from sqlalchemy.engine import make_url

from bot.databases import require
from bot.rasa_patches import check_versions
from bot.rasa_patches.sql_tracker_queries import CoreQueries
from bot.settings import Settings


class UrlSQLTrackerStore(CoreQueries, SQLTrackerStore):
    """``sqlite:///var/trackers.db`` or ``postgresql://user:pw@host:5432/rasa``, and so on; reads and
    writes with Rasa's queries made once (``bot.rasa_patches.sql_tracker_queries``)."""

    def __init__(
        self,
        host: Optional[str] = None,
        domain: Any = None,
        event_broker: Any = None,
        url: Optional[str] = None,
        **kwargs: Any,
    ) -> None:
        check_versions()  # CoreQueries copies Rasa 3.6.21's query
        url = url or host or "sqlite:///rasa.db"
        target = make_url(url)
        # Rasa would start anyway and fail on every turn; refuse to start, saying which database
        require(url, "conversation (tracker store)", wait_seconds=Settings.from_env().db_wait_seconds)
        if target.drivername.startswith("sqlite") and target.database:
            from pathlib import Path

            Path(target.database).parent.mkdir(parents=True, exist_ok=True)
        super().__init__(
            domain=domain,
            dialect=target.drivername,
            host=target.host,
            port=target.port,
            db=target.database or "",
            username=target.username,
            password=target.password,
            event_broker=event_broker,
            query=dict(target.query) or None,
            **kwargs,
        )
        if target.drivername.startswith("sqlite") and target.database not in (None, "", ":memory:"):
            _fast_sqlite(self)


def _fast_sqlite(store: SQLTrackerStore) -> None:
    """WAL with synchronous=NORMAL: a commit no longer waits for fsync (profiled at ~13% of a
    turn), and a crash can lose at most the last turns, never corrupt the file.

    And connections are kept open between turns. SQLAlchemy 1.4 gives a SQLite file a ``NullPool``:
    every session (two a turn) opened the file, set the pragmas, and on closing, as the last
    connection to a WAL database, checkpointed the log and deleted it: ~20% of the Rasa server's
    time under load. A ``QueuePool`` keeps them; each session still ends its transaction when it
    closes, so every read sees what other processes (retention, erasure) committed."""
    from sqlalchemy import create_engine, event
    from sqlalchemy.orm import sessionmaker
    from sqlalchemy.pool import QueuePool

    old = store.engine
    # not bot.databases.engine_for, on purpose: this engine serves Rasa's own ORM sessions (a legacy,
    # not future, engine), keeps two connections (a turn uses one at a time), syncs less
    # (synchronous=NORMAL) and keeps Rasa's busy timeout; the settings in common are the same.
    # check_same_thread: a pooled connection may be checked out by another thread than made it
    # (never by two at once); max_overflow=-1: never wait for a connection, as NullPool did not
    engine = create_engine(
        old.url, poolclass=QueuePool, pool_size=2, max_overflow=-1, connect_args={"check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    store.engine = engine
    store.sessionmaker = sessionmaker(bind=engine)
    old.dispose()
