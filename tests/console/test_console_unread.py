"""The queue flags what a person writes in a case already there, through the console's JSON API:
the channels' HandoffGate counts the message on the case, the queue says how many are new and
when the last came, and opening the case (or answering it) clears it. Rasa is stood in for by a
desk that reads the conversation from a list; everything else is the real store and routes."""
from __future__ import annotations

import asyncio
from typing import Any, Dict, List

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.channels._handoff import HandoffGate
from bot.console import COOKIE, add_console
from bot.handoff import AdviserDesk, HandoffStore, RasaUnavailable


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


class ConversationDesk(AdviserDesk):
    """An adviser's desk whose Rasa is a list of events (``down``: Rasa cannot be reached)."""

    def __init__(self, store: HandoffStore):
        super().__init__(None, store)
        self.events: Dict[str, List[Dict[str, Any]]] = {}
        self.down = False

    async def tracker(self, conversation_id: str) -> Dict[str, Any]:
        if self.down:
            raise RasaUnavailable("the assistant cannot be reached (ClientConnectorError)")
        return {"events": list(self.events.get(conversation_id, []))}

    async def append(self, conversation_id: str, events, output_channel=None) -> None:
        self.events.setdefault(conversation_id, []).extend(events)


@pytest.fixture
def console(tmp_path):
    clock = Clock()
    store = HandoffStore(f"sqlite:///{tmp_path / 'handoffs.db'}", clock=clock)
    desk = ConversationDesk(store)
    gate = HandoffGate()
    gate._store = store  # the channels' gate, on this store (in the Rasa server it opens the same database)
    app = web.Application()
    add_console(app, store, desk)

    class Console:
        pass

    c = Console()
    c.store, c.desk, c.gate, c.app, c.clock = store, desk, gate, app, clock
    c.ann = store.add_adviser("Ann Adviser", "ann@example.org", "adviser", "h1")
    c.sue = store.add_adviser("Sue Supervisor", "sue@example.org", "supervisor", "h2")
    return c


class Adviser:
    def __init__(self, client: TestClient, store: HandoffStore, adviser):
        token, self.csrf = store.start_session(adviser)
        self.client, self.cookie = client, f"{COOKIE}={token}"

    async def get(self, path: str) -> Any:
        async with self.client.get(f"/console/api{path}", headers={"Cookie": self.cookie}) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def post(self, path: str, body: Any = None) -> Any:
        async with self.client.post(f"/console/api{path}", json=body,
                                    headers={"Cookie": self.cookie, "X-CSRF-Token": self.csrf}) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def row(self, view: str, case_id: int) -> Dict[str, Any]:
        [found] = [c for c in (await self.get("/cases"))[view] if c["id"] == case_id]
        return found


async def person_writes(console, conversation_id: str, text: str) -> None:
    """What the turn of a message does while the conversation is handed off
    (bot/channels/_admission.run_checked_turn): the gate sees it first, counts it on the case, then
    Rasa logs it (and, paused, says nothing)."""
    assert await console.gate.intercept(None, conversation_id, text) is None
    await console.gate.count(conversation_id, text)
    console.desk.events.setdefault(conversation_id, []).append(
        {"event": "user", "text": text, "timestamp": console.clock.now, "parse_data": {}})


def test_the_queue_flags_a_follow_up_until_the_case_is_opened(console):
    store, clock = console.store, console.clock
    case = store.open_case("web-sam", "socketio", "Can we pay our members a dividend?", "Sam")

    async def scenario():
        async with TestClient(TestServer(console.app)) as client:
            ann, sue = Adviser(client, store, console.ann), Adviser(client, store, console.sue)
            row = await ann.row("waiting", case.id)
            assert row["unread_messages"] == 0 and row["last_person_message_at"] is None

            # the person writes while waiting: the queue says so, with when
            clock.now += 90
            await person_writes(console, "web-sam", "Hello? Is anyone there?")
            row = await ann.row("waiting", case.id)
            assert row["unread_messages"] == 1 and row["last_person_message_at"] == clock.now

            # Ann opens it: she reads the message, and the flag is gone for everyone
            shown = await ann.get(f"/cases/{case.id}")
            assert [t["text"] for t in shown["transcript"]] == ["Hello? Is anyone there?"]
            assert shown["case"]["unread_messages"] == 0
            assert (await sue.row("waiting", case.id))["unread_messages"] == 0

            # claimed by Ann, the person writes twice more: flagged in her "mine" list
            await ann.post(f"/cases/{case.id}/claim")
            for text in ("We have 40 members.", "Most of them are staff."):
                clock.now += 10
                await person_writes(console, "web-sam", text)
            row = await ann.row("mine", case.id)
            assert row["unread_messages"] == 2 and row["last_person_message_at"] == clock.now
            assert (await sue.row("others", case.id))["unread_messages"] == 2

            # a supervisor looking in does not clear it for Ann; Rasa down: nothing shown, nothing cleared
            await sue.get(f"/cases/{case.id}")
            console.desk.down = True
            shown = await ann.get(f"/cases/{case.id}")
            assert shown["transcript_error"] and shown["case"]["unread_messages"] == 2
            assert (await ann.row("mine", case.id))["unread_messages"] == 2
            console.desk.down = False

            # Ann opens it: cleared, and her look is recorded
            clock.now += 5
            shown = await ann.get(f"/cases/{case.id}")
            assert "Most of them are staff." in [t["text"] for t in shown["transcript"]]
            assert (await ann.row("mine", case.id))["unread_messages"] == 0
            assert store.case(case.id).adviser_seen_at == clock.now

            # another message, answered without opening the case again: answering clears it too
            await person_writes(console, "web-sam", "Can we?")
            assert (await ann.row("mine", case.id))["unread_messages"] == 1
            await ann.post(f"/cases/{case.id}/reply", {"text": "Yes, from your surplus."})
            assert (await ann.row("mine", case.id))["unread_messages"] == 0

            # "cancel" takes the person out of the queue and is not a new message; a closed case has none
            await person_writes(console, "web-sam", "Thanks")
            assert await console.gate.intercept(None, "web-sam", "cancel") is not None
            row = await ann.row("closed", case.id)
            assert row["unread_messages"] == 0 and row["outcome"] == "cancelled"

    asyncio.run(scenario())


def test_a_message_outside_a_handoff_or_with_the_store_failing_still_goes_to_rasa(console, monkeypatch):
    async def scenario():
        # no case: nothing counted, nothing intercepted
        await person_writes(console, "just-chatting", "What is a co-operative?")
        assert console.store.cases("waiting") == []
        # the handoff store failing loses the queue's flag, never the person's message
        case = console.store.open_case("web-kim", "socketio", "q")

        def fail(_conversation_id):
            raise RuntimeError("database is locked")
        monkeypatch.setattr(console.store, "record_person_message", fail)
        await person_writes(console, "web-kim", "Are you there?")
        assert console.store.case(case.id).status == "waiting"

    asyncio.run(scenario())
