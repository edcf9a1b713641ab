"""Patch: ``rasa.core.tracker_store.SQLTrackerStore._retrieve`` (private) and ``.save``,
overridden in a subclass (``bot.trackers.UrlSQLTrackerStore`` inherits :class:`CoreQueries`).

Why: Rasa reads and writes a conversation's events with ORM queries and objects built afresh
every time; the ORM's compiling and bookkeeping was about two thirds of the tracker store's time.
These are Rasa's own queries written once as SQLAlchemy Core statements: the same SQL, rows and
order (the events since the conversation's latest session start, by id). It copies Rasa's query
rather than wrapping it, so Rasa's ``_retrieve``, ``save`` and ``_event_query`` are fingerprinted.
The rare read of every session (the API's full tracker) is still Rasa's own.
"""

from __future__ import annotations

import itertools
import json
import logging

import sqlalchemy as sa

NAME = "sql_tracker_queries"
HOW = "overrides in a subclass (copies Rasa's query)"
ATTRIBUTES: list = []  # nothing of Rasa's is changed: bot.trackers.UrlSQLTrackerStore subclasses
TARGETS = [
    "rasa.core.tracker_store:SQLTrackerStore._retrieve",
    "rasa.core.tracker_store:SQLTrackerStore.save",
    "rasa.core.tracker_store:SQLTrackerStore._event_query",
    "rasa.core.tracker_store:SQLTrackerStore.SQLEvent",
]
logger = logging.getLogger("rasa.core.tracker_store")


class CoreQueries:
    """Mixin for a subclass of Rasa's ``SQLTrackerStore`` (put it first among the bases)."""

    def _since_session_start(self, *columns):
        from rasa.shared.core.events import SessionStarted

        table = self.SQLEvent.__table__
        sender = sa.bindparam("sender_id")
        start = (
            sa.select(sa.func.max(table.c.timestamp).label("session_start"))
            .where(table.c.sender_id == sender, table.c.type_name == SessionStarted.type_name)
            .subquery()
        )
        return sa.select(*columns).where(
            table.c.sender_id == sender,
            sa.or_(table.c.timestamp >= start.c.session_start, start.c.session_start.is_(None)),
        )

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
        from rasa.shared.core.trackers import DialogueStateTracker

        if fetch_events_from_all_sessions:  # rare (the API's full tracker): Rasa's own way
            return await super()._retrieve(sender_id, fetch_events_from_all_sessions)
        with self.session_scope() as session:
            rows = session.execute(self._statements["current"], {"sender_id": sender_id}).all()
            events = [json.loads(data) for (data,) in rows]
        if self.domain and len(events) > 0:
            logger.debug(f"Recreating tracker from sender id '{sender_id}'")
            return DialogueStateTracker.from_dict(sender_id, events, self.domain.slots)
        logger.debug(
            f"Can't retrieve tracker matching sender id '{sender_id}' from SQL storage. Returning `None` instead."
        )
        return None

    async def save(self, tracker) -> None:
        from rasa.shared.nlu.constants import INTENT_NAME_KEY

        await self.stream_events(tracker)
        with self.session_scope() as session:
            stored = session.execute(self._statements["count"], {"sender_id": tracker.sender_id}).scalar()
            rows = []
            for event in itertools.islice(tracker.events, stored, len(tracker.events)):
                data = event.as_dict()
                rows.append(
                    {
                        "sender_id": tracker.sender_id,
                        "type_name": event.type_name,
                        "timestamp": data.get("timestamp"),
                        "intent_name": data.get("parse_data", {}).get("intent", {}).get(INTENT_NAME_KEY),
                        "action_name": data.get("name"),
                        "data": json.dumps(data),
                    }
                )
            for row in rows:  # one INSERT each, in order, as the ORM did: ids follow the events' order
                session.execute(self._statements["insert"], row)
            session.commit()
        logger.debug(f"Tracker with sender_id '{tracker.sender_id}' stored to database")
