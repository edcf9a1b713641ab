"""Where handoff cases, advisers and their sessions are kept: any SQLAlchemy database
(SQLite by default, PostgreSQL by URL), through one small interface."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import json
import secrets
import time
from typing import Dict, List, Optional, Sequence

import sqlalchemy as sa

from bot.databases import engine_for

STATUSES = ("waiting", "assigned", "closed")
OUTCOMES = ("answered", "referred", "no_response", "out_of_scope", "cancelled")
ROLES = ("adviser", "supervisor")

metadata = sa.MetaData()

advisers_table = sa.Table(
    "advisers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(120), nullable=False),
    sa.Column("email", sa.String(254), nullable=False, unique=True),
    sa.Column("role", sa.String(20), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.Float, nullable=False),
    # when the adviser set themselves available (None: away); it counts only while they are signed in
    sa.Column("available_since", sa.Float),
)
sessions_table = sa.Table(
    "adviser_sessions",
    metadata,
    sa.Column("token_hash", sa.String(64), primary_key=True),
    sa.Column("adviser_id", sa.Integer, sa.ForeignKey("advisers.id"), nullable=False),
    sa.Column("csrf_token", sa.String(64), nullable=False),
    sa.Column("expires_at", sa.Float, nullable=False),
)
login_failures_table = sa.Table(
    "login_failures",
    metadata,
    sa.Column("key", sa.String(300), primary_key=True),
    sa.Column("failures", sa.Integer, nullable=False),
    sa.Column("last_at", sa.Float, nullable=False),
)
cases_table = sa.Table(
    "cases",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("conversation_id", sa.String(128), nullable=False, index=True),
    sa.Column("channel", sa.String(40), nullable=False),
    sa.Column("chat_id", sa.String(64)),
    sa.Column("status", sa.String(20), nullable=False, index=True),
    sa.Column("adviser_id", sa.Integer, sa.ForeignKey("advisers.id")),
    sa.Column("question", sa.Text, nullable=False),
    sa.Column("person_name", sa.String(120), nullable=False, default=""),
    sa.Column("email", sa.String(254), nullable=False, default=""),
    sa.Column("topic", sa.String(120), nullable=False, default=""),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
    sa.Column("claimed_at", sa.Float),
    sa.Column("closed_at", sa.Float),
    sa.Column("outcome", sa.String(20)),
    sa.Column("tags", sa.String(500), nullable=False, default=""),
    sa.Column("rating", sa.Integer),
    # what the person wrote while the case was open, and how much of it its adviser has seen:
    # a count rather than only times, so "new" needs no two servers' clocks to agree
    sa.Column("person_messages", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("last_person_message_at", sa.Float),
    sa.Column("person_messages_seen", sa.Integer, nullable=False, default=0, server_default="0"),
    sa.Column("adviser_seen_at", sa.Float),
)
# columns added to ``cases`` after its first release: a store made before gets them when opened
ADDED_CASE_COLUMNS = ("person_messages", "last_person_message_at", "person_messages_seen", "adviser_seen_at")
ADDED_ADVISER_COLUMNS = ("available_since",)
notes_table = sa.Table(
    "case_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("adviser_id", sa.Integer, sa.ForeignKey("advisers.id"), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("created_at", sa.Float, nullable=False),
)
# each adviser reply, with the guidance sources the adviser used for it (JSON list of
# {"slug", "anchor", "title", "url"}): for quality review and the insights
replies_table = sa.Table(
    "case_replies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("adviser_id", sa.Integer, sa.ForeignKey("advisers.id"), nullable=False),
    sa.Column("chars", sa.Integer, nullable=False),
    sa.Column("sources", sa.Text, nullable=False, default="[]"),
    sa.Column("at", sa.Float, nullable=False),
)
# replies advisers use every day, kept by supervisors; ``{name}`` in the text is the person's name
saved_replies_table = sa.Table(
    "saved_replies",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("title", sa.String(120), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("guidance_slug", sa.String(120), nullable=False, default=""),
    sa.Column("guidance_anchor", sa.String(200), nullable=False, default=""),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("uses", sa.Integer, nullable=False, default=0),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("updated_at", sa.Float, nullable=False),
)
# a case handed from one adviser to a colleague (``to_adviser_id``) or back to the queue (``None``),
# with a note only advisers see; ``seen_at``: when the receiving adviser opened the case
transfers_table = sa.Table(
    "case_transfers",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, sa.ForeignKey("cases.id"), nullable=False, index=True),
    sa.Column("from_adviser_id", sa.Integer, sa.ForeignKey("advisers.id"), nullable=False),
    sa.Column("to_adviser_id", sa.Integer, sa.ForeignKey("advisers.id")),
    sa.Column("note", sa.Text, nullable=False, default=""),
    sa.Column("at", sa.Float, nullable=False),
    sa.Column("seen_at", sa.Float),
)
# the tags cases may carry, kept by supervisors (a retired tag stays on the cases that have it)
tags_table = sa.Table(
    "case_tag_list",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(40), nullable=False, unique=True),
    sa.Column("active", sa.Boolean, nullable=False, default=True),
    sa.Column("created_at", sa.Float, nullable=False),
)
audit_table = sa.Table(
    "audit",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("case_id", sa.Integer, index=True),
    sa.Column("adviser_id", sa.Integer),
    sa.Column("action", sa.String(40), nullable=False),
    sa.Column("detail", sa.String(500), nullable=False, default=""),
    sa.Column("at", sa.Float, nullable=False),
)


class HandoffError(ValueError):
    """A request the store refuses; the message says why in words an adviser understands."""


@dataclasses.dataclass(frozen=True)
class Adviser:
    id: int
    name: str
    email: str
    role: str
    active: bool = True
    available: bool = False  # set themselves available (see ``HandoffStore.available_advisers``)

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"


@dataclasses.dataclass(frozen=True)
class Case:
    id: int
    conversation_id: str
    channel: str
    chat_id: Optional[str]
    status: str
    adviser_id: Optional[int]
    question: str
    person_name: str
    email: str
    topic: str
    created_at: float
    updated_at: float
    claimed_at: Optional[float]
    closed_at: Optional[float]
    outcome: Optional[str]
    tags: str
    rating: Optional[int]
    person_messages: int = 0  # messages the person wrote while the case was open
    last_person_message_at: Optional[float] = None
    person_messages_seen: int = 0  # how many of them the case's adviser has seen
    adviser_seen_at: Optional[float] = None

    @property
    def is_open(self) -> bool:
        return self.status != "closed"

    @property
    def unread_messages(self) -> int:
        """The person's messages since the case was last opened by whoever has it (by anyone while
        it waits) or answered; none once it is closed."""
        return max(0, self.person_messages - self.person_messages_seen) if self.is_open else 0

    def as_json(self) -> dict:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Session:
    adviser: Adviser
    csrf_token: str
    expires_at: float


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class HandoffStore:
    """Cases, advisers, sessions and the audit trail."""

    def __init__(self, url: str, session_hours: float = 8.0, clock=time.time):
        self.url = url
        self.engine = engine_for(url)
        self.session_seconds = session_hours * 3600
        self.clock = clock
        metadata.create_all(self.engine)
        self._add_missing_columns()

    def dispose(self) -> None:
        """Release the database connections."""
        self.engine.dispose()

    def _add_missing_columns(self) -> None:
        """Bring a store made by an older release up to date: ``create_all`` makes missing tables but
        never changes one that exists, so add the columns ``cases`` and ``advisers`` gained (each
        nullable or with a default, so every row keeps its data). Several servers may start at once:
        a column another one has just added is not an error."""
        for table, added in ((cases_table, ADDED_CASE_COLUMNS), (advisers_table, ADDED_ADVISER_COLUMNS)):
            existing = {c["name"] for c in sa.inspect(self.engine).get_columns(table.name)}
            for name in added:
                if name in existing:
                    continue
                column = table.c[name]
                ddl = f"ALTER TABLE {table.name} ADD COLUMN {name} {column.type.compile(dialect=self.engine.dialect)}"
                if column.server_default is not None:
                    ddl += f" DEFAULT {column.server_default.arg} NOT NULL"
                try:
                    with self.engine.begin() as db:
                        db.execute(sa.text(ddl))
                except sa.exc.DBAPIError:
                    if name not in {c["name"] for c in sa.inspect(self.engine).get_columns(table.name)}:
                        raise

    # ---- advisers ------------------------------------------------------------------

    def add_adviser(self, name: str, email: str, role: str, password_hash: str) -> Adviser:
        name, email = name.strip(), email.strip().lower()
        if role not in ROLES:
            raise HandoffError(f"role must be one of {', '.join(ROLES)}")
        if not name or "@" not in email:
            raise HandoffError("an adviser needs a name and an email address")
        with self.engine.begin() as db:
            if db.execute(sa.select(advisers_table.c.id).where(advisers_table.c.email == email)).first():
                raise HandoffError(f"an adviser with the email {email} already exists")
            new_id = db.execute(
                advisers_table.insert().values(
                    name=name, email=email, role=role, password_hash=password_hash, active=True, created_at=self.clock()
                )
            ).inserted_primary_key[0]
        return Adviser(new_id, name, email, role)

    def adviser(self, adviser_id: int) -> Optional[Adviser]:
        with self.engine.connect() as db:
            row = db.execute(sa.select(advisers_table).where(advisers_table.c.id == adviser_id)).first()
        return _adviser(row) if row else None

    def advisers(self) -> List[Adviser]:
        with self.engine.connect() as db:
            return [_adviser(r) for r in db.execute(sa.select(advisers_table).order_by(advisers_table.c.name))]

    def credentials(self, email: str) -> Optional[tuple]:
        """``(adviser, password_hash)`` for an active adviser, else ``None``."""
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(advisers_table).where(
                    advisers_table.c.email == email.strip().lower(), advisers_table.c.active.is_(True)
                )
            ).first()
        return (_adviser(row), row.password_hash) if row else None

    def set_password_hash(self, adviser_id: int, password_hash: str) -> None:
        with self.engine.begin() as db:
            db.execute(
                advisers_table.update().where(advisers_table.c.id == adviser_id).values(password_hash=password_hash)
            )

    def set_available(self, adviser_id: int, available: bool) -> Adviser:
        """The adviser says they are available for new cases, or away."""
        with self.engine.begin() as db:
            db.execute(
                advisers_table.update()
                .where(advisers_table.c.id == adviser_id)
                .values(available_since=self.clock() if available else None)
            )
            self._audit(db, None, adviser_id, "available" if available else "away")
        adviser = self.adviser(adviser_id)
        if adviser is None:
            raise HandoffError(f"there is no adviser {adviser_id}")
        return adviser

    def available_advisers(self) -> List[Adviser]:
        """Advisers who set themselves available and are signed in now (a session not yet expired):
        one who closed the console without signing out stops counting when their session ends."""
        a, s = advisers_table.c, sessions_table.c
        signed_in = sa.select(s.adviser_id).where(s.expires_at > self.clock())
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(advisers_table)
                .where(a.active.is_(True), a.available_since.is_not(None), a.id.in_(signed_in))
                .order_by(a.name)
            )
            return [_adviser(r) for r in rows]

    def likely_wait(self, last: int = 20, within_days: float = 14.0, fewest: int = 3) -> Optional[float]:
        """The median of how long the last ``last`` cases claimed in the past ``within_days`` days
        waited for an adviser, in seconds; ``None`` with fewer than ``fewest`` of them (too few to say)."""
        c = cases_table.c
        with self.engine.connect() as db:
            rows = (
                db.execute(
                    sa.select(c.claimed_at - c.created_at)
                    .where(
                        c.claimed_at.is_not(None),
                        c.claimed_at > self.clock() - within_days * 86400,
                    )
                    .order_by(c.claimed_at.desc())
                    .limit(last)
                )
                .scalars()
                .all()
            )
        if len(rows) < fewest:
            return None
        waits = sorted(float(w) for w in rows)
        middle = len(waits) // 2
        return waits[middle] if len(waits) % 2 else (waits[middle - 1] + waits[middle]) / 2

    # ---- sessions and login throttling -------------------------------------------------

    def start_session(self, adviser: Adviser) -> tuple:
        """``(cookie token, csrf token)``; only a hash of the cookie token is stored."""
        token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.clock()
        with self.engine.begin() as db:
            db.execute(sessions_table.delete().where(sessions_table.c.expires_at < now))
            db.execute(
                sessions_table.insert().values(
                    token_hash=_hash_token(token),
                    adviser_id=adviser.id,
                    csrf_token=csrf,
                    expires_at=now + self.session_seconds,
                )
            )
        return token, csrf

    def session(self, token: Optional[str]) -> Optional[Session]:
        if not token:
            return None
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(sessions_table, advisers_table)
                .join(advisers_table)
                .where(sessions_table.c.token_hash == _hash_token(token))
            ).first()
        if not row or row.expires_at < self.clock() or not row.active:
            return None
        return Session(
            Adviser(row.adviser_id, row.name, row.email, row.role, row.active, row.available_since is not None),
            row.csrf_token,
            row.expires_at,
        )

    def end_session(self, token: str) -> None:
        with self.engine.begin() as db:
            db.execute(sessions_table.delete().where(sessions_table.c.token_hash == _hash_token(token)))

    def login_failures(self, key: str, window: float = 900.0) -> int:
        with self.engine.connect() as db:
            row = db.execute(sa.select(login_failures_table).where(login_failures_table.c.key == key)).first()
        return row.failures if row and row.last_at > self.clock() - window else 0

    def record_login_failure(self, key: str, window: float = 900.0) -> int:
        failures = self.login_failures(key, window) + 1
        with self.engine.begin() as db:
            db.execute(login_failures_table.delete().where(login_failures_table.c.key == key))
            db.execute(login_failures_table.insert().values(key=key, failures=failures, last_at=self.clock()))
        return failures

    def clear_login_failures(self, key: str) -> None:
        with self.engine.begin() as db:
            db.execute(login_failures_table.delete().where(login_failures_table.c.key == key))

    # ---- cases --------------------------------------------------------------------------

    def open_case(
        self,
        conversation_id: str,
        channel: str,
        question: str,
        person_name: str = "",
        email: str = "",
        topic: str = "",
        chat_id: Optional[str] = None,
    ) -> Case:
        """A new waiting case, or the conversation's case that is still open."""
        existing = self.open_case_for(conversation_id)
        if existing:
            return existing
        now = self.clock()
        with self.engine.begin() as db:
            case_id = db.execute(
                cases_table.insert().values(
                    conversation_id=conversation_id,
                    channel=channel,
                    chat_id=chat_id,
                    status="waiting",
                    question=question.strip()[:4000] or "(no question given)",
                    person_name=person_name.strip()[:120],
                    email=email.strip()[:254],
                    topic=topic[:120],
                    created_at=now,
                    updated_at=now,
                    tags="",
                )
            ).inserted_primary_key[0]
            self._audit(db, case_id, None, "opened", f"channel {channel}")
        return self.case(case_id)

    def case(self, case_id: int) -> Case:
        with self.engine.connect() as db:
            row = db.execute(sa.select(cases_table).where(cases_table.c.id == case_id)).first()
        if not row:
            raise HandoffError(f"there is no case {case_id}")
        return _case(row)

    def open_case_for(self, conversation_id: str) -> Optional[Case]:
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(cases_table)
                .where(
                    cases_table.c.conversation_id == conversation_id,
                    cases_table.c.status != "closed",
                )
                .order_by(cases_table.c.id.desc())
            ).first()
        return _case(row) if row else None

    def has_case(self, conversation_id: str) -> bool:
        """Whether the conversation was ever handed to an adviser (and not erased since)."""
        with self.engine.connect() as db:
            return (
                db.execute(
                    sa.select(cases_table.c.id).where(cases_table.c.conversation_id == conversation_id).limit(1)
                ).first()
                is not None
            )

    def cases(self, view: str = "waiting", adviser: Optional[Adviser] = None, limit: int = 200) -> List[Case]:
        """``waiting``, ``mine``, ``others`` (assigned to someone else) or ``closed``."""
        c = cases_table.c
        query = sa.select(cases_table)
        if view == "waiting":
            query = query.where(c.status == "waiting").order_by(c.created_at, c.id)
        elif view == "mine":
            query = query.where(c.status == "assigned", c.adviser_id == (adviser.id if adviser else -1)).order_by(
                c.updated_at.desc()
            )
        elif view == "others":
            query = query.where(c.status == "assigned", c.adviser_id != (adviser.id if adviser else -1)).order_by(
                c.updated_at.desc()
            )
        elif view == "closed":
            query = query.where(c.status == "closed").order_by(c.closed_at.desc())
        else:
            raise HandoffError("view must be waiting, mine, others or closed")
        with self.engine.connect() as db:
            return [_case(r) for r in db.execute(query.limit(limit))]

    def queue_position(self, case: Case) -> int:
        """1 for the next to be picked up; 0 once an adviser has it."""
        if case.status != "waiting":
            return 0
        with self.engine.connect() as db:
            c = cases_table.c  # opened at the same moment: the first opened is ahead
            return db.execute(
                sa.select(sa.func.count())
                .select_from(cases_table)
                .where(
                    c.status == "waiting",
                    sa.or_(c.created_at < case.created_at, sa.and_(c.created_at == case.created_at, c.id <= case.id)),
                )
            ).scalar_one()

    def claim(self, case_id: int, adviser: Adviser) -> Case:
        now = self.clock()
        with self.engine.begin() as db:
            changed = db.execute(
                cases_table.update()
                .where(
                    cases_table.c.id == case_id,
                    cases_table.c.status == "waiting",
                )
                .values(
                    status="assigned",
                    adviser_id=adviser.id,
                    updated_at=now,
                    claimed_at=sa.func.coalesce(cases_table.c.claimed_at, now),
                )
            ).rowcount
            if not changed:
                case = self.case(case_id)
                if case.status == "assigned" and case.adviser_id == adviser.id:
                    return case
                raise HandoffError("this case is no longer waiting: another adviser has it or it is closed")
            self._audit(db, case_id, adviser.id, "claimed")
        return self.case(case_id)

    def assign(self, case_id: int, to: Adviser, by: Adviser) -> Case:
        if not by.is_supervisor:
            raise HandoffError("only a supervisor can reassign a case")
        case = self.case(case_id)
        if not case.is_open:
            raise HandoffError("a closed case cannot be reassigned")
        now = self.clock()
        with self.engine.begin() as db:
            db.execute(
                cases_table.update()
                .where(cases_table.c.id == case_id)
                .values(status="assigned", adviser_id=to.id, claimed_at=case.claimed_at or now, updated_at=now)
            )
            self._audit(db, case_id, by.id, "reassigned", f"to {to.name} (#{to.id})")
            if case.adviser_id != to.id and to.id != by.id:  # the new adviser is told (``transfers_for``)
                db.execute(
                    transfers_table.insert().values(
                        case_id=case_id, from_adviser_id=by.id, to_adviser_id=to.id, note="", at=now
                    )
                )
        return self.case(case_id)

    def transfer(self, case_id: int, by: Adviser, to: Optional[Adviser], note: str) -> Case:
        """``by`` hands the case to the colleague ``to``, or back to the queue (``to=None``), with a
        note only advisers see (kept with the case's notes too). The case keeps its place by when it
        was opened: handed back, it is ahead of those who came later."""
        note = str(note or "").strip()
        if not note:
            raise HandoffError("say in a note what your colleague needs to know")
        if len(note) > 2000:
            raise HandoffError("a handover note is at most 2,000 characters")
        case = self.case(case_id)
        if not case.is_open:
            raise HandoffError("a closed case cannot be handed over")
        if case.status == "waiting" and to is None:
            raise HandoffError("this case is already in the queue")
        if case.status == "assigned" and not self.may_act_on(case, by):
            raise HandoffError("another adviser has this case")
        if to is not None:
            if not to.active:
                raise HandoffError(f"{to.name} is no longer an adviser here")
            if to.id == case.adviser_id:
                raise HandoffError(f"{to.name} has this case already")
        now = self.clock()
        with self.engine.begin() as db:
            values = (
                dict(status="assigned", adviser_id=to.id, updated_at=now, claimed_at=case.claimed_at or now)
                if to
                else dict(status="waiting", adviser_id=None, updated_at=now)
            )
            db.execute(cases_table.update().where(cases_table.c.id == case_id).values(**values))
            db.execute(
                transfers_table.insert().values(
                    case_id=case_id, from_adviser_id=by.id, to_adviser_id=to.id if to else None, note=note, at=now
                )
            )
            where = f"Handed to {to.name}" if to else "Handed back to the queue"
            db.execute(
                notes_table.insert().values(case_id=case_id, adviser_id=by.id, text=f"{where}: {note}", created_at=now)
            )
            self._audit(db, case_id, by.id, "handed over", f"to {to.name} (#{to.id})" if to else "back to the queue")
        return self.case(case_id)

    def last_transfer(self, case_id: int) -> Optional[Dict]:
        """The case's latest handover: ``{"from", "to", "to_id", "note", "at", "seen_at"}`` (names)."""
        t, frm = transfers_table.c, advisers_table.alias("frm")
        to = advisers_table.alias("to")
        with self.engine.connect() as db:
            row = db.execute(
                sa.select(
                    t.to_adviser_id, t.note, t.at, t.seen_at, frm.c.name.label("from_name"), to.c.name.label("to_name")
                )
                .join(frm, frm.c.id == t.from_adviser_id)
                .outerjoin(to, to.c.id == t.to_adviser_id)
                .where(t.case_id == case_id)
                .order_by(t.id.desc())
                .limit(1)
            ).first()
        if not row:
            return None
        return {
            "from": row.from_name,
            "to": row.to_name,
            "to_id": row.to_adviser_id,
            "note": row.note,
            "at": row.at,
            "seen_at": row.seen_at,
        }

    def transfers_for(self, adviser: Adviser) -> Dict[int, Dict]:
        """Open cases handed to ``adviser`` that they have not opened since: case id -> the handover."""
        t, c = transfers_table.c, cases_table.c
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(t.case_id, t.note, t.at, advisers_table.c.name)
                .join(advisers_table, advisers_table.c.id == t.from_adviser_id)
                .join(cases_table, c.id == t.case_id)
                .where(
                    t.to_adviser_id == adviser.id,
                    t.seen_at.is_(None),
                    c.status == "assigned",
                    c.adviser_id == adviser.id,
                )
                .order_by(t.id)
            )
            return {r.case_id: {"from": r.name, "note": r.note, "at": r.at} for r in rows}

    def mark_transfer_seen(self, case_id: int, adviser: Adviser) -> None:
        t = transfers_table.c
        with self.engine.begin() as db:
            db.execute(
                transfers_table.update()
                .where(t.case_id == case_id, t.to_adviser_id == adviser.id, t.seen_at.is_(None))
                .values(seen_at=self.clock())
            )

    def may_act_on(self, case: Case, adviser: Adviser) -> bool:
        return adviser.is_supervisor or case.adviser_id == adviser.id

    def record_person_message(self, conversation_id: str) -> Optional[Case]:
        """The person wrote in a handed-off conversation: count it on its open case (``None``: none)."""
        c = cases_table.c
        with self.engine.begin() as db:  # only a read unless there is a case: no write lock per message
            row = db.execute(
                sa.select(c.id).where(c.conversation_id == conversation_id, c.status != "closed").order_by(c.id.desc())
            ).first()
            if not row:
                return None
            db.execute(
                cases_table.update()
                .where(c.id == row.id)
                .values(person_messages=c.person_messages + 1, last_person_message_at=self.clock())
            )
        return self.case(row.id)

    def mark_seen(self, case: Case, adviser: Adviser) -> Case:
        """``adviser`` was shown the conversation as it was when ``case`` was read (read it before
        fetching the transcript, so a message arriving meanwhile stays new). It counts when the
        adviser has the case, or the case is waiting; a supervisor looking in on another adviser's
        case leaves that adviser's new messages flagged."""
        if not case.is_open or (case.status == "assigned" and case.adviser_id != adviser.id):
            return self.case(case.id)
        self._seen(case.id, case.person_messages)
        return self.case(case.id)

    def _seen(self, case_id: int, upto, db=None) -> None:
        c = cases_table.c
        statement = (
            cases_table.update()
            .where(c.id == case_id)
            .values(
                person_messages_seen=sa.case((c.person_messages_seen < upto, upto), else_=c.person_messages_seen),
                adviser_seen_at=self.clock(),
            )
        )
        if db is not None:
            db.execute(statement)
            return
        with self.engine.begin() as db:
            db.execute(statement)

    def record_reply(
        self, case_id: int, adviser: Adviser, chars: int = 0, sources: Sequence[Dict[str, str]] = ()
    ) -> Case:
        """An adviser replied (``chars`` long), using the guidance ``sources`` (``slug``, ``anchor``,
        ``title``, ``url``), which are kept with the reply."""
        case = self.case(case_id)
        if not case.is_open:
            raise HandoffError("this case is closed; the person is back with the assistant")
        if case.status == "waiting":
            case = self.claim(case_id, adviser)
        elif not self.may_act_on(case, adviser):
            raise HandoffError("another adviser has this case")
        with self.engine.begin() as db:
            db.execute(cases_table.update().where(cases_table.c.id == case_id).values(updated_at=self.clock()))
            # whoever answers the person has read what they wrote (from the case page, which shows it)
            self._seen(case_id, cases_table.c.person_messages, db)
            kept = [{k: str(s.get(k) or "")[:300] for k in ("slug", "anchor", "title", "url")} for s in sources][:10]
            db.execute(
                replies_table.insert().values(
                    case_id=case_id, adviser_id=adviser.id, chars=int(chars), sources=json.dumps(kept), at=self.clock()
                )
            )
            self._audit(
                db,
                case_id,
                adviser.id,
                "replied",
                ("using " + ", ".join(f"{s['slug']}#{s['anchor']}" if s["anchor"] else s["slug"] for s in kept))
                if kept
                else "",
            )
        return self.case(case_id)

    def replies(self, case_id: int) -> List[Dict]:
        """The case's adviser replies, oldest first: who, when, how long, and the sources used."""
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(replies_table, advisers_table.c.name)
                .join(advisers_table)
                .where(replies_table.c.case_id == case_id)
                .order_by(replies_table.c.id)
            )
            return [{"adviser": r.name, "at": r.at, "chars": r.chars, "sources": json.loads(r.sources)} for r in rows]

    def close(
        self, case_id: int, adviser: Optional[Adviser], outcome: str, tags: Optional[Sequence[str]] = None
    ) -> Case:
        """Close the case with ``outcome``; ``tags`` replace its tags (``None``: it keeps those it has)."""
        if outcome not in OUTCOMES:
            raise HandoffError(f"outcome must be one of {', '.join(OUTCOMES)}")
        case = self.case(case_id)
        if not case.is_open:
            raise HandoffError("this case is already closed")
        if adviser and case.adviser_id not in (None, adviser.id) and not adviser.is_supervisor:
            raise HandoffError("another adviser has this case")
        clean_tags = case.tags if tags is None else _tag_string(tags)
        now = self.clock()
        with self.engine.begin() as db:
            db.execute(
                cases_table.update()
                .where(cases_table.c.id == case_id)
                .values(
                    status="closed",
                    closed_at=now,
                    updated_at=now,
                    outcome=outcome,
                    tags=clean_tags,
                    adviser_id=case.adviser_id or (adviser.id if adviser else None),
                )
            )
            self._audit(
                db,
                case_id,
                adviser.id if adviser else None,
                "closed" if adviser else "cancelled by the person",
                outcome,
            )
        return self.case(case_id)

    def rate(self, conversation_id: str, rating: int) -> Optional[Case]:
        """Record 1–5 on the conversation's most recently closed case."""
        if not 1 <= int(rating) <= 5:
            raise HandoffError("a rating is a whole number from 1 to 5")
        with self.engine.begin() as db:
            row = db.execute(
                sa.select(cases_table.c.id)
                .where(
                    cases_table.c.conversation_id == conversation_id,
                    cases_table.c.status == "closed",
                )
                .order_by(cases_table.c.closed_at.desc())
            ).first()
            if not row:
                return None
            db.execute(cases_table.update().where(cases_table.c.id == row.id).values(rating=int(rating)))
            self._audit(db, row.id, None, "rated", str(int(rating)))
        return self.case(row.id)

    # ---- saved replies -------------------------------------------------------------------

    def _saved_fields(self, title: str, text: str, guidance_slug: str, guidance_anchor: str) -> dict:
        title, text = " ".join(str(title or "").split()), str(text or "").strip()
        if not title or not text:
            raise HandoffError("a saved reply needs a title and some text")
        if len(title) > 120 or len(text) > 4000:
            raise HandoffError("a saved reply's title is at most 120 characters and its text at most 4,000")
        return {
            "title": title,
            "text": text,
            "guidance_slug": str(guidance_slug or "").strip()[:120],
            "guidance_anchor": str(guidance_anchor or "").strip()[:200],
        }

    def add_saved_reply(
        self, by: Adviser, title: str, text: str, guidance_slug: str = "", guidance_anchor: str = ""
    ) -> Dict:
        if not by.is_supervisor:
            raise HandoffError("only a supervisor can add saved replies")
        fields, now = self._saved_fields(title, text, guidance_slug, guidance_anchor), self.clock()
        with self.engine.begin() as db:
            new_id = db.execute(
                saved_replies_table.insert().values(**fields, active=True, uses=0, created_at=now, updated_at=now)
            ).inserted_primary_key[0]
            self._audit(db, None, by.id, "saved reply added", f"#{new_id} {fields['title']}")
        return self.saved_reply(new_id)

    def update_saved_reply(
        self,
        reply_id: int,
        by: Adviser,
        title: str,
        text: str,
        guidance_slug: str = "",
        guidance_anchor: str = "",
        active: bool = True,
    ) -> Dict:
        """Edit a saved reply, or retire it (``active=False``: advisers no longer find it; its count stays)."""
        if not by.is_supervisor:
            raise HandoffError("only a supervisor can change saved replies")
        self.saved_reply(reply_id)
        fields = self._saved_fields(title, text, guidance_slug, guidance_anchor)
        with self.engine.begin() as db:
            db.execute(
                saved_replies_table.update()
                .where(saved_replies_table.c.id == reply_id)
                .values(**fields, active=bool(active), updated_at=self.clock())
            )
            self._audit(
                db,
                None,
                by.id,
                "saved reply changed" if active else "saved reply retired",
                f"#{reply_id} {fields['title']}",
            )
        return self.saved_reply(reply_id)

    def saved_reply(self, reply_id: int) -> Dict:
        with self.engine.connect() as db:
            row = db.execute(sa.select(saved_replies_table).where(saved_replies_table.c.id == reply_id)).first()
        if not row:
            raise HandoffError(f"there is no saved reply {reply_id}")
        return _saved(row)

    def saved_replies(self, include_retired: bool = False) -> List[Dict]:
        """By title; retired ones only when asked (a supervisor's list)."""
        query = sa.select(saved_replies_table).order_by(saved_replies_table.c.title, saved_replies_table.c.id)
        if not include_retired:
            query = query.where(saved_replies_table.c.active.is_(True))
        with self.engine.connect() as db:
            return [_saved(r) for r in db.execute(query)]

    def use_saved_reply(self, reply_id: int, case: Case) -> Dict:
        """An adviser put the saved reply in a case's reply box: counted, and its text returned with
        ``{name}`` filled in with the person's name (or left out, tidily, without one)."""
        saved = self.saved_reply(reply_id)
        if not saved["active"]:
            raise HandoffError("this saved reply has been retired")
        with self.engine.begin() as db:
            db.execute(
                saved_replies_table.update()
                .where(saved_replies_table.c.id == reply_id)
                .values(uses=saved_replies_table.c.uses + 1)
            )
        return {**saved, "uses": saved["uses"] + 1, "filled": fill_placeholders(saved["text"], case.person_name)}

    # ---- tags and the search of closed cases ---------------------------------------------------

    def tag_list(self, include_retired: bool = False) -> List[Dict]:
        """The supervisors' list of tags, by name (retired ones only when asked)."""
        query = sa.select(tags_table).order_by(tags_table.c.name)
        if not include_retired:
            query = query.where(tags_table.c.active.is_(True))
        with self.engine.connect() as db:
            return [{"id": r.id, "name": r.name, "active": bool(r.active)} for r in db.execute(query)]

    def add_tag(self, by: Adviser, name: str) -> Dict:
        if not by.is_supervisor:
            raise HandoffError("only a supervisor can add tags")
        name = clean_tag(name)
        with self.engine.begin() as db:
            if db.execute(sa.select(tags_table.c.id).where(tags_table.c.name == name)).first():
                raise HandoffError(f"the tag \u201c{name}\u201d is on the list already")
            new_id = db.execute(
                tags_table.insert().values(name=name, active=True, created_at=self.clock())
            ).inserted_primary_key[0]
            self._audit(db, None, by.id, "tag added", name)
        return {"id": new_id, "name": name, "active": True}

    def set_tag_active(self, by: Adviser, tag_id: int, active: bool) -> Dict:
        """Retire a tag (no longer offered; cases keep it) or bring it back."""
        if not by.is_supervisor:
            raise HandoffError("only a supervisor can change the tags")
        with self.engine.begin() as db:
            row = db.execute(sa.select(tags_table).where(tags_table.c.id == tag_id)).first()
            if not row:
                raise HandoffError(f"there is no tag {tag_id}")
            db.execute(tags_table.update().where(tags_table.c.id == tag_id).values(active=bool(active)))
            self._audit(db, None, by.id, "tag brought back" if active else "tag retired", row.name)
        return {"id": row.id, "name": row.name, "active": bool(active)}

    def check_tags(self, tags: Sequence[str]) -> List[str]:
        """``tags``, each one of the list's (in use), or an error naming the first that is not."""
        offered = {t["name"] for t in self.tag_list()}
        out = []
        for tag in tags:
            name = " ".join(str(tag or "").lower().split())
            if not name:
                continue
            if name not in offered:
                raise HandoffError(f"\u201c{name[:40]}\u201d is not one of the tags a supervisor keeps")
            out.append(name)
        return sorted(set(out))

    def set_case_tags(self, case_id: int, by: Adviser, tags: Sequence[str]) -> Case:
        """The case's tags, each from the list; an open case by whoever may act on it, a closed one
        by a supervisor."""
        case = self.case(case_id)
        if case.is_open and case.status == "assigned" and not self.may_act_on(case, by):
            raise HandoffError("another adviser has this case")
        if not case.is_open and not by.is_supervisor:
            raise HandoffError("only a supervisor can change a closed case's tags")
        chosen = self.check_tags(tags)
        with self.engine.begin() as db:
            db.execute(cases_table.update().where(cases_table.c.id == case_id).values(tags=_tag_string(chosen)))
            self._audit(db, case_id, by.id, "tagged", ", ".join(chosen) or "no tags")
        return self.case(case_id)

    def search_closed(
        self,
        tag: str = "",
        text: str = "",
        adviser_id: Optional[int] = None,
        closed_from: Optional[float] = None,
        closed_before: Optional[float] = None,
        limit: int = 200,
    ) -> List[Case]:
        """Closed cases, latest first, carrying ``tag``, with ``text`` in the question, topic, the
        person's name or a note, handled by ``adviser_id``, closed in [closed_from, closed_before)."""
        c = cases_table.c
        query = sa.select(cases_table).where(c.status == "closed")
        tag = " ".join(str(tag or "").lower().split())
        if tag:  # tags are kept as "a,b,c": a whole tag, not part of one
            query = query.where(sa.literal(",").concat(c.tags).concat(",").like(f"%,{_like(tag)},%", escape="\\"))
        words = str(text or "").split()[:8]
        for word in words:
            pattern = f"%{_like(word.lower())}%"
            in_notes = sa.select(notes_table.c.case_id).where(
                sa.func.lower(notes_table.c.text).like(pattern, escape="\\")
            )
            query = query.where(
                sa.or_(
                    sa.func.lower(c.question).like(pattern, escape="\\"),
                    sa.func.lower(c.topic).like(pattern, escape="\\"),
                    sa.func.lower(c.person_name).like(pattern, escape="\\"),
                    c.id.in_(in_notes),
                )
            )
        if adviser_id is not None:
            query = query.where(c.adviser_id == adviser_id)
        if closed_from is not None:
            query = query.where(c.closed_at >= closed_from)
        if closed_before is not None:
            query = query.where(c.closed_at < closed_before)
        with self.engine.connect() as db:
            return [_case(r) for r in db.execute(query.order_by(c.closed_at.desc(), c.id.desc()).limit(limit))]

    # ---- notes and audit ----------------------------------------------------------------

    def add_note(self, case_id: int, adviser: Adviser, text: str) -> None:
        text = text.strip()
        if not text:
            raise HandoffError("a note needs some text")
        self.case(case_id)
        with self.engine.begin() as db:
            db.execute(
                notes_table.insert().values(
                    case_id=case_id, adviser_id=adviser.id, text=text[:4000], created_at=self.clock()
                )
            )
            self._audit(db, case_id, adviser.id, "noted")

    def notes(self, case_id: int) -> List[Dict]:
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(notes_table, advisers_table.c.name)
                .join(advisers_table)
                .where(notes_table.c.case_id == case_id)
                .order_by(notes_table.c.id)
            )
            return [{"text": r.text, "adviser": r.name, "at": r.created_at} for r in rows]

    def audit_trail(self, case_id: int) -> List[Dict]:
        with self.engine.connect() as db:
            rows = db.execute(
                sa.select(audit_table, advisers_table.c.name)
                .outerjoin(
                    advisers_table,
                    audit_table.c.adviser_id == advisers_table.c.id,
                )
                .where(audit_table.c.case_id == case_id)
                .order_by(audit_table.c.id)
            )
            return [{"action": r.action, "detail": r.detail, "adviser": r.name, "at": r.at} for r in rows]

    def _audit(self, db, case_id: Optional[int], adviser_id: Optional[int], action: str, detail: str = "") -> None:
        db.execute(
            audit_table.insert().values(
                case_id=case_id, adviser_id=adviser_id, action=action, detail=detail[:500], at=self.clock()
            )
        )

    # ---- export, retention and erasure ------------------------------------------------------

    def export_closed_csv(self) -> str:
        names = {a.id: a.name for a in self.advisers()}
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["case", "channel", "opened", "closed", "adviser", "outcome", "tags", "topic", "rating", "question"]
        )
        for case in self.cases("closed", limit=100000):
            writer.writerow(
                [
                    case.id,
                    case.channel,
                    _iso(case.created_at),
                    _iso(case.closed_at),
                    names.get(case.adviser_id, ""),
                    case.outcome,
                    case.tags,
                    case.topic,
                    case.rating or "",
                    _csv_safe(case.question),
                ]
            )
        return out.getvalue()

    def conversations_of_closed_cases_before(self, cutoff: float) -> List[str]:
        with self.engine.connect() as db:
            return [
                r.conversation_id
                for r in db.execute(
                    sa.select(cases_table.c.conversation_id)
                    .where(cases_table.c.status == "closed", cases_table.c.closed_at < cutoff)
                    .distinct()
                )
            ]

    def delete_closed_before(self, cutoff: float) -> int:
        """Remove closed cases (with their notes) closed before ``cutoff``; the count removed."""
        with self.engine.begin() as db:
            ids = [
                r.id
                for r in db.execute(
                    sa.select(cases_table.c.id).where(
                        cases_table.c.status == "closed", cases_table.c.closed_at < cutoff
                    )
                )
            ]
            return self._delete_cases(db, ids, "retention")

    def delete_conversation(self, conversation_id: str, by: Optional[Adviser] = None) -> int:
        """Erase every case of a conversation, its notes and the personal parts of its audit trail."""
        with self.engine.begin() as db:
            ids = [
                r.id
                for r in db.execute(sa.select(cases_table.c.id).where(cases_table.c.conversation_id == conversation_id))
            ]
            return self._delete_cases(db, ids, "erased on request", by)

    def _delete_cases(self, db, ids: List[int], why: str, by: Optional[Adviser] = None) -> int:
        if not ids:
            return 0
        db.execute(notes_table.delete().where(notes_table.c.case_id.in_(ids)))
        db.execute(replies_table.delete().where(replies_table.c.case_id.in_(ids)))
        db.execute(transfers_table.delete().where(transfers_table.c.case_id.in_(ids)))
        db.execute(audit_table.delete().where(audit_table.c.case_id.in_(ids)))
        db.execute(cases_table.delete().where(cases_table.c.id.in_(ids)))
        self._audit(db, None, by.id if by else None, "deleted cases", f"{len(ids)} case(s): {why}")
        return len(ids)


def clean_tag(name: str) -> str:
    """A tag as kept: lower case, single spaces, letters, digits, spaces and hyphens, 1-40 long."""
    import re

    name = " ".join(str(name or "").lower().split())
    if not name or len(name) > 40 or not re.fullmatch(r"[a-z0-9][a-z0-9 \-]*", name):
        raise HandoffError("a tag is 1 to 40 letters, digits, spaces or hyphens")
    return name


def _tag_string(tags: Sequence[str]) -> str:
    return ",".join(sorted({" ".join(str(t).lower().split())[:40] for t in tags if t and str(t).strip()}))[:500]


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _saved(row) -> Dict:
    return {
        "id": row.id,
        "title": row.title,
        "text": row.text,
        "guidance_slug": row.guidance_slug,
        "guidance_anchor": row.guidance_anchor,
        "active": bool(row.active),
        "uses": row.uses,
        "updated_at": row.updated_at,
    }


def fill_placeholders(text: str, name: str) -> str:
    """``{name}`` becomes the person's name; without one it goes, with the space or comma before it
    ("Hello {name}," reads "Hello,")."""
    import re

    name = " ".join(str(name or "").split())
    if name:
        return text.replace("{name}", name)
    text = re.sub(r"[ \t]*\{name\}", "", text).replace(" ,", ",")
    return re.sub(r"^,\s*", "", text)


def _adviser(row) -> Adviser:
    return Adviser(row.id, row.name, row.email, row.role, bool(row.active), row.available_since is not None)


def _case(row) -> Case:
    return Case(**{f.name: getattr(row, f.name) for f in dataclasses.fields(Case)})


def _iso(ts: Optional[float]) -> str:
    if not ts:
        return ""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))


def _csv_safe(text: str) -> str:
    """Keep a spreadsheet from running a cell as a formula."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text
