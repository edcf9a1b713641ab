"""Fuzzing every public entry point of a running stack with hypothesis: the REST webhook, the
socket.io events, and the adviser console's forms and API. Nothing crashes (each server still
answers a normal request afterwards), each answer is a clear 4xx or a polite reply, and a refused
message leaves no trace in Rasa's tracker store. The Telegram webhook is fuzzed in
test_telegram_webhook.py."""

from __future__ import annotations

import asyncio
import json
import re
import urllib.request
import uuid

import aiohttp
import pytest
import socketio
from hypothesis import given, strategies as st

from tests.support.assistant_stack import post_json, say_rest
from tests.support.fuzz_inputs import FUZZ, JSON, MESSAGE_IDS, SCALARS, TEXT, dumps, rest_body
from tests.support.person_and_adviser import signed_in_adviser

pytestmark = pytest.mark.slow

SENDERS = st.from_regex(r"\Afuzz-[a-z0-9]{10}\Z")


def user_texts(stack, sender):
    url = f"{stack.settings.rasa_url}/conversations/{sender}/tracker?token={stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return [e.get("text") for e in json.loads(response.read())["events"] if e["event"] == "user"]


# ---- REST ------------------------------------------------------------------------------------


def test_rest_webhook_answers_anything_with_a_reply_or_a_clear_400(running_stack):
    url = f"{running_stack.settings.rasa_url}/webhooks/rest/webhook"
    refused = set()

    @FUZZ
    @given(rest_body(SENDERS))
    def one(body):
        status, answer = post_json(url, body, timeout=60)
        assert status in (200, 400, 413, 429), (status, answer, body[:200])
        if status == 200:
            assert isinstance(answer, list) and all(isinstance(m, dict) and "recipient_id" in m for m in answer)
        else:
            assert isinstance(answer, dict) and isinstance(answer.get("error"), str) and answer["error"], answer
            try:
                sender = json.loads(body).get("sender")
            except Exception:
                sender = None
            if isinstance(sender, str) and sender.startswith("fuzz-"):
                refused.add(sender)

    one()
    assert say_rest(running_stack, f"after-fuzz-{uuid.uuid4().hex[:6]}", "hello"), "the REST channel still answers"
    for sender in sorted(refused)[:20]:
        assert user_texts(running_stack, sender) == [], f"a refused message reached Rasa for {sender}"


def test_rest_webhook_refuses_reserved_and_malformed_senders_without_storing(running_stack):
    url = f"{running_stack.settings.rasa_url}/webhooks/rest/webhook"
    for sender in ["tg-123", "../etc/passwd", "a b", "x" * 129, "", "fuzz-\u00e9", "fuzz-\n"]:
        status, answer = post_json(url, {"sender": sender, "message": "How do I register a co-operative?"})
        assert status == 400 and "sender" in answer["error"], (sender, answer)
    sender = f"fuzz-{uuid.uuid4().hex[:10]}"
    for message in ["", "   ", "x" * 2001, "!!!", 42, ["a"], {"text": "hi"}]:
        status, _ = post_json(url, {"sender": sender, "message": message})
        assert status in (200, 400)
    assert user_texts(running_stack, sender) == [], "nothing reaches Rasa from a message it cannot read"


# ---- socket.io ----------------------------------------------------------------------------------


class Widget:
    def __init__(self, url):
        self.url = url
        self.client = socketio.AsyncClient(reconnection=False)
        self.received, self.sessions, self.histories = [], [], []
        self.client.on("bot_uttered", self.received.append)
        self.client.on("session_confirm", self.sessions.append)
        self.client.on("history", self.histories.append)

    async def connect(self):
        await self.client.connect(self.url, transports=["polling"], socketio_path="/socket.io", wait_timeout=10)
        return self

    async def settle(self, condition=lambda: False, timeout=5.0):
        for _ in range(int(timeout / 0.05)):
            if condition():
                return True
            await asyncio.sleep(0.05)
        return condition()


EVENTS = st.sampled_from(
    ["session_request", "user_uttered", "history_request", "no_such_event", "connect", "disconnect", "delete_my_data"]
)


def test_socketio_events_with_arbitrary_payloads_never_break_the_channel(running_stack, loop):
    url = running_stack.settings.rasa_url
    widget = loop.run(Widget(url).connect())
    payloads = JSON | st.fixed_dictionaries(
        {"session_id": SCALARS, "message": SCALARS | JSON},
        optional={"metadata": JSON, "button_title": SCALARS, "message_id": MESSAGE_IDS},
    )

    @FUZZ
    @given(EVENTS, payloads, st.booleans())
    def one(event, payload, with_payload):
        if event == "delete_my_data":
            payload = {"confirm": False} if not isinstance(payload, dict) else {**payload, "confirm": "yes"}
        args = (payload,) if with_payload else ()
        loop.run(widget.client.emit(event, *args))
        assert widget.client.connected

    one()
    loop.run(widget.settle(timeout=3))
    assert widget.client.connected
    assert all(isinstance(s, str) and re.fullmatch(r"[0-9a-f]{32}", s) for s in widget.sessions), (
        "a session id we did not hand out is never joined"
    )
    for message in widget.received:
        assert isinstance(message.get("text"), str) and isinstance(message.get("buttons"), list)
    loop.run(widget.client.disconnect())

    async def normal_conversation():
        fresh = await Widget(url).connect()
        await fresh.client.emit("session_request", {"session_id": None})
        assert await fresh.settle(lambda: fresh.sessions, 10)
        await fresh.client.emit("user_uttered", {"session_id": fresh.sessions[0], "message": "hello"})
        assert await fresh.settle(lambda: fresh.received, 60), "the widget channel still answers"
        await fresh.client.disconnect()

    loop.run(normal_conversation(), timeout=90)


def test_socketio_messages_that_cannot_be_read_are_not_stored(running_stack, loop):
    async def scenario():
        widget = await Widget(running_stack.settings.rasa_url).connect()
        await widget.client.emit("user_uttered", {"message": "before any session"})
        await widget.client.emit("session_request", {"session_id": "0" * 32 + "\n"})
        assert await widget.settle(lambda: widget.sessions, 10)
        assert widget.sessions[0] != "0" * 32 + "\n", "a room name with a newline is not handed out"
        await widget.client.emit("session_request", {"session_id": "admin"})
        assert await widget.settle(lambda: len(widget.sessions) > 1, 10)
        widget.sessions.pop(0)
        for message in ["", "   ", "x" * 5000, 7, None, ["a"], "\x00\x01"]:
            await widget.client.emit("user_uttered", {"session_id": widget.sessions[0], "message": message})
        await widget.client.emit("user_uttered", "not an object")
        assert await widget.settle(lambda: len(widget.received) >= 9, 20), widget.received
        await widget.client.disconnect()
        return widget

    widget = loop.run(scenario())
    assert widget.sessions[0] != "admin"
    assert widget.received[0]["text"].startswith("Please reload")
    assert user_texts(running_stack, widget.sessions[0]) == []


# ---- the adviser console -----------------------------------------------------------------------

FORM_FIELDS = st.dictionaries(
    st.sampled_from(["email", "password", "csrf", "next", "x"]) | st.text(max_size=10), TEXT, max_size=5
)


def test_console_login_with_arbitrary_fields_never_signs_in_or_breaks(running_stack, loop):
    url = f"{running_stack.settings.web_url}/console/login"

    async def post(fields, raw, cookie):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
            headers = {"Cookie": f"mutuals_login={cookie}"} if cookie else {}
            data = raw if raw is not None else {k: v.replace("\x00", "") for k, v in fields.items()}
            async with http.post(url, data=data, headers=headers, allow_redirects=False) as r:
                return r.status, r.headers.get("Set-Cookie", ""), r.headers.get("Content-Security-Policy", "")

    @FUZZ
    @given(FORM_FIELDS, st.none() | st.binary(max_size=200), st.none() | st.text("abc", max_size=5))
    def one(fields, raw, cookie):
        if cookie is not None and isinstance(fields.get("csrf"), str):
            fields = {**fields, "csrf": cookie + "x"}  # never the matching token: no failures counted
        status, set_cookie, csp = loop.run(post(fields, raw, cookie))
        assert status in (400, 403, 413), status
        assert "mutuals_console=" not in set_cookie and "frame-ancestors 'none'" in csp

    one()
    status, _, _ = loop.run(post({}, None, None))
    assert status == 403  # still answering


def test_console_api_with_bad_bodies_answers_4xx(running_stack, adviser, loop):
    base = f"{running_stack.settings.web_url}/console/api"
    actions = st.sampled_from(["reply", "note", "close", "assign", "claim"])
    case_ids = st.sampled_from(["999999", "0", "-1", "abc", "1e9", "%00", "99999999999999999999999"])
    bodies = (
        JSON.map(dumps)
        | st.binary(max_size=100)
        | st.sampled_from([b"", b"{}", b'{"text": 5}', b'{"outcome": [], "tags": {}}'])
    )

    async def call(action, case_id, body, csrf):
        headers = {"Content-Type": "application/json", "X-CSRF-Token": adviser.csrf if csrf else "nope"}
        async with adviser.http.post(f"{base}/cases/{case_id}/{action}", data=body, headers=headers) as r:
            return r.status, await r.text()

    @FUZZ
    @given(actions, case_ids, bodies, st.booleans())
    def one(action, case_id, body, csrf):
        status, text = loop.run(call(action, case_id, body, csrf))
        assert status in (400, 403, 404, 409, 413), (status, text[:300])
        assert isinstance(json.loads(text).get("error"), str)

    one()
    assert loop.run(adviser.api("GET", "/cases"))["waiting"] is not None


# ---- the insights dashboard (bot/console/_insights_dashboard.py) ------------------------------

INSIGHTS_PATHS = st.sampled_from(["/console/insights", "/console/api/insights", "/console/insights.csv"])
# (a value of 100,000 characters gets aiohttp's own 400 for a request line too long, before any route)
QUERY_VALUES = (
    TEXT.filter(lambda t: len(t) <= 2000)
    | st.dates().map(str)
    | st.integers().map(str)
    | st.sampled_from(["2026-13-01", "9999-12-31", "0001-01-01", "1e9", "-1", "%ff%fe", "%00", "2026-11-01T00:00:00"])
)
QUERIES = st.lists(
    st.tuples(st.sampled_from(["since", "until", "days"]) | st.text(max_size=8), QUERY_VALUES), max_size=4
)


def _query(pairs) -> str:
    from urllib.parse import quote_from_bytes

    def enc(text):
        return text if text.startswith("%") else quote_from_bytes(text.encode("utf-8", "surrogatepass"), safe="")

    return "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs)


@pytest.fixture(scope="module")
def insights_web(tmp_path_factory, loop):
    """The project's web server (the console) on a free loopback port over stores with some
    conversations in them (bot/bench/_insights.py's generator): the dashboard needs no Rasa."""
    from aiohttp import web

    from bot.bench._insights import load
    from bot.insights._figures import Period
    from bot.settings import Settings
    from bot.stack import free_port
    from bot.web.app import create_app

    folder = tmp_path_factory.mktemp("insights-fuzz")
    tracker, handoff = f"sqlite:///{folder / 'trackers.db'}", f"sqlite:///{folder / 'handoffs.db'}"
    load(tracker, handoff, 300, 60, 30, Period.last_days(30).start)
    port = free_port()
    settings = Settings.from_env(
        env={}, var_dir=folder, tracker_store_url=tracker, handoff_store_url=handoff, web_port=port
    )

    async def start():
        runner = web.AppRunner(create_app(settings), access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        return runner

    runner = loop.run(start())
    yield settings, f"http://127.0.0.1:{port}"
    loop.run(runner.cleanup())


def test_insights_routes_with_any_query_answer_200_or_a_clear_400_and_only_when_signed_in(insights_web, loop):
    from yarl import URL

    from tests.support.person_and_adviser import ConsoleAdviser

    settings, web_url = insights_web
    password = "a long enough password"
    ConsoleAdviser.create(
        settings.handoff_store, "Fuzz Supervisor", "fuzz-sup@example.org", password, role="supervisor"
    )
    ConsoleAdviser.create(settings.handoff_store, "Fuzz Adviser", "fuzz-adv@example.org", password)
    supervisor = loop.run(signed_in_adviser(web_url, "fuzz-sup@example.org", password))
    adviser = loop.run(signed_in_adviser(web_url, "fuzz-adv@example.org", password))

    async def get(who, path, pairs):
        url = URL(f"{web_url}{path}?{_query(pairs)}", encoded=True)
        if who is None:
            async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
                async with http.get(url, allow_redirects=False) as r:
                    return r.status, r.headers.get("Content-Type", ""), await r.text()
        async with who.http.get(url, allow_redirects=False) as r:
            return r.status, r.headers.get("Content-Type", ""), await r.text()

    @FUZZ
    @given(st.sampled_from(["supervisor", "adviser", "nobody"]), INSIGHTS_PATHS, QUERIES)
    def one(who, path, pairs):
        client = {"supervisor": supervisor, "adviser": adviser, "nobody": None}[who]
        status, kind, text = loop.run(get(client, path, pairs))
        if client is None:
            assert status == (401 if "/api/" in path else 303), (status, text[:200])
            return
        assert status in (200, 400), (status, path, pairs, text[:300])
        if status == 400 and not path.endswith("/insights"):
            assert "period" in json.loads(text)["error"]
        if status == 200 and path.endswith(".csv"):
            assert kind.startswith("text/csv") and text.startswith("breakdown,")
        if who == "adviser" and status == 200:  # their own cases' figures, nothing of the conversations
            if path.endswith(".csv"):
                assert "questions" not in text.splitlines()[0].split(",")
            elif "/api/" in path:
                assert "questions" not in json.loads(text)["totals"]
            else:
                assert 'data-key="questions"' not in text and "Your cases only" in text

    one()

    async def changes():
        out = []
        for path in ("/console/insights", "/console/api/insights", "/console/insights.csv"):
            for csrf in (True, False):
                headers = {"X-CSRF-Token": supervisor.csrf if csrf else "nope"}
                async with supervisor.http.post(f"{web_url}{path}", data=b"{}", headers=headers) as r:
                    out.append(r.status)
        return out

    statuses = loop.run(changes())
    assert all(s in (403, 404, 405) for s in statuses) and 403 in statuses, statuses  # nothing here changes anything
    status, _, text = loop.run(get(supervisor, "/console/api/insights", [("days", "7")]))
    assert status == 200 and json.loads(text)["period"]["days"] == 7 and json.loads(text)["totals"]["conversations"] > 0
    loop.run(supervisor.close())
    loop.run(adviser.close())
