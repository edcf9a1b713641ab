"""The queue flags what a person writes in a case already there, through the console's JSON API:
the channels' HandoffGate counts the message on the case, the queue says how many are new and
when the last came, and opening the case (or answering it) clears it. Rasa is stood in for by a
desk that reads the conversation from a list; everything else is the real store and routes."""

from __future__ import annotations

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from tests.support.console_desk import Adviser, person_writes


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
