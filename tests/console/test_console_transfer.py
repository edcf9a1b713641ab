"""Handing a case over and tagging it, through the console's JSON API: an adviser passes a case to
a colleague or back to the queue with a note the person never sees, the colleague is told in their
queue and on the case, the person is told their case passed on (with the web chat's status line);
tags come from the supervisors' list, and supervisors search closed cases by tag, text, adviser
and date. Rasa is a list of events (test_console_unread's desk); the store and routes are real."""

from __future__ import annotations

import asyncio
import datetime
from zoneinfo import ZoneInfo

from bot.handoff import adviser_event, waiting_event

from tests.support.console_desk import Adviser, said, served


async def call(client, who, method, path, body=None):
    headers = {"Cookie": who.cookie, "X-CSRF-Token": who.csrf}
    async with client.request(method, f"/console/api{path}", json=body, headers=headers) as r:
        return r.status, await r.json()


def person_saw(console, conversation_id):
    """Everything put in the conversation for the person, as text."""
    return " ".join(text for text, _ in said(console, conversation_id))


def test_an_adviser_hands_a_case_to_a_colleague_who_is_told(console):
    store = console.store
    bob = store.add_adviser("Bob Adviser", "bob@example.org", "adviser", "h3")
    case = store.open_case("web-priya", "socketio", "Can we keep the LGPS?", person_name="Priya")
    later = store.open_case("web-later", "socketio", "What is a CIC?")

    async def scenario():
        async with served(console) as client:
            ann, bob_, sue = (Adviser(client, store, a) for a in (console.ann, bob, console.sue))
            await ann.post(f"/cases/{case.id}/claim")
            # only the adviser who has it (or a supervisor) hands it on, and never without a note
            assert (await call(client, bob_, "POST", f"/cases/{case.id}/transfer", {"to": bob.id, "note": "x"}))[
                0
            ] == 409
            status, body = await call(client, ann, "POST", f"/cases/{case.id}/transfer", {"to": bob.id, "note": "  "})
            assert status == 409 and "note" in body["error"]
            for bad in (
                {"to": "bob", "note": "n"},
                {"to": 999, "note": "n"},
                {"to": bob.id},
                {"to": True, "note": "n"},
            ):
                assert (await call(client, ann, "POST", f"/cases/{case.id}/transfer", bad))[0] == 400, bad
            async with client.post(
                f"/console/api/cases/{case.id}/transfer",
                json={"to": bob.id, "note": "n"},
                headers={"Cookie": ann.cookie},
            ) as r:
                assert r.status == 403  # no CSRF token: refused

            colleagues = (await ann.get(f"/cases/{case.id}"))["colleagues"]
            assert [c["name"] for c in colleagues] == ["Bob Adviser", "Sue Supervisor"]  # not Ann herself
            note = "She is asking about admitted body status; I have sent the LGPS page."
            await ann.post(f"/cases/{case.id}/transfer", {"to": bob.id, "note": note})
            assert store.case(case.id).adviser_id == bob.id and store.case(case.id).status == "assigned"

            # the person is told, and their status line names Bob; the note never reaches them
            assert (
                "Your case has passed to Bob Adviser, another adviser, who will carry on the conversation here.",
                adviser_event("Bob Adviser"),
            ) in said(console, "web-priya")
            assert "admitted body" not in person_saw(console, "web-priya")
            assert console.gate.status("web-priya") == adviser_event("Bob Adviser")

            # Bob is told in his queue, with who and the note, until he opens the case
            [row] = [c for c in (await bob_.get("/cases"))["mine"] if c["id"] == case.id]
            assert row["handed_to_me"]["from"] == "Ann Adviser" and row["handed_to_me"]["note"] == note
            shown = await bob_.get(f"/cases/{case.id}")
            assert shown["transfer"]["from"] == "Ann Adviser" and shown["transfer"]["to"] == "Bob Adviser"
            assert shown["transfer"]["note"] == note and shown["may_act"] is True
            assert f"Handed to Bob Adviser: {note}" in [n["text"] for n in shown["notes"]]  # kept with the notes
            assert "handed over" in [a["action"] for a in shown["audit"]]
            [row] = [c for c in (await bob_.get("/cases"))["mine"] if c["id"] == case.id]
            assert row["handed_to_me"] is None  # opened: he has been told
            # Ann no longer has it
            assert case.id not in [c["id"] for c in (await ann.get("/cases"))["mine"]]
            assert (await ann.get(f"/cases/{case.id}"))["may_act"] is False

            # Bob hands it back to the queue: ahead of the person who came later, who moves down
            await bob_.post(f"/cases/{case.id}/transfer", {"to": None, "note": "Needs a pensions specialist."})
            waiting = (await sue.get("/cases"))["waiting"]
            assert [c["id"] for c in waiting] == [case.id, later.id]
            assert waiting[0]["handed_back"]["from"] == "Bob Adviser"
            assert waiting[0]["handed_back"]["note"] == "Needs a pensions specialist."
            assert waiting[1]["handed_back"] is None
            assert (
                "Your case has gone back to the advisers' queue: you're next in the queue, and the next adviser "
                "free will carry on the conversation here.",
                waiting_event(1),
            ) in said(console, "web-priya")
            assert said(console, "web-later")[-1] == ("", waiting_event(2))
            assert console.gate.status("web-priya") == waiting_event(1)
            status, body = await call(client, bob_, "POST", f"/cases/{case.id}/transfer", {"to": None, "note": "n"})
            assert status == 409 and "already in the queue" in body["error"]

            # claimed again: the first wait is what counts for the likely wait
            first_claim = store.case(case.id).claimed_at
            console.clock.now += 300
            await sue.post(f"/cases/{case.id}/claim")
            assert store.case(case.id).claimed_at == first_claim

            # a supervisor reassigning tells the new adviser too
            await sue.post(f"/cases/{case.id}/assign", {"adviser_id": console.ann.id})
            [row] = [c for c in (await ann.get("/cases"))["mine"] if c["id"] == case.id]
            assert row["handed_to_me"]["from"] == "Sue Supervisor"

    asyncio.run(scenario())


def test_tags_come_from_the_supervisors_list_and_closed_cases_are_searched(console):
    store, clock = console.store, console.clock
    zone = ZoneInfo("Europe/London")
    bob = store.add_adviser("Bob Adviser", "bob@example.org", "adviser", "h3")

    async def scenario():
        clock.now = datetime.datetime(2027, 3, 20, 12, tzinfo=zone).timestamp()  # the sessions start "now"
        async with served(console) as client:
            ann, bob_, sue = (Adviser(client, store, a) for a in (console.ann, bob, console.sue))
            # the list is kept by supervisors
            assert (await call(client, ann, "POST", "/tags", {"name": "pensions"}))[0] == 403
            for name in ("Pensions", "TUPE", "registration"):
                await sue.post("/tags", {"name": name})
            status, body = await call(client, sue, "POST", "/tags", {"name": "pensions "})
            assert status == 409 and "already" in body["error"]
            status, body = await call(client, sue, "POST", "/tags", {"name": "<b>"})
            assert status == 409 and "letters" in body["error"]
            assert [t["name"] for t in (await ann.get("/tags"))["tags"]] == ["pensions", "registration", "tupe"]

            def opened(conversation, question, name, days_ago):
                clock.now = datetime.datetime(2027, 3, 20, 12, tzinfo=zone).timestamp() - days_ago * 86400
                return store.open_case(conversation, "socketio", question, person_name=name)

            old = opened("c-old", "How do staff pensions move across?", "Priya", 10)
            await ann.post(f"/cases/{old.id}/claim")
            # tags on an open case, each from the list
            status, body = await call(client, ann, "POST", f"/cases/{old.id}/tags", {"tags": ["pensions", "holidays"]})
            assert status == 409 and "holidays" in body["error"] and store.case(old.id).tags == ""
            await ann.post(f"/cases/{old.id}/tags", {"tags": ["pensions", "TUPE"]})
            assert store.case(old.id).tags == "pensions,tupe"
            assert (await call(client, bob_, "POST", f"/cases/{old.id}/tags", {"tags": []}))[0] == 409  # Ann's case
            assert (await call(client, ann, "POST", f"/cases/{old.id}/tags", {"tags": "pensions"}))[0] == 400
            await ann.post(f"/cases/{old.id}/note", {"text": "Sent the admitted body page"})
            await ann.post(f"/cases/{old.id}/close", {"outcome": "answered"})  # no tags given: it keeps its own
            assert store.case(old.id).tags == "pensions,tupe"

            new = opened("c-new", "How do we register a co-operative?", "Tom", 1)
            await bob_.post(f"/cases/{new.id}/claim")
            status, body = await call(
                client, bob_, "POST", f"/cases/{new.id}/close", {"outcome": "answered", "tags": ["made-up"]}
            )
            assert status == 409 and store.case(new.id).is_open
            await bob_.post(f"/cases/{new.id}/close", {"outcome": "referred", "tags": ["registration"]})
            open_one = opened("c-open", "Pensions again", "Kim", 0)

            # a retired tag is no longer offered; the cases that have it keep it
            [tupe] = [t for t in (await sue.get("/tags"))["tags"] if t["name"] == "tupe"]
            await sue.post(f"/tags/{tupe['id']}", {"active": False})
            assert "tupe" not in [t["name"] for t in (await ann.get("/tags"))["tags"]]
            assert "tupe" in [t["name"] for t in (await sue.get("/tags?all=1"))["tags"]]
            assert (await call(client, ann, "POST", f"/cases/{open_one.id}/tags", {"tags": ["tupe"]}))[0] == 409

            async def search(query):
                return [c["id"] for c in (await sue.get("/closed-cases" + query))["cases"]]

            assert await search("") == [new.id, old.id]  # closed only, latest first
            assert await search("?tag=pensions") == [old.id]
            assert await search("?tag=pension") == []  # a whole tag, not part of one
            assert await search("?tag=tupe") == [old.id]  # retired, still searchable
            assert await search("?q=co-operative") == [new.id]
            assert await search("?q=admitted+body") == [old.id]  # in a note
            assert await search("?q=PRIYA") == [old.id]
            assert await search("?q=100%25") == []  # LIKE's wildcards are only letters here
            assert await search(f"?adviser={bob.id}") == [new.id]
            assert await search("?from=2027-03-15") == [new.id]
            assert await search("?to=2027-03-15") == [old.id]
            assert await search("?from=2027-03-10&to=2027-03-10") == [old.id]  # the whole of that day
            assert await search(f"?tag=registration&adviser={console.ann.id}") == []
            for bad in ("?from=yesterday", "?adviser=bob", "?adviser=0", "?to=2027-02-30"):
                assert (await call(client, sue, "GET", "/closed-cases" + bad))[0] == 400, bad
            status, body = await call(client, ann, "GET", "/closed-cases")
            assert status == 403 and "supervisor" in body["error"]

            # a supervisor may correct a closed case's tags; an adviser may not
            assert (await call(client, ann, "POST", f"/cases/{old.id}/tags", {"tags": ["pensions"]}))[0] == 409
            await sue.post(f"/cases/{old.id}/tags", {"tags": ["pensions"]})
            assert store.case(old.id).tags == "pensions"

    asyncio.run(scenario())


def test_the_console_pages_for_tags_and_search_need_a_session(console):
    async def scenario():
        async with served(console) as client:
            for path in ("/console/tags", "/console/search"):
                async with client.get(path, allow_redirects=False) as r:
                    assert r.status == 303 and r.headers["Location"] == "/console/login", path
            for path in ("/console/api/tags", "/console/api/closed-cases"):
                async with client.get(path) as r:
                    assert r.status == 401, path

    asyncio.run(scenario())
