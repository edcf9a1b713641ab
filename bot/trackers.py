"""Rasa's SQL tracker store, configured by one SQLAlchemy URL (``tracker_store.url`` in endpoints.yml)."""
from __future__ import annotations

from typing import Any, Optional

import itertools
import json
import logging
import os

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore
from rasa.shared.nlu.constants import INTENT_NAME_KEY
from rasa.shared.core.events import SessionStarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy.engine import make_url

from bot.databases import require

logger = logging.getLogger("rasa.core.tracker_store")


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
        if target.drivername.startswith("sqlite") and target.database not in (None, "", ":memory:"):
            _fast_sqlite(self)

    # Rasa's own queries, each read once per turn, written with SQLAlchemy Core statements made
    # once instead of ORM queries and objects built afresh every time (the ORM's compiling and
    # bookkeeping was ~2/3 of the tracker store's time). The same SQL, rows and order as Rasa's:
    # the events since the conversation's latest session start, by id.

    def _since_session_start(self, *columns):
        table = self.SQLEvent.__table__
        sender = sa.bindparam("sender_id")
        start = (sa.select(sa.func.max(table.c.timestamp).label("session_start"))
                 .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
                 .subquery())
        return (sa.select(*columns)
                .where(table.c.sender_id == sender,
                       sa.or_(table.c.timestamp >= start.c.session_start, start.c.session_start.is_(None))))

    @property
    def _statements(self):
        statements = self.__dict__.get("_mutuals_statements")
        if statements is None:
            table = self.SQLEvent.__table__
            statements = self.__dict__["_mutuals_statements"] = {
                "current": self._since_session_start(table.c.data).order_by(table.c.id),
                "count": sa.select(sa.func.count()).select_from(self._since_session_start(table.c.id).subquery()),
                "insert": table.insert(),
            }
        return statements

    async def _retrieve(self, sender_id, fetch_events_from_all_sessions):
        if fetch_events_from_all_sessions:  # rare (the API's full tracker): Rasa's own way
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            rows = session.execute(self._statements["current"], {"sender_id": sender_id}).all()
            events = [json.loads(data) for (data,) in rows]
        if self.domain and len(events) > 0:
            logger.debug(f"Recreating tracker from sender id '{sender_id}'")
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        logger.debug(f"Can't retrieve tracker matching sender id '{sender_id}' from SQL storage. "
                     f"Returning `None` instead.")
        return None

    async def save(self, tracker: DialogueStateTracker) -> None:
        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = session.execute(self._statements["count"], {"sender_id": tracker.sender_id}).scalar()
            rows = []
            for event in itertools.islice(tracker.events, stored, len(tracker.events)):
                data = event.as_dict()
                rows.append({"sender_id": tracker.sender_id, "type_name": event.type_name,
                             "timestamp": data.get("timestamp"),
                             "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                             "action_name": data.get("name"), "data": json.dumps(data)})
            for row in rows:  # one INSERT each, in order, as the ORM did: ids follow the events' order
                session.execute(self._statements["insert"], row)
            session.commit()
        logger.debug(f"Tracker with sender_id '{tracker.sender_id}' stored to database")


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
    # check_same_thread: a pooled connection may be checked out by another thread than made it
    # (never by two at once); max_overflow=-1: never wait for a connection, as NullPool did not
    engine = create_engine(old.url, poolclass=QueuePool, pool_size=2, max_overflow=-1,
                           connect_args={"check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _pragmas(connection, _):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    store.engine = engine
    store.sessionmaker = sessionmaker(bind=engine)
    old.dispose()
