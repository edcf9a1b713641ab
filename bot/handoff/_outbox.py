"""The email outbox: an adviser's reply the person may not see, waiting to be emailed to them.

Kept in the handoff store's database, in tables of its own:

- ``email_consents``: a case whose person gave an email address after being told replies they
  have not seen would be emailed (the only cases ever emailed);
- ``email_notices``: one row per adviser reply on such a case. ``queued`` until it is due
  (``email_after_seconds`` after the reply); ``seen`` if the person's web chat received it or
  the person fetched it first; then ``sending`` (claimed by one worker), ``sent``, or ``failed``
  with the reason; ``cancelled`` if the reply never reached the conversation;
- ``reopen_links``: the links in the emails. Only a SHA-256 of each token is stored; a link opens
  one conversation, until it expires or the person's data is erased.

Never twice: a worker owns a notice only after ``UPDATE ... SET status='sending', claim=<random>
WHERE id=? AND status='queued'`` changed its row, which one transaction in the whole cluster can do.
A worker that stops while sending leaves the row ``sending``; after its lease it is marked
``failed`` ("interrupted"), not sent again, since the mail server may have taken it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import secrets
from typing import Dict, Iterable, List, Optional, Sequence

import sqlalchemy as sa

from ._store import Case, HandoffStore

NOTICE_STATUSES = ("queued", "seen", "sending", "sent", "failed", "cancelled")
LEASE_SECONDS = 120.0  # a claimed notice not finished in this time is taken as interrupted

outbox_metadata = sa.MetaData()

consents_table = sa.Table(
    "email_consents",
    outbox_metadata,
    sa.Column("case_id", sa.Integer, primary_key=True),  # no foreign key: erased with the case, by hand
    sa.Column("conversation_id", sa.String(128), nullable=False, index=True),
    sa.Column("given_at", sa.Float, nullable=False),
)
notices_table = sa.Table(
    "email_notices",
    outbox_metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, nullable=False, index=True),
    sa.Column("conversation_id", sa.String(128), nullable=False, index=True),
    sa.Column("adviser_name", sa.String(120), nullable=False, default=""),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("attempts", sa.Integer, nullable=False, default=0),
    sa.Column("due_at", sa.Float, nullable=False),  # when it may next be tried
    sa.Column("claim", sa.String(64)),
    sa.Column("claimed_until", sa.Float),
    sa.Column("last_error", sa.String(500), nullable=False, default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("sent_at", sa.Float),
)
links_table = sa.Table(
    "reopen_links",
    outbox_metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("conversation_id", sa.String(128), nullable=False, index=True),
    sa.Column("case_id", sa.Integer, nullable=False, index=True),
    sa.Column("notice_id", sa.Integer, nullable=False, unique=True),  # one link per email
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)


@dataclasses.dataclass(frozen=True)
class Notice:
    id: int
    case_id: int
    conversation_id: str
    adviser_name: str
    text: str
    status: str
    attempts: int
    due_at: float
    claim: Optional[str]
    last_error: str
    created_at: float
    updated_at: float
    sent_at: Optional[float]

    def as_json(self) -> dict:
        """What the console shows (not the text: the transcript has it)."""
        return {
            "id": self.id,
            "status": self.status,
            "attempts": self.attempts,
            "due_at": self.due_at,
            "error": self.last_error,
            "created_at": self.created_at,
            "sent_at": self.sent_at,
            "updated_at": self.updated_at,
        }


def _notice(row) -> Notice:
    return Notice(**{f.name: getattr(row, f.name) for f in dataclasses.fields(Notice)})


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Outbox:
    """``Outbox(store)``: the email tables in ``store``'s database, on its clock."""

    def __init__(self, store: HandoffStore):
        self.store = store
        self.engine = store.engine
        outbox_metadata.create_all(self.engine)

    @property
    def clock(self):
        return self.store.clock

    # ---- consent ---------------------------------------------------------------------

    def record_consent(self, case: Case) -> None:
        """The person gave ``case.email`` having been told unseen replies are emailed."""
        if not case.email:
            return
        with self.engine.begin() as db:
            if db.execute(sa.select(consents_table.c.case_id).where(consents_table.c.case_id == case.id)).first():
                return
            db.execute(
                consents_table.insert().values(
                    case_id=case.id, conversation_id=case.conversation_id, given_at=self.clock()
                )
            )

    def consented(self, case_id: int) -> bool:
        with self.engine.connect() as db:
            return (
                db.execute(sa.select(consents_table.c.case_id).where(consents_table.c.case_id == case_id)).first()
                is not None
            )

    # ---- notices ---------------------------------------------------------------------

    def queue(self, case: Case, text: str, adviser_name: str, after_seconds: float) -> Optional[int]:
        """A notice for an adviser's reply on ``case``, due ``after_seconds`` from now; ``None`` when
        the person gave no email with consent (nothing is queued)."""
        if not case.email or not self.consented(case.id):
            return None
        now = self.clock()
        with self.engine.begin() as db:
            return db.execute(
                notices_table.insert().values(
                    case_id=case.id,
                    conversation_id=case.conversation_id,
                    adviser_name=adviser_name[:120],
                    text=text,
                    status="queued",
                    attempts=0,
                    due_at=now + max(0.0, after_seconds),
                    last_error="",
                    created_at=now,
                    updated_at=now,
                )
            ).inserted_primary_key[0]

    def notice(self, notice_id: int) -> Optional[Notice]:
        with self.engine.connect() as db:
            row = db.execute(sa.select(notices_table).where(notices_table.c.id == notice_id)).first()
        return _notice(row) if row else None

    def notices(self, case_id: int) -> List[Notice]:
        with self.engine.connect() as db:
            return [
                _notice(r)
                for r in db.execute(
                    sa.select(notices_table).where(notices_table.c.case_id == case_id).order_by(notices_table.c.id)
                )
            ]

    def cancel(self, notice_id: int, why: str) -> None:
        self._finish(notice_id, None, "cancelled", why, from_status="queued")

    def mark_seen(self, conversation_id: str, notice_ids: Iterable = ()) -> int:
        """The person's chat received (or they fetched) these replies: their queued notices are not
        sent. Only notices of ``conversation_id`` count, so an id from elsewhere changes nothing."""
        ids = []
        for value in notice_ids:
            try:
                ids.append(int(value))
            except (TypeError, ValueError):
                continue
        if not ids:
            return 0
        n = notices_table.c
        with self.engine.begin() as db:
            return db.execute(
                notices_table.update()
                .where(
                    n.id.in_(ids[:100]),
                    n.conversation_id == conversation_id,
                    n.status == "queued",
                )
                .values(status="seen", updated_at=self.clock())
            ).rowcount

    def claim_due(self, limit: int = 20) -> List[Notice]:
        """The due notices this caller now owns (each with its ``claim``); another caller, in this
        process or another server, can own none of them."""
        now = self.clock()
        n = notices_table.c
        with self.engine.connect() as db:
            due = [
                r.id
                for r in db.execute(
                    sa.select(n.id).where(n.status == "queued", n.due_at <= now).order_by(n.due_at, n.id).limit(limit)
                )
            ]
        owned = []
        for notice_id in due:
            claim = secrets.token_hex(16)
            with self.engine.begin() as db:
                changed = db.execute(
                    notices_table.update()
                    .where(
                        n.id == notice_id,
                        n.status == "queued",
                        n.due_at <= now,
                    )
                    .values(
                        status="sending",
                        claim=claim,
                        claimed_until=now + LEASE_SECONDS,
                        attempts=n.attempts + 1,
                        updated_at=now,
                    )
                ).rowcount
            if changed == 1:
                owned.append(self.notice(notice_id))
        return [o for o in owned if o is not None]

    def sent(self, notice: Notice) -> bool:
        return self._finish(notice.id, notice.claim, "sent", "")

    def failed(self, notice: Notice, why: str) -> bool:
        return self._finish(notice.id, notice.claim, "failed", why)

    def retry(self, notice: Notice, why: str, delay: float) -> bool:
        """Back to the queue, due in ``delay`` seconds, with the reason it was not sent."""
        n = notices_table.c
        with self.engine.begin() as db:
            return (
                db.execute(
                    notices_table.update()
                    .where(n.id == notice.id, n.claim == notice.claim, n.status == "sending")
                    .values(
                        status="queued",
                        claim=None,
                        claimed_until=None,
                        due_at=self.clock() + delay,
                        last_error=why[:500],
                        updated_at=self.clock(),
                    )
                ).rowcount
                == 1
            )

    def _finish(
        self, notice_id: int, claim: Optional[str], status: str, why: str, from_status: str = "sending"
    ) -> bool:
        n = notices_table.c
        now = self.clock()
        where = [n.id == notice_id, n.status == from_status] + ([n.claim == claim] if claim else [])
        with self.engine.begin() as db:
            return (
                db.execute(
                    notices_table.update()
                    .where(*where)
                    .values(
                        status=status,
                        last_error=why[:500],
                        updated_at=now,
                        claimed_until=None,
                        **({"sent_at": now} if status == "sent" else {}),
                    )
                ).rowcount
                == 1
            )

    def interrupted(self) -> int:
        """Notices a worker claimed and never finished (it stopped mid-send): failed, not sent
        again, since the mail server may already have taken the message."""
        n = notices_table.c
        with self.engine.begin() as db:
            return db.execute(
                notices_table.update()
                .where(n.status == "sending", n.claimed_until < self.clock())
                .values(
                    status="failed",
                    updated_at=self.clock(),
                    claimed_until=None,
                    last_error="interrupted while sending (the web server stopped); not sent again, as it may "
                    "have been delivered",
                )
            ).rowcount

    # ---- links back to the conversation ----------------------------------------------

    def new_link(self, notice: Notice, days: float) -> str:
        """A token for the link in ``notice``'s email (the same token again for the same notice is
        not possible: only its hash is kept, so a second call replaces it)."""
        token = secrets.token_urlsafe(32)
        now = self.clock()
        with self.engine.begin() as db:
            db.execute(links_table.delete().where(links_table.c.notice_id == notice.id))
            db.execute(
                links_table.insert().values(
                    token_hash=_hash(token),
                    conversation_id=notice.conversation_id,
                    case_id=notice.case_id,
                    notice_id=notice.id,
                    created_at=now,
                    expires_at=now + days * 86400,
                )
            )
        return token

    def open_link(self, token: str) -> Optional[str]:
        """The conversation a link's token opens, or ``None``: unknown, expired, or its case erased."""
        if not isinstance(token, str) or not 20 <= len(token) <= 100:
            return None
        with self.engine.connect() as db:
            row = db.execute(sa.select(links_table).where(links_table.c.token_hash == _hash(token))).first()
        if row is None or row.expires_at <= self.clock() or not self.store.has_case(row.conversation_id):
            return None
        return row.conversation_id

    def continued_in_web_chat(self, conversation_id: str) -> bool:
        """A link opened a REST conversation in the web chat: its open case's replies are pushed
        there from now on (the case's channel becomes ``socketio``)."""
        from ._store import cases_table

        c = cases_table.c
        with self.engine.begin() as db:
            row = db.execute(
                sa.select(c.id).where(c.conversation_id == conversation_id, c.status != "closed", c.channel == "rest")
            ).first()
            if row is None:
                return False
            db.execute(cases_table.update().where(c.id == row.id).values(channel="socketio"))
            self.store._audit(db, row.id, None, "continued in the web chat", "from an email's link")
        return True

    # ---- erasure -----------------------------------------------------------------------

    def forget_conversation(self, conversation_id: str) -> int:
        """Erase everything of the conversation here (its links stop working at once)."""
        with self.engine.begin() as db:
            deleted = 0
            for table in (links_table, notices_table, consents_table):
                deleted += db.execute(table.delete().where(table.c.conversation_id == conversation_id)).rowcount
        return deleted

    def forget_cases(self, case_ids: Sequence[int]) -> int:
        ids = sorted({int(i) for i in case_ids})
        deleted = 0
        with self.engine.begin() as db:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                for table in (links_table, notices_table, consents_table):
                    deleted += db.execute(table.delete().where(table.c.case_id.in_(chunk))).rowcount
        return deleted


_outboxes: Dict[int, Outbox] = {}


def outbox_of(store: HandoffStore) -> Outbox:
    """One :class:`Outbox` per store object (its tables made once)."""
    box = _outboxes.get(id(store))
    if box is None or box.store is not store:
        box = _outboxes[id(store)] = Outbox(store)
    return box
