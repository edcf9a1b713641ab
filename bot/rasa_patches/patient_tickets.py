"""Patch: ``rasa.core.lock_store.LockStore._acquire_lock`` (private), replaced.

Why: Rasa 3.6's ticket lock can wait forever. A ticket's lifetime runs from when it is issued,
waiting included, so a message that queues behind a turn whose server died is served only if
its own ticket outlives the dead one by more than the 1 s between checks. Messages that arrive
within a second of each other (a retry right after the crash) expire together, the lock is left
with nobody to serve, and the waiting turn hangs until the channel times out.

Here a waiting ticket keeps its place: every check renews it, and it gets its full lifetime from
the moment it is served. A ticket lost while waiting (expired because this server stalled, or
overwritten by another server's write, as Rasa saves locks without a transaction) is put back in
its place by number. A server that dies stops renewing, so its tickets still lapse after
``LOCK_LIFETIME``. It replaces rather than wraps: the waiting loop itself is what changes.
Pinned by tests/scale/test_turn_locks.py.
"""

from __future__ import annotations

from ._marks import installed, mark

NAME = "patient_tickets"
HOW = "replaces (the waiting loop is the change)"
ATTRIBUTES = ["rasa.core.lock_store:LockStore._acquire_lock"]
TARGETS = ATTRIBUTES + [
    "rasa.core.lock_store:LockStore.lock",
    "rasa.core.lock_store:LockStore.update_lock",
    "rasa.core.lock:TicketLock",
    "rasa.core.lock:Ticket",
]


def install() -> None:
    import asyncio
    import time
    from collections import deque

    from rasa.core import lock_store as rasa_locks
    from rasa.core.lock import Ticket

    original = rasa_locks.LockStore._acquire_lock
    if installed(original, NAME):
        return

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

    rasa_locks.LockStore._acquire_lock = mark(_acquire_lock, NAME, original)
