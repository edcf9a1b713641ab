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
message of that one conversation waits on another server (the waiting ticket keeps its place:
``bot.rasa_patches.patient_tickets``).
"""

from __future__ import annotations

from typing import Any, Optional
from urllib.parse import unquote, urlsplit

from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore

from bot.settings import REDIS_KEY_PREFIX as KEY_PREFIX


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
        host=parts.hostname or "localhost",
        port=parts.port or 6379,
        db=int(db),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_ssl=parts.scheme == "rediss",
        key_prefix=KEY_PREFIX,
    )


class UrlLockStore(LockStore):
    """``type: bot.locks.UrlLockStore`` with ``url:`` in endpoints.yml. Rasa calls the class with
    the endpoint's configuration; what it gets back is Rasa's own in-memory or Redis lock store."""

    def __new__(cls, endpoint_config: Any = None, url: Optional[str] = None, **kwargs: Any) -> LockStore:
        if url is None and endpoint_config is not None:
            url = getattr(endpoint_config, "url", None)
        return lock_store_for(url)
