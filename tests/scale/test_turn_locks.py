"""A message waiting for its conversation's lock behind a turn whose Rasa server died gets its
turn once the dead server's ticket lapses, however close together the two arrived
(bot/rasa_patches/patient_tickets.py; Rasa 3.6's own lock could leave it waiting for ever)."""

from __future__ import annotations

import asyncio
import time

import pytest

from bot.locks import lock_store_for
from bot.rasa_patches.patient_tickets import install as install_patient_tickets
from tests.support.servers import redis_server

pytestmark = pytest.mark.slow  # starts processes and waits out their timings: seconds a test

LIFETIME = 2.0


@pytest.fixture
def short_tickets(monkeypatch):
    from rasa.core import lock_store as rasa_locks

    monkeypatch.setattr(rasa_locks, "LOCK_LIFETIME", LIFETIME)
    monkeypatch.setattr(rasa_locks.LockStore, "_acquire_lock", rasa_locks.LockStore._acquire_lock)
    install_patient_tickets()


async def wait_behind_a_dead_server(dead_server, live_server, conversation_id: str) -> float:
    dead_server.issue_ticket(conversation_id, LIFETIME)  # took the lock, then died: never releases it
    started = time.monotonic()
    async with live_server.lock(conversation_id, LIFETIME, wait_time_in_seconds=0.2):
        waited = time.monotonic() - started
    return waited


def test_a_message_behind_a_dead_servers_turn_is_served_when_its_ticket_lapses(short_tickets):
    with redis_server() as url:
        dead, live = lock_store_for(f"{url}/0"), lock_store_for(f"{url}/0")
        waited = asyncio.run(asyncio.wait_for(wait_behind_a_dead_server(dead, live, "c-redis"), 20))
        assert LIFETIME - 0.5 < waited < LIFETIME + 2, waited  # the dead ticket's lifetime, not for ever
        # and the lock is left free for the conversation's next message
        assert asyncio.run(asyncio.wait_for(wait_behind_a_dead_server(live, dead, "c-next"), 20)) < LIFETIME + 2


def test_in_memory_too_and_turns_still_take_turns(short_tickets):
    store = lock_store_for("")
    assert asyncio.run(asyncio.wait_for(wait_behind_a_dead_server(store, store, "c-memory"), 20)) < LIFETIME + 2

    async def two_turns_of_one_conversation():
        order = []

        async def turn(name):
            async with store.lock("c-order", LIFETIME, wait_time_in_seconds=0.05):
                order.append(f"{name} starts")
                await asyncio.sleep(0.3)
                order.append(f"{name} ends")

        await asyncio.gather(turn("first"), turn("second"))
        return order

    assert asyncio.run(two_turns_of_one_conversation()) == [
        "first starts",
        "first ends",
        "second starts",
        "second ends",
    ]
