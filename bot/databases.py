"""Checking that a database named by a SQLAlchemy URL can be reached, and naming it safely."""
from __future__ import annotations

import time
from typing import Optional

import sqlalchemy as sa
from sqlalchemy.engine import make_url


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
