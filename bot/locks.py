"""Rasa's lock store, chosen by one URL (``lock_store.url`` in endpoints.yml, from
``MUTUALS_LOCK_STORE_URL``).

Rasa handles one message of a conversation at a time by taking a ticket lock on the
conversation. With one Rasa server the locks can live in its memory; with several behind a
load balancer they must be shared, or two servers could run turns of one conversation at once
and save trackers over each other. So:

- empty: Rasa's ``InMemoryLockStore`` (one Rasa server);
- ``redis://[user:password@]host[:port][/db]`` (``rediss://`` for TLS): Rasa's ``RedisLockStore``
  with keys under ``mutuals:lock:``.

A lock taken by a server that then dies stays in Redis until its ticket expires
(``TICKET_LOCK_LIFETIME``, set from ``MUTUALS_TURN_LOCK_SECONDS``, 20 s): until then a retried
message of that one conversation waits on another server.
"""
from __future__ import annotations

from typing import Any, Optional
from urllib.parse import unquote, urlsplit

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

KEY_PREFIX = "mutuals"


def lock_store_for(url: Optional[str]) -> LockStore:
    """The lock store a URL names (see the module's docstring)."""
    url = (url or "").strip()
    if not url or url == "in_memory":
        return InMemoryLockStore()
    parts = urlsplit(url)
    if parts.scheme not in ("redis", "rediss"):
        raise ValueError(f"MUTUALS_LOCK_STORE_URL must be empty or redis://host:port/db, not {url!r}")
    db = parts.path.strip("/") or "0"
    if not db.isdigit():
        raise ValueError(f"the Redis database in MUTUALS_LOCK_STORE_URL must be a number, not {db!r}")
    return RedisLockStore(
        host=parts.hostname or "localhost", port=parts.port or 6379, db=int(db),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_ssl=parts.scheme == "rediss", key_prefix=KEY_PREFIX)


class UrlLockStore(LockStore):
    """``type: bot.locks.UrlLockStore`` with ``url:`` in endpoints.yml. Rasa calls the class with
    the endpoint's configuration; what it gets back is Rasa's own in-memory or Redis lock store."""

    def __new__(cls, endpoint_config: Any = None, url: Optional[str] = None, **kwargs: Any) -> LockStore:
        if url is None and endpoint_config is not None:
            url = getattr(endpoint_config, "url", None)
        return lock_store_for(url)


def install_patient_tickets() -> None:
    """Rasa 3.6's ticket lock can wait forever. A ticket's lifetime runs from when it is issued,
    waiting included, so a message that queues behind a turn whose server died is served only if
    its own ticket outlives the dead one by more than the 1 s between checks. Messages that
    arrive within a second of each other (a retry right after the crash) expire together, the lock
    is left with nobody to serve, and the waiting turn hangs until the channel times out.

    Here a waiting ticket keeps its place: every check renews it, and it gets its full lifetime
    from the moment it is served. A ticket lost while waiting (expired because this server
    stalled, or overwritten by another server's write, as Rasa saves locks without a transaction)
    is put back in its place by number. A server that dies stops renewing, so its tickets still
    lapse after ``TICKET_LOCK_LIFETIME``."""
    import asyncio
    import time
    from collections import deque

    from rasa.core import lock_store as rasa_locks
    from rasa.core.lock import Ticket

    async def _acquire_lock(self, conversation_id, ticket, wait_time_in_seconds):
        while True:
            lock = self.get_or_create_lock(conversation_id)
            lock.remove_expired_tickets()
            mine = next((t for t in lock.tickets if t.number == ticket), None)
            if mine is None:
                mine = Ticket(ticket, 0.0)
                lock.tickets = deque(sorted([*lock.tickets, mine], key=lambda t: t.number))
            mine.expires = time.time() + rasa_locks.LOCK_LIFETIME
            self.save_lock(lock)
            if lock.tickets[0].number == ticket:
                return lock
            await asyncio.sleep(wait_time_in_seconds)

    rasa_locks.LockStore._acquire_lock = _acquire_lock
