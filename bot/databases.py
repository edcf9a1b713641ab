"""The project's own connections to a database named by a SQLAlchemy URL (:func:`engine_for`),
checking that one can be reached, and naming it safely."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import make_url


SQLITE_BUSY_SECONDS = 15  # how long a write waits for another process's to finish before failing


def engine_for(url: str, keep_connections: bool = True) -> sa.engine.Engine:
    """The engine for a database the project reads and writes itself (the handoff store, the
    insights, erasure and retention in the tracker store); Rasa's tracker store makes its own
    (``bot/trackers.py``).

    SQLite: the file's folder is made, connections may be used by another thread than made them
    (never by two at once), a write waits up to ``SQLITE_BUSY_SECONDS`` for another process's, and
    each connection uses WAL with foreign keys on. With ``keep_connections`` a file keeps four
    connections open (SQLAlchemy 1.4 would open it, set the pragmas and checkpoint the WAL on
    closing for every query: the channels read the handoff store on every message), and never waits
    for one; without, each use opens the file, for a database another process keeps open and writes
    (the tracker store). A transaction still ends with each query, so every read sees other
    processes' commits. Other databases: connections checked before use (``pool_pre_ping``)."""
    target = make_url(url)
    if not target.drivername.startswith("sqlite"):
        return sa.create_engine(url, future=True, pool_pre_ping=True)
    memory = target.database in (None, "", ":memory:")
    if not memory:
        Path(target.database).parent.mkdir(parents=True, exist_ok=True)
    if memory:
        pooling = {"poolclass": sa.pool.StaticPool}  # one connection: the database lives in it
    elif keep_connections:
        pooling = {"poolclass": sa.pool.QueuePool, "pool_size": 4, "max_overflow": -1}
    else:
        pooling = {"poolclass": sa.pool.NullPool}
    engine = sa.create_engine(
        url, future=True, **pooling, connect_args={"check_same_thread": False, "timeout": SQLITE_BUSY_SECONDS}
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(connection, _):
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    return engine


class DatabaseUnreachable(RuntimeError):
    """A database the assistant needs cannot be reached; the message names it (without its password)."""


def describe(url: str) -> str:
    """The URL with any password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "(an unreadable database URL)"


def unreachable_reason(url: str, timeout: float = 5.0) -> Optional[str]:
    """Why the database cannot be reached, or ``None`` when a connection works."""
    try:
        target = make_url(url)
    except Exception as exc:
        return f"the URL is not a valid database URL ({exc})"
    if target.drivername.startswith("sqlite"):
        return None  # a file: created on first use
    connect_args = {"connect_timeout": int(max(timeout, 1))} if target.drivername.startswith("postgres") else {}
    engine = sa.create_engine(url, connect_args=connect_args, poolclass=sa.pool.NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
        return None
    except Exception as exc:
        reason = str(getattr(exc, "orig", exc)).strip().splitlines()
        return reason[0] if reason else exc.__class__.__name__
    finally:
        engine.dispose()


def require(url: str, what: str, wait_seconds: float = 0.0) -> None:
    """Raise :class:`DatabaseUnreachable` naming ``what`` unless the database answers within ``wait_seconds``."""
    deadline = time.monotonic() + wait_seconds
    while True:
        reason = unreachable_reason(url)
        if reason is None:
            return
        if time.monotonic() >= deadline:
            raise DatabaseUnreachable(f"cannot reach the {what} database at {describe(url)}: {reason}")
        time.sleep(1.0)
