"""Deleting a person's conversation and cases: on their request (widget, Telegram, an adviser in
the console) and when the retention periods run out (``mutuals retention``).

One interface for all of them, :class:`ConversationEraser`. It works on the databases directly:
Rasa's SQL tracker store keeps a conversation as rows of its ``events`` table keyed by
``sender_id`` and reads them again on every turn (there is no cache), so deleting the rows
deletes the conversation, even while the Rasa server runs. Inside the Rasa process,
:func:`erase_under_lock` first takes Rasa's lock on the conversation, so no turn in progress
writes its events back afterwards.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any, Iterable, List, Optional, Set

import sqlalchemy as sa

from bot.databases import engine_for
from bot.handoff import HandoffStore
from bot.handoff._outbox import outbox_of
from bot.handoff._store import Adviser, cases_table

DAY = 86400.0


@dataclasses.dataclass(frozen=True)
class Erased:
    """What one erasure deleted."""

    conversation_id: str
    events: int
    cases: int
    misses: int = 0  # questions kept for the gap page (bot/insights/)

    def as_json(self) -> dict:
        return {"erased": True, "events": self.events, "cases": self.cases}


@dataclasses.dataclass(frozen=True)
class RetentionReport:
    """What a retention run deleted (or, with ``dry_run``, would delete)."""

    conversations: int
    events: int
    cases: int
    dry_run: bool = False
    misses: int = 0  # questions kept for the gap page (bot/insights/) of the conversations deleted

    def summary(self, conversation_days: float, case_days: float) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        return (
            f"retention {verb}: {self.conversations} conversation(s) ({self.events} event(s)) idle for more "
            f"than {conversation_days:g} days or belonging to expired cases; {self.cases} case(s) closed "
            f"more than {case_days:g} days ago, with their notes"
            + (f"; {self.misses} missed question(s) of those conversations" if self.misses else "")
        )


class ConversationEraser:
    """``ConversationEraser(tracker_store_url, handoff_store)``; ``clock`` is for tests."""

    def __init__(self, tracker_store_url: str, handoff_store: HandoffStore, clock=time.time):
        self.tracker_store_url = tracker_store_url
        # Rasa's tracker store keeps the file open and writes it: a connection per use (bot/databases.py)
        self.engine = engine_for(tracker_store_url, keep_connections=False)
        self.store = handoff_store
        self.clock = clock
        from bot.insights._misses import MissStore

        self.misses = MissStore(engine=handoff_store.engine)  # the same database as the cases

    def dispose(self) -> None:
        self.engine.dispose()

    # ---- the tracker store -------------------------------------------------------------

    def _events(self) -> Optional[sa.Table]:
        """Rasa's ``events`` table, or ``None`` before Rasa has made it."""
        if not sa.inspect(self.engine).has_table("events"):
            return None
        return sa.Table(
            "events",
            sa.MetaData(),
            sa.Column("id", sa.Integer, primary_key=True),
            sa.Column("sender_id", sa.String(255)),
            sa.Column("timestamp", sa.Float),
        )

    def event_count(self, conversation_id: str) -> int:
        events = self._events()
        if events is None:
            return 0
        with self.engine.connect() as db:
            return db.execute(
                sa.select(sa.func.count()).select_from(events).where(events.c.sender_id == conversation_id)
            ).scalar_one()

    def conversations_idle_before(self, cutoff: float) -> List[str]:
        """Conversations whose latest event is older than ``cutoff`` (seconds since the epoch)."""
        events = self._events()
        if events is None:
            return []
        latest = sa.func.max(events.c.timestamp)
        with self.engine.connect() as db:
            return [
                r[0]
                for r in db.execute(
                    sa.select(events.c.sender_id)
                    .group_by(events.c.sender_id)
                    .having(sa.or_(latest < cutoff, latest.is_(None)))
                )
            ]

    def delete_events(self, conversation_ids: Iterable[str]) -> int:
        """Delete every event of these conversations; the number of events deleted."""
        ids = sorted(set(conversation_ids))
        events = self._events()
        if events is None or not ids:
            return 0
        deleted = 0
        with self.engine.begin() as db:
            for start in range(0, len(ids), 500):
                deleted += db.execute(events.delete().where(events.c.sender_id.in_(ids[start : start + 500]))).rowcount
        return deleted

    # ---- erasure on request ------------------------------------------------------------

    def erase(self, conversation_id: str, by: Optional[Adviser] = None) -> Erased:
        """Delete the conversation (all its events) and its cases with their notes and audit trail."""
        cases = self.store.delete_conversation(conversation_id, by=by)
        outbox_of(self.store).forget_conversation(conversation_id)  # reply emails' links stop working
        misses = self.misses.delete_conversations([conversation_id])
        events = self.delete_events([conversation_id])
        return Erased(conversation_id, events, cases, misses)

    # ---- retention -----------------------------------------------------------------------

    def _case_rows(self, where) -> List[Any]:
        with self.store.engine.connect() as db:
            return list(db.execute(sa.select(cases_table.c.id, cases_table.c.conversation_id).where(where)))

    def retention(self, conversation_days: float, case_days: float, dry_run: bool = False) -> RetentionReport:
        """Delete conversations idle for more than ``conversation_days`` and cases closed more than
        ``case_days`` ago (with their notes, and their conversations' events).

        A conversation with a case that is kept (open, or closed more recently) is kept with it:
        its transcript is part of the case."""
        now = self.clock()
        conversation_cutoff, case_cutoff = now - conversation_days * DAY, now - case_days * DAY
        c = cases_table.c
        expired = self._case_rows(sa.and_(c.status == "closed", c.closed_at < case_cutoff))
        kept: Set[str] = {
            r.conversation_id for r in self._case_rows(sa.or_(c.status != "closed", c.closed_at >= case_cutoff))
        }
        doomed = (
            set(self.conversations_idle_before(conversation_cutoff)) | {r.conversation_id for r in expired}
        ) - kept
        # a miss follows its conversation; one whose conversation is already gone, its own age
        missed = (doomed | set(self.misses.conversations_before(conversation_cutoff))) - kept
        if dry_run:
            events = sum(self.event_count(cid) for cid in doomed)
            stored = [cid for cid in doomed if self.event_count(cid)]
            return RetentionReport(len(stored), events, len(expired), dry_run=True)
        stored = [cid for cid in doomed if self.event_count(cid)]
        cases = self.store.delete_closed_before(case_cutoff)
        outbox_of(self.store).forget_cases([r.id for r in expired])  # their reply emails and links
        misses = self.misses.delete_conversations(missed)
        events = self.delete_events(doomed)
        return RetentionReport(len(stored), events, cases, misses=misses)


async def erase_under_lock(
    agent: Any, eraser: ConversationEraser, conversation_id: str, by: Optional[Adviser] = None
) -> Erased:
    """Erase inside the Rasa server: wait for the conversation's turn in progress (Rasa's lock),
    then delete, off the event loop."""
    lock_store = getattr(agent, "lock_store", None)
    if lock_store is None:
        return await asyncio.to_thread(eraser.erase, conversation_id, by)
    async with lock_store.lock(conversation_id):
        return await asyncio.to_thread(eraser.erase, conversation_id, by)


def eraser_for(settings) -> ConversationEraser:
    """The eraser of these settings' tracker store and handoff store."""
    return ConversationEraser(settings.tracker_store, HandoffStore(settings.handoff_store))
