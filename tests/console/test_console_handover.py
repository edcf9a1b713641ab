"""The hand-over as the person sees it, through the console's JSON API: advisers available or away,
the web chat's status line as a case is claimed, moves up the queue and passes to another adviser,
"cancel" once an adviser has joined, the transcript as the person saw it, and the guidance an
adviser used recorded with the reply. Rasa is a list of events (test_console_unread's desk); the
store, routes and the channels' gate are the real ones."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.channels._handoff import ENDED_WITH_ADVISER, LEFT_THE_QUEUE
from bot.handoff import adviser_event, ended_event, waiting_event

from tests.support.console_desk import LGPS, LGPS_STAY, Adviser, person_writes, said, served


def test_an_adviser_sets_themselves_available_or_away_and_signing_out_is_away(console):
    async def scenario():
        async with served(console) as client:
            ann = Adviser(client, console.store, console.ann)
            assert (await ann.get("/me"))["available"] is False
            async with client.post(
                "/console/api/me/availability", json={"available": True}, headers={"Cookie": ann.cookie}
            ) as r:
                assert r.status == 403  # a change without the session's CSRF token
            assert console.store.available_advisers() == []
            assert await ann.post("/me/availability", {"available": True}) == {
                "available": True,
                "available_advisers": ["Ann Adviser"],
            }
            assert (await ann.get("/me"))["available"] is True
            async with client.post(
                "/console/api/me/availability",
                json={"available": "yes"},
                headers={"Cookie": ann.cookie, "X-CSRF-Token": ann.csrf},
            ) as r:
                assert r.status == 400
            async with client.post("/console/logout", headers={"Cookie": ann.cookie, "X-CSRF-Token": ann.csrf}) as r:
                assert r.status == 200
            assert console.store.adviser(console.ann.id).available is False

    asyncio.run(scenario())


def test_the_status_line_follows_the_case_and_others_move_up_the_queue(console):
    store = console.store
    first = store.open_case("web-1", "socketio", "How do pensions transfer?")
    store.open_case("web-2", "socketio", "Can we pay bonuses?")
    over_rest = store.open_case("rest-3", "rest", "What is a CIC?")
    bob = store.add_adviser("Bob Adviser", "bob@example.org", "adviser", "h3")

    async def scenario():
        async with served(console) as client:
            ann, sue = Adviser(client, store, console.ann), Adviser(client, store, console.sue)
            assert console.gate.status("web-2") == waiting_event(2)
            await ann.post(f"/cases/{first.id}/claim")
            assert said(console, "web-1") == [
                ("Ann Adviser, an adviser, has joined the conversation.", adviser_event("Ann Adviser"))
            ]
            assert adviser_event("Ann Adviser")["text"] == "Chatting with Ann Adviser"
            assert said(console, "web-2") == [("", waiting_event(1))]  # moved up: now next
            assert waiting_event(1)["text"] == "Waiting for an adviser \u00b7 next in the queue"
            assert said(console, "rest-3") == []  # the REST channel has no status line
            assert console.gate.status("web-1") == adviser_event("Ann Adviser")

            await sue.post(f"/cases/{first.id}/assign", {"adviser_id": bob.id})
            assert said(console, "web-1")[-1] == (
                "Your case has passed to Bob Adviser, another adviser, who will carry on the conversation here.",
                adviser_event("Bob Adviser"),
            )
            await sue.post(f"/cases/{first.id}/assign", {"adviser_id": bob.id})  # no change: nothing said
            assert len(said(console, "web-1")) == 2

            await Adviser(client, store, bob).post(f"/cases/{first.id}/close", {"outcome": "answered"})
            assert said(console, "web-1")[-1][1] == ended_event()
            assert console.gate.status("web-1") is None
            assert over_rest.id  # untouched: still waiting
            assert store.case(over_rest.id).status == "waiting"

    asyncio.run(scenario())


def test_cancel_says_the_chat_with_the_adviser_ended_once_one_has_joined(console):
    store = console.store
    waiting = store.open_case("web-w", "socketio", "q1")
    joined = store.open_case("web-j", "socketio", "q2")
    store.claim(joined.id, console.ann)

    async def scenario():
        assert (await console.gate.intercept(None, "web-w", "cancel"))["text"] == LEFT_THE_QUEUE
        assert (await console.gate.intercept(None, "web-j", "cancel"))["text"] == ENDED_WITH_ADVISER

    asyncio.run(scenario())
    assert ENDED_WITH_ADVISER.startswith("OK, your chat with the adviser has ended")
    assert store.case(waiting.id).outcome == store.case(joined.id).outcome == "cancelled"


def test_the_transcript_shows_what_the_person_saw_and_pressed(console):
    case = console.store.open_case("web-t", "socketio", "Can we keep the LGPS?", person_name="Sam")
    console.desk.events["web-t"] = [
        {
            "event": "user",
            "text": "talk to a human",
            "timestamp": 1.0,
            "parse_data": {"intent": {"name": "request_human"}},
        },
        {
            "event": "bot",
            "text": "What name should the adviser use for you?",
            "timestamp": 2.0,
            "data": {"buttons": [{"title": "Skip", "payload": "/deny"}, {"title": "Cancel", "payload": "/cancel"}]},
        },
        {"event": "active_loop", "name": "handoff_form", "timestamp": 2.5},
        {"event": "user", "text": "Sam", "timestamp": 3.0, "parse_data": {"intent": {"name": "greet"}}},
        {"event": "user", "text": "/deny", "timestamp": 4.0, "parse_data": {"intent": {"name": "deny"}}},
        {
            "event": "user",
            "text": "/affirm",
            "timestamp": 5.0,
            "metadata": {"button_title": "Keep this question"},
            "parse_data": {"intent": {"name": "affirm"}},
        },
        {"event": "active_loop", "name": None, "timestamp": 5.5},
        {"event": "pause", "timestamp": 6.0},
        {"event": "user", "text": "hello? anyone", "timestamp": 7.0, "parse_data": {"intent": {"name": "greet"}}},
        {
            "event": "bot",
            "text": "",
            "timestamp": 8.0,  # a status-line update: nothing the person reads
            "data": {"custom": {"sender": {"kind": "system"}, "event": waiting_event(1)}},
        },
    ]

    async def scenario():
        async with served(console) as client:
            shown = await Adviser(client, console.store, console.ann).get(f"/cases/{case.id}")
            return [(t["kind"], t["text"], t.get("intent")) for t in shown["transcript"]]

    assert asyncio.run(scenario()) == [
        ("user", "talk to a human", "request_human"),
        ("bot", "What name should the adviser use for you?", None),
        ("user", "Sam", None),  # a form answer: no intent label
        ("user", "Skip", None),  # the button's title, not "/deny"
        ("user", "Keep this question", None),
        ("system", "Handed to advisers; the assistant is silent.", None),
        ("user", "hello? anyone", None),  # written to the adviser: no intent label
    ]


def test_a_reply_records_the_guidance_sections_it_used(console):
    case = console.store.open_case("web-s", "socketio", "Can council staff keep the LGPS?")

    async def scenario():
        async with served(console) as client:
            ann = Adviser(client, console.store, console.ann)
            await ann.post(
                f"/cases/{case.id}/reply",
                {
                    "text": "Yes, usually: see https://chat.example.org/guidance/lgps-admitted-body-status",
                    "sources": [
                        {"slug": LGPS, "anchor": LGPS_STAY},
                        {"slug": "made-up-page", "anchor": ""},
                        {"slug": LGPS, "anchor": "no-such-section"},
                    ],
                },
            )
            async with client.post(
                f"/console/api/cases/{case.id}/reply",
                json={"text": "x", "sources": "lgps"},
                headers={"Cookie": ann.cookie, "X-CSRF-Token": ann.csrf},
            ) as r:
                assert r.status == 400
            return await ann.get(f"/cases/{case.id}")

    shown = asyncio.run(scenario())
    source = {
        "slug": LGPS,
        "anchor": LGPS_STAY,
        "title": "Keeping council staff in the LGPS (admitted body status) \u203a Can council staff stay in the "
        "Local Government Pension Scheme after spinning out?",
        "url": f"https://chat.example.org/guidance/{LGPS}#{LGPS_STAY}",
    }
    assert [r["sources"] for r in shown["replies"]] == [[source]]  # only the real section, with our title and link
    [reply] = [t for t in shown["transcript"] if t["kind"] == "adviser"]
    assert reply["sources"] == [source]


class ActionServer:
    """Stands in for the action server's ``POST /guidance/suggest``: records what it was asked."""

    def __init__(self):
        self.asked = []

    async def handle(self, request):
        body = await request.json()
        self.asked.append(body["queries"])
        return web.json_response(
            {
                "queries": body["queries"],
                "suggestions": [
                    {
                        "slug": LGPS,
                        "anchor": LGPS_STAY,
                        "excerpt": "Usually, yes.",
                        "score": 0.71,
                        "query": body["queries"][0],
                    }
                ],
            }
        )


def test_suggestions_are_asked_for_the_question_and_latest_messages_once_per_change(console, monkeypatch):
    from bot.console import _routes

    action_server = ActionServer()
    case = console.store.open_case("web-g", "socketio", "Can council staff keep the LGPS?")
    console.desk.events["web-g"] = [{"event": "pause", "timestamp": case.created_at}]

    async def scenario():
        app = web.Application()
        app.router.add_post("/guidance/suggest", action_server.handle)
        async with TestServer(app) as fake, served(console) as client:
            monkeypatch.setattr(_routes, "suggest_url", lambda settings: str(fake.make_url("/guidance/suggest")))
            _routes._suggested.clear()
            ann = Adviser(client, console.store, console.ann)
            first = await ann.get(f"/cases/{case.id}/guidance")
            await ann.get(f"/cases/{case.id}/guidance")  # nothing new: remembered, not asked again
            await person_writes(console, "web-g", "ok")  # too short to ask anything
            await person_writes(console, "web-g", "and what about staff who join later?")
            await ann.get(f"/cases/{case.id}/guidance")
            return first

    first = asyncio.run(scenario())
    assert first["suggestions"][0]["excerpt"] == "Usually, yes."
    assert action_server.asked == [
        ["Can council staff keep the LGPS?"],
        ["Can council staff keep the LGPS?", "and what about staff who join later?"],
    ]


def test_suggestions_say_so_when_the_action_server_cannot_be_reached(console, monkeypatch):
    from bot.console import _routes

    case = console.store.open_case("web-x", "socketio", "A question nobody can search")
    monkeypatch.setattr(_routes, "suggest_url", lambda settings: "http://127.0.0.1:9/guidance/suggest")
    _routes._suggested.clear()

    async def scenario():
        async with served(console) as client:
            return await Adviser(client, console.store, console.ann).get(f"/cases/{case.id}/guidance")

    found = asyncio.run(scenario())
    assert found["suggestions"] == [] and "isn't available just now" in found["error"]
    assert _routes._suggested == {}  # a failure is not remembered: the next change asks again
