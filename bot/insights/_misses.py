"""Every question the assistant missed, kept in the handoff store's database (``misses``), and the
groups of meaning they are sorted into (``gap_groups``, bot/insights/_gaps.py).

A miss is one of ``KINDS``: a question declined (``declined``), answered with a score only just
over the threshold (``low_confidence``), asked again in other words straight after an answer
(``rephrased``: the earlier question is recorded), rated "Did this help? No" (``unhelpful``), or
handed to an adviser (``handoff``). It keeps the answer given, its source and score, the channel
and the time; once the case closes, what the adviser replied and how the case ended. Questions and
replies are masked as the logs are (bot/privacy ``redact``): no email address, phone number,
postcode, NI, card or bank number is kept. Misses follow their conversation: erased with it, and
deleted by ``mutuals retention`` with it (bot/privacy/_erasure.py).
"""

from __future__ import annotations

import dataclasses
import time
from typing import Iterable, List, Optional, Sequence

import numpy as np
import sqlalchemy as sa

from bot.databases import engine_for

KINDS = ("declined", "low_confidence", "rephrased", "unhelpful", "handoff")
GROUP_STATUSES = ("open", "phrasing_added", "draft_started", "dismissed")

metadata = sa.MetaData()

misses_table = sa.Table(
    "misses",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(128), nullable=False, index=True),
    sa.Column("channel", sa.String(40), nullable=False, default=""),
    sa.Column("kind", sa.String(20), nullable=False),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("answer", sa.Text, nullable=False, default=""),  # what the assistant said
    sa.Column("source", sa.String(300), nullable=False, default=""),  # slug#anchor it answered from (or its best)
    sa.Column("score", sa.Float),
    sa.Column("threshold", sa.Float),
    sa.Column("reason", sa.String(40), nullable=False, default=""),
    sa.Column("at", sa.Float, nullable=False, index=True),
    sa.Column("case_id", sa.Integer, index=True),
    sa.Column("adviser_reply", sa.Text, nullable=False, default=""),
    sa.Column("outcome", sa.String(20)),
    sa.Column("closed_at", sa.Float),
    # filled in by the grouping (bot/insights/_gaps.py): the question's embedding, its nearest section
    sa.Column("vector", sa.LargeBinary),
    sa.Column("nearest", sa.String(300), nullable=False, default=""),
    sa.Column("nearest_score", sa.Float),
    sa.Column("group_id", sa.Integer, index=True),
)
groups_table = sa.Table(
    "gap_groups",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("centroid", sa.LargeBinary),
    sa.Column("status", sa.String(20), nullable=False, default="open"),
    sa.Column("decision", sa.Text, nullable=False, default=""),  # what was done, or why it was dismissed
    sa.Column("decided_by", sa.Integer),
    sa.Column("decided_at", sa.Float),
    sa.Column("created_at", sa.Float, nullable=False),
)

LONGEST_TEXT = 2000


@dataclasses.dataclass(frozen=True)
class Miss:
    id: int
    conversation_id: str
    channel: str
    kind: str
    question: str
    answer: str
    source: str
    score: Optional[float]
    threshold: Optional[float]
    reason: str
    at: float
    case_id: Optional[int]
    adviser_reply: str
    outcome: Optional[str]
    closed_at: Optional[float]
    nearest: str
    nearest_score: Optional[float]
    group_id: Optional[int]
    vector: Optional[np.ndarray] = None


def _mask(text: str) -> str:
    from bot.privacy import redact

    return redact(" ".join(str(text or "").split())[:LONGEST_TEXT])


def to_blob(vector: np.ndarray) -> bytes:
    return np.asarray(vector, dtype=np.float32).tobytes()


def from_blob(blob: Optional[bytes]) -> Optional[np.ndarray]:
    return None if blob is None else np.frombuffer(blob, dtype=np.float32)


class MissStore:
    """``MissStore(url)`` (any SQLAlchemy URL, normally the handoff store's), or ``MissStore(engine=...)``
    to share a :class:`~bot.handoff.HandoffStore`'s engine."""

    def __init__(self, url: str = "", engine: Optional[sa.engine.Engine] = None, clock=time.time):
        self.engine = engine if engine is not None else engine_for(url)
        self._owns_engine = engine is None
        self.clock = clock
        metadata.create_all(self.engine)

    def dispose(self) -> None:
        if self._owns_engine:
            self.engine.dispose()

    # ---- recording ------------------------------------------------------------------------

    def record(
        self,
        conversation_id: str,
        kind: str,
        question: str,
        channel: str = "",
        answer: str = "",
        source: str = "",
        score: Optional[float] = None,
        threshold: Optional[float] = None,
        reason: str = "",
        case_id: Optional[int] = None,
        at: Optional[float] = None,
    ) -> Optional[int]:
        """Keep one miss (masked); ``None`` when there is no question to keep."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        question = _mask(question)
        if not question or question.startswith("/"):
            return None
        with self.engine.begin() as db:
            return db.execute(
                misses_table.insert().values(
                    conversation_id=str(conversation_id)[:128],
                    channel=str(channel or "")[:40],
                    kind=kind,
                    question=question,
                    answer=_mask(answer),
                    source=str(source or "")[:300],
                    score=None if score is None else float(score),
                    threshold=None if threshold is None else float(threshold),
                    reason=str(reason or "")[:40],
                    at=self.clock() if at is None else at,
                    case_id=case_id,
                    adviser_reply="",
                    nearest="",
                )
            ).inserted_primary_key[0]

    def attach_case(self, conversation_id: str, case_id: int, within_seconds: float = 3600.0) -> int:
        """The conversation was handed to an adviser: its recent misses not yet on a case belong to it."""
        c = misses_table.c
        with self.engine.begin() as db:
            return db.execute(
                misses_table.update()
                .where(c.conversation_id == conversation_id, c.case_id.is_(None), c.at >= self.clock() - within_seconds)
                .values(case_id=case_id)
            ).rowcount

    def add_reply(self, case_id: int, text: str) -> None:
        """An adviser replied on the case: kept (masked) with each of its misses."""
        text = _mask(text)
        if not text:
            return
        c = misses_table.c
        with self.engine.begin() as db:
            for row in db.execute(sa.select(c.id, c.adviser_reply).where(c.case_id == case_id)).all():
                joined = (row.adviser_reply + "\n\n" + text).strip() if row.adviser_reply else text
                db.execute(
                    misses_table.update().where(c.id == row.id).values(adviser_reply=joined[-4 * LONGEST_TEXT :])
                )

    def close_case(self, case_id: int, outcome: str) -> None:
        with self.engine.begin() as db:
            db.execute(
                misses_table.update()
                .where(misses_table.c.case_id == case_id)
                .values(outcome=str(outcome)[:20], closed_at=self.clock())
            )

    # ---- reading ----------------------------------------------------------------------------

    def misses(self, where=None, limit: Optional[int] = None, with_vectors: bool = False) -> List[Miss]:
        query = sa.select(misses_table).order_by(misses_table.c.id)
        if where is not None:
            query = query.where(where)
        if limit:
            query = query.limit(limit)
        with self.engine.connect() as db:
            return [_miss(r, with_vectors) for r in db.execute(query)]

    def miss(self, miss_id: int) -> Optional[Miss]:
        found = self.misses(misses_table.c.id == miss_id, with_vectors=True)
        return found[0] if found else None

    def count(self) -> int:
        with self.engine.connect() as db:
            return db.execute(sa.select(sa.func.count()).select_from(misses_table)).scalar_one()

    def set_embeddings(self, rows: Sequence[tuple]) -> None:
        """``(miss id, vector, nearest slug#anchor, nearest score)`` for each."""
        with self.engine.begin() as db:
            for miss_id, vector, nearest, score in rows:
                db.execute(
                    misses_table.update()
                    .where(misses_table.c.id == miss_id)
                    .values(vector=to_blob(vector), nearest=str(nearest or "")[:300], nearest_score=float(score))
                )

    # ---- erasure and retention -------------------------------------------------------------------

    def delete_conversations(self, conversation_ids: Iterable[str]) -> int:
        ids, deleted = sorted(set(conversation_ids)), 0
        with self.engine.begin() as db:
            for start in range(0, len(ids), 500):
                deleted += db.execute(
                    misses_table.delete().where(misses_table.c.conversation_id.in_(ids[start : start + 500]))
                ).rowcount
        return deleted

    def conversations_before(self, cutoff: float) -> List[str]:
        """Conversations whose latest miss is older than ``cutoff``."""
        c = misses_table.c
        with self.engine.connect() as db:
            return [
                r[0]
                for r in db.execute(
                    sa.select(c.conversation_id).group_by(c.conversation_id).having(sa.func.max(c.at) < cutoff)
                )
            ]


def _miss(row, with_vectors: bool) -> Miss:
    values = {f.name: getattr(row, f.name) for f in dataclasses.fields(Miss) if f.name != "vector"}
    return Miss(**values, vector=from_blob(row.vector) if with_vectors else None)


__all__ = ["GROUP_STATUSES", "KINDS", "Miss", "MissStore", "from_blob", "groups_table", "misses_table", "to_blob"]
