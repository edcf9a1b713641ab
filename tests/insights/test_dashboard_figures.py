"""The dashboard's figures against stored conversations, exactly: conversations saved through the
project's own tracker store (real Rasa events; each reply from the guidance made the way the action
server makes it, by ``actions.actions.say`` and Rasa's ``create_bot_utterance``), cases in the real
handoff store, misses in the real miss store. Every expected number below was counted by hand from
the conversations written out here. Then who sees what through the console (supervisor, adviser,
signed out), the CSV and ``mutuals insights``."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
import re

import pytest
from aiohttp.test_utils import TestClient, TestServer

DAY = 86400.0
T0 = dt.datetime(2026, 11, 2, tzinfo=dt.timezone.utc).timestamp()  # the period: 2 to 4 November 2026
SINCE, UNTIL = dt.date(2026, 11, 2), dt.date(2026, 11, 4)


class Clock:
    def __init__(self):
        self.now = T0

    def __call__(self):
        return self.now


def user(text, intent, channel, at):
    from rasa.shared.core.events import UserUttered

    return UserUttered(text, {"name": intent, "confidence": 1.0}, [], timestamp=at, input_channel=channel)


def action(name, at):
    from rasa.shared.core.events import ActionExecuted

    return ActionExecuted(name, timestamp=at)


def guidance_reply(reason, at, answered=None):
    """The bot event the action server's reply from the guidance becomes in the tracker store."""
    from rasa.core.actions.action import create_bot_utterance
    from rasa_sdk.executor import CollectingDispatcher

    from actions.actions import say
    from bot.guidance import Answer

    dispatcher = CollectingDispatcher()
    answered = reason in ("answered", "answered_in_context", "more") if answered is None else answered
    say(dispatcher, Answer(answered, f"a reply ({reason})", (), 0.5, (), reason=reason, threshold=0.4))
    (message,) = dispatcher.messages
    event = create_bot_utterance({k: v for k, v in message.items() if v})  # as RemoteAction._utter_responses
    event.timestamp = at
    return event


def asked(text, reason, channel, at, intent="ask_question"):
    return [
        user(text, intent, channel, at),
        action("action_answer_from_guidance", at + 0.2),
        guidance_reply(reason, at + 0.1),
    ]


def bot(text, at):
    from rasa.shared.core.events import BotUttered

    return BotUttered(text, timestamp=at)


CONVERSATIONS = {
    # A: the widget, day 1: a question, "Did this help? Yes", a follow-up in context, "Tell me more"
    "conv-a": asked("How do I register a co-operative?", "answered", "socketio", T0 + 100)
    + [user("/feedback_helpful", "feedback_helpful", "socketio", T0 + 110), action("utter_glad", T0 + 111)]
    + asked("is there a fee?", "answered_in_context", "socketio", T0 + 120)
    + asked("/tell_me_more", "more", "socketio", T0 + 130, intent="tell_me_more"),
    # B: REST, day 1: declined, then the second miss passed straight to an adviser (no reply with a reason)
    "conv-b": asked("what about widgets", "not_confident", "rest", T0 + 200, intent="nlu_fallback")
    + [
        user("and gadgets?", "ask_question", "rest", T0 + 210),
        bot("I couldn't answer that either, so let me pass your question to an adviser.", T0 + 210.1),
        action("action_answer_from_guidance", T0 + 210.2),
        action("action_request_human", T0 + 210.3),
    ],
    # C: the widget, day 2: a clarification, the topic picked, "No", unreadable, a personal request,
    # "Tell me more" with nothing to expand, and one outside the guidance
    "conv-c": asked("pensions", "clarify", "socketio", T0 + DAY + 50)
    + asked("/choose_topic", "answered", "socketio", T0 + DAY + 60)
    + [user("/feedback_unhelpful", "feedback_unhelpful", "socketio", T0 + DAY + 70)]
    + asked("????", "no_words", "socketio", T0 + DAY + 80, intent="nlu_fallback")
    + asked("can you fill in my form", "personal_request", "socketio", T0 + DAY + 90)
    + asked("/tell_me_more", "nothing_to_expand", "socketio", T0 + DAY + 100, intent="tell_me_more")
    + asked("how do I get my state pension", "outside_guidance", "socketio", T0 + DAY + 110),
    # D: Telegram (relay): before the period, small talk on day 3, after the period
    "tg-d": asked("old question", "answered", "relay", T0 - 3600)
    + [user("hello", "greet", "relay", T0 + 2 * DAY + 10), action("utter_greet", T0 + 2 * DAY + 11)]
    + asked("later question", "answered", "relay", T0 + 3 * DAY + 10),
    # E: the widget: first message on day 1, a question on day 3 (one conversation, on day 1)
    "conv-e": [user("hi", "greet", "socketio", T0 + 300)]
    + asked("What is a CIC?", "answered", "socketio", T0 + 2 * DAY + 500),
}

TOTALS = {
    "conversations": 5,
    "questions": 12,
    "answered": 5,
    "answered_alone": 3,
    "answered_in_context": 1,
    "answered_more": 1,
    "clarified": 1,
    "declined": 4,
    "declined_not_confident": 1,
    "declined_outside_guidance": 1,
    "declined_personal_request": 1,
    "declined_unreadable": 1,
    "other": 2,
    "other_nothing_to_expand": 1,
    "other_no_reply": 1,
    "other_unknown_reason": 0,
    "feedback": 2,
    "feedback_helpful": 1,
    "feedback_unhelpful": 1,
    "misses": 3,
    "miss_declined": 1,
    "miss_low_confidence": 0,
    "miss_rephrased": 0,
    "miss_unhelpful": 1,
    "miss_handoff": 1,
    "handed_over": 4,
    "outcome_answered": 1,
    "outcome_referred": 0,
    "outcome_no_response": 1,
    "outcome_out_of_scope": 0,
    "outcome_cancelled": 1,
    "still_waiting": 0,
    "still_open": 1,
    "wait_under_5m": 1,
    "wait_5_30m": 0,
    "wait_30m_4h": 1,
    "wait_over_4h": 1,
    "never_taken": 1,
    "rated": 2,
    "rated_1": 0,
    "rated_2": 1,
    "rated_3": 0,
    "rated_4": 0,
    "rated_5": 1,
}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """The conversations above in a SQLite tracker store, and their cases and misses."""
    folder = tmp_path_factory.mktemp("insights")
    built = build(f"sqlite:///{folder / 'trackers.db'}", f"sqlite:///{folder / 'handoffs.db'}")
    yield dict(built, folder=folder)
    built["store"].dispose()


def build(tracker_url, handoff_url):
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.handoff import HandoffStore
    from bot.insights._misses import MissStore
    from bot.trackers import UrlSQLTrackerStore

    trackers = UrlSQLTrackerStore(domain=Domain.empty(), url=tracker_url)
    for sender, events in CONVERSATIONS.items():
        asyncio.run(trackers.save(DialogueStateTracker.from_events(sender, events)))
    trackers.engine.dispose()

    clock = Clock()
    store = HandoffStore(handoff_url, clock=clock)
    jo = store.add_adviser("Jo Adviser", "jo@advisers.example.org", "adviser", "x")
    sam = store.add_adviser("Sam Adviser", "sam@advisers.example.org", "adviser", "x")
    rae = store.add_adviser("Rae Supervisor", "rae@advisers.example.org", "supervisor", "x")

    def at(t):
        clock.now = t

    at(T0 - 7200)  # before the period: not counted
    old = store.open_case("tg-d", "relay", "old question")
    store.close(old.id, None, "cancelled")
    at(T0 + 300)  # B, day 1: taken after 3 minutes, answered, rated 5
    b = store.open_case("conv-b", "rest", "and gadgets?")
    at(T0 + 480)
    store.claim(b.id, jo)
    at(T0 + 900)
    store.close(b.id, jo, "answered")
    store.rate("conv-b", 5)
    at(T0 + DAY + 200)  # C, day 2: cancelled by the person before anyone took it ...
    c1 = store.open_case("conv-c", "socketio", "pensions")
    at(T0 + DAY + 260)
    store.close(c1.id, None, "cancelled")
    at(T0 + DAY + 300)  # ... then again: taken after 40 minutes by Sam, still open
    c2 = store.open_case("conv-c", "socketio", "pensions again")
    at(T0 + DAY + 300 + 2400)
    store.claim(c2.id, sam)
    at(T0 + 2 * DAY + 100)  # D, day 3: taken after 5 hours by Jo, no response, rated 2
    d = store.open_case("tg-d", "relay", "hello")
    at(T0 + 2 * DAY + 100 + 5 * 3600)
    store.claim(d.id, jo)
    at(T0 + 2 * DAY + 100 + 6 * 3600)
    store.close(d.id, jo, "no_response")
    store.rate("tg-d", 2)

    misses = MissStore(handoff_url)
    misses.record("conv-b", "declined", "what about widgets", channel="rest", at=T0 + 200)
    misses.record("conv-b", "handoff", "and gadgets?", channel="rest", at=T0 + 300)
    misses.record("conv-c", "unhelpful", "pensions", channel="socketio", at=T0 + DAY + 70)
    misses.record("tg-d", "declined", "old question", channel="relay", at=T0 - 3600)  # before the period
    misses.dispose()
    clock.now = __import__("time").time()  # the console's sessions, signed in now
    return {"tracker": tracker_url, "handoff": handoff_url, "store": store, "jo": jo, "sam": sam, "rae": rae}


def compute(stored, adviser=None):
    from bot.insights._figures import Period, compute

    return compute(
        Period(SINCE, UNTIL),
        stored["tracker"],
        stored["handoff"],
        adviser_id=adviser.id if adviser else None,
        adviser_name=adviser.name if adviser else "",
    )


def test_every_figure_matches_the_stored_conversations(stored):
    from bot.insights._figures import check_parts

    f = compute(stored)
    assert f["totals"] == TOTALS
    assert check_parts(f) == []
    day = {r["day"]: r for r in f["by_day"]}
    assert [r["day"] for r in f["by_day"]] == ["2026-11-02", "2026-11-03", "2026-11-04"]
    assert [day[d]["conversations"] for d in day] == [3, 1, 1]  # A, B, E; C; D
    assert [day[d]["questions"] for d in day] == [5, 6, 1]
    assert [day[d]["handed_over"] for d in day] == [1, 2, 1]
    assert [day[d]["misses"] for d in day] == [2, 1, 0]
    assert day["2026-11-03"]["declined"] == 3 and day["2026-11-02"]["other_no_reply"] == 1
    channel = {r["channel"]: r for r in f["by_channel"]}
    assert sorted(channel) == ["relay", "rest", "socketio"]
    assert {c: (r["conversations"], r["questions"], r["answered"], r["handed_over"]) for c, r in channel.items()} == {
        "socketio": (3, 10, 5, 2),
        "rest": (1, 2, 0, 1),
        "relay": (1, 0, 0, 1),
    }
    assert f["handed_over_conversations"] == 3  # B, C (twice), D
    assert f["waits"]["taken"] == 3 and f["waits"]["median_seconds"] == 2400 and f["waits"]["p90_seconds"] == 18000
    assert f["ratings"] == {"rated": 2, "average": 3.5, "definition": f["ratings"]["definition"]}
    rates = {r["name"]: (r["numerator"], r["denominator"]) for r in f["rates"]}
    assert rates == {
        "answered rate": (5, 12),
        "declined rate": (4, 12),
        "clarification rate": (1, 12),
        "handover rate": (3, 5),
        "helpful rate": (1, 2),
        "feedback rate": (2, 5),
        "taken within 30 minutes": (1, 4),
        "resolved by an adviser": (1, 2),
        "rated": (2, 2),
    }
    assert all(r["definition"] for r in f["rates"]) and all(x["definition"] for x in f["figures"])


@pytest.mark.slow
def test_the_same_figures_on_postgresql():
    """The same conversations and cases in PostgreSQL (a throwaway cluster, tests/support/servers.py)."""
    from bot.insights._figures import check_parts
    from tests.support.servers import postgres_server

    with postgres_server() as url:
        built = build(url, url)
        try:
            f = compute(built)
            assert f["totals"] == TOTALS and check_parts(f) == []
            assert [r["questions"] for r in f["by_day"]] == [5, 6, 1]
            assert {r["channel"]: r["questions"] for r in f["by_channel"]} == {"socketio": 10, "rest": 2, "relay": 0}
            assert f["waits"]["median_seconds"] == 2400 and f["ratings"]["average"] == 3.5
            assert compute(built, built["jo"])["totals"]["handed_over"] == 2
        finally:
            built["store"].dispose()
            from bot.insights._figures import _engines

            for engine in _engines.values():
                engine.dispose()


def test_an_adviser_gets_only_their_own_cases(stored):
    jo, sam = compute(stored, stored["jo"]), compute(stored, stored["sam"])
    assert "conversations" not in jo["totals"] and "questions" not in jo["totals"] and "misses" not in jo["totals"]
    assert jo["totals"]["handed_over"] == 2 and jo["totals"]["outcome_answered"] == 1
    assert jo["totals"]["outcome_no_response"] == 1 and jo["totals"]["rated"] == 2
    assert jo["totals"]["wait_under_5m"] == 1 and jo["totals"]["wait_over_4h"] == 1
    assert sam["totals"]["handed_over"] == 1 and sam["totals"]["still_open"] == 1 and sam["totals"]["wait_30m_4h"] == 1
    assert {r["name"] for r in jo["rates"]} == {"taken within 30 minutes", "resolved by an adviser", "rated"}


def test_another_period_counts_only_its_own_days(stored):
    from bot.insights._figures import Period, compute

    f = compute(Period(dt.date(2026, 11, 3), dt.date(2026, 11, 3)), stored["tracker"], stored["handoff"])
    assert f["totals"]["conversations"] == 1 and f["totals"]["questions"] == 6 and f["totals"]["handed_over"] == 2
    assert f["totals"]["feedback_unhelpful"] == 1 and f["totals"]["feedback_helpful"] == 0


# ---- through the console ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def console(stored):
    from bot.settings import Settings
    from bot.web.app import create_app

    settings = Settings.from_env(
        env={}, var_dir=stored["folder"], handoff_store_url=stored["handoff"], tracker_store_url=stored["tracker"]
    )
    return settings, create_app


def call(console, stored, who, path, cookie=True):
    settings, create_app = console

    async def go():
        token = stored["store"].start_session(stored[who])[0] if who else None
        async with TestClient(TestServer(create_app(settings))) as client:
            headers = {"Cookie": f"mutuals_console={token}"} if cookie and token else {}
            r = await client.get(path, headers=headers, allow_redirects=False)
            return r.status, r.headers, await r.text()

    return asyncio.run(go())


PERIOD = "since=2026-11-02&until=2026-11-04"


def test_the_page_and_its_json_and_csv_for_a_supervisor(console, stored):
    status, headers, html = call(console, stored, "rae", f"/console/insights?{PERIOD}")
    assert (
        status == 200 and "The whole service" in html and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    )
    assert '<tr class="depth-0" data-key="questions"><th scope="row">Questions</th><td class="num">12</td>' in html
    # six charts: a canvas for Chart.js, its figures as JSON (no inline script) and, open, a table behind it
    assert html.count('<canvas id=') == 6 and html.count("<caption id=") == 6 and html.count("<details open>") == 6
    data = dict(re.findall(r'<script type="application/json" id="([a-z-]+)-data">(.*?)</script>', html, re.S))
    assert len(data) == 6 and all(
        re.fullmatch(r'<script( src="/static/[a-z./]+"| type="application/json" id="[a-z-]+-data")>', tag)
        for tag in re.findall(r"<script\b[^>]*>", html)
    )
    ratings = json.loads(data["ratings"])
    assert ratings["labels"] == ["1 (poor)", "2", "3", "4", "5 (very good)"]
    assert ratings["datasets"][0]["data"] == [TOTALS[f"rated_{k}"] for k in range(1, 6)]
    assert [sum(d["data"]) for d in json.loads(data["questions-by-day"])["datasets"]] == [
        TOTALS[k] for k in ("answered", "clarified", "declined", "other")
    ]
    assert "41.7%" in html and "5 of 12" in html  # the answered rate, with what it is of
    status, _, body = call(console, stored, "rae", f"/console/api/insights?{PERIOD}")
    assert status == 200 and json.loads(body)["totals"] == TOTALS
    status, headers, body = call(console, stored, "rae", f"/console/insights.csv?{PERIOD}")
    assert status == 200 and headers["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body)))
    total = dict(zip(rows[0], rows[-1]))
    assert total["breakdown"] == "total" and int(total["questions"]) == 12 and int(total["handed_over"]) == 4
    assert [r[1] for r in rows[1:4]] == ["2026-11-02", "2026-11-03", "2026-11-04"]


def test_an_adviser_sees_only_their_cases_and_nobody_signed_out_sees_anything(console, stored):
    status, _, html = call(console, stored, "jo", f"/console/insights?{PERIOD}")
    assert status == 200 and "Your cases only" in html and 'data-key="questions"' not in html
    assert (
        '<tr class="depth-0" data-key="handed_over"><th scope="row">Handed to an adviser</th><td class="num">2</td>'
        in html
    )
    status, _, body = call(console, stored, "jo", f"/console/api/insights?{PERIOD}")
    assert json.loads(body)["totals"]["handed_over"] == 2 and "conversations" not in json.loads(body)["totals"]
    status, _, body = call(console, stored, "jo", f"/console/insights.csv?{PERIOD}")
    assert "questions" not in body.splitlines()[0].split(",") and body.splitlines()[-1].split(",")[2] == "2"
    for path in ("/console/insights", "/console/insights.csv"):
        status, headers, _ = call(console, stored, None, path)
        assert status == 303 and headers["Location"] == "/console/login"
    status, _, body = call(console, stored, "rae", "/console/api/insights", cookie=False)
    assert status == 401 and "sign in" in json.loads(body)["error"]


@pytest.mark.parametrize("path", ["/console", "/console/saved-replies"])
def test_the_console_bar_leads_a_supervisor_to_the_dashboard(console, stored, path):
    link = '<a href="/console/insights">Insights</a>'
    status, _, html = call(console, stored, "rae", path)
    assert status == 200 and link in html and '<nav aria-label="Console">' in html
    status, _, html = call(console, stored, "jo", path)
    assert status == 200 and link not in html  # insights are for supervisors (issue 15)


def test_a_period_that_cannot_be_read_is_refused_clearly(console, stored):
    for query in (
        "since=2026-13-01",
        "since=2026-11-05&until=2026-11-01",
        "days=0",
        "since=2020-01-01&until=2026-01-01",
    ):
        status, _, body = call(console, stored, "rae", f"/console/api/insights?{query}")
        assert status == 400 and "period" in json.loads(body)["error"], query
        status, _, html = call(console, stored, "rae", f"/console/insights?{query}")
        assert status == 400 and "could not be read" in html


def test_mutuals_insights_prints_the_same_figures(stored, capsys, monkeypatch):
    from bot.cli import main

    monkeypatch.setenv("MUTUALS_TRACKER_STORE_URL", stored["tracker"])
    monkeypatch.setenv("MUTUALS_HANDOFF_STORE_URL", stored["handoff"])
    assert main(["insights", "--json", "--since", "2026-11-02", "--until", "2026-11-04"]) == 0
    assert json.loads(capsys.readouterr().out)["totals"] == TOTALS
    assert main(["insights", "--since", "2026-11-02", "--until", "2026-11-04"]) == 0
    text = capsys.readouterr().out
    assert "2026-11-02 to 2026-11-04" in text and "answered rate" in text and "(5 of 12: answered from guidance" in text
    line = next(l for l in text.splitlines() if l.startswith("Questions"))
    assert line.split()[1:] == ["12", "0", "2", "10"]  # total, then relay, rest, socketio


def test_the_figures_follow_conversations_added_and_erased(stored, tmp_path):
    """The digest the dashboard keeps beside the events takes in what was written since the last
    load, and lets go of what was erased (as bot/privacy's erasure deletes a conversation's events)."""
    import sqlite3

    import sqlalchemy as sa
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    from bot.insights._figures import Period, compute
    from bot.trackers import UrlSQLTrackerStore

    compute(Period(SINCE, UNTIL), stored["tracker"], stored["handoff"])  # the digest is there
    source = sqlite3.connect(stored["tracker"][len("sqlite:///") :])
    copy_path = tmp_path / "trackers.db"
    with sqlite3.connect(copy_path) as target:
        source.backup(target)
    source.close()
    url = f"sqlite:///{copy_path}"

    def totals():
        return compute(Period(SINCE, UNTIL), url, stored["handoff"])["totals"]

    before = totals()
    assert before == TOTALS
    trackers = UrlSQLTrackerStore(domain=Domain.empty(), url=url)
    asyncio.run(
        trackers.save(
            DialogueStateTracker.from_events(
                "conv-f", asked("Can a charity own a CIC?", "answered", "rest", T0 + DAY + 900)
            )
        )
    )
    trackers.engine.dispose()
    after = totals()
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert changed == {"conversations": (5, 6), "questions": (12, 13), "answered": (5, 6), "answered_alone": (3, 4)}

    engine = sa.create_engine(url)
    with engine.begin() as db:  # conv-a erased: its question, follow-up, "Tell me more" and "Yes" go
        db.execute(sa.text("DELETE FROM events WHERE sender_id = 'conv-a'"))
    engine.dispose()
    erased = totals()
    changed = {k: (after[k], erased[k]) for k in after if after[k] != erased[k]}
    assert changed == {
        "conversations": (6, 5),
        "questions": (13, 10),
        "answered": (6, 3),
        "answered_alone": (4, 3),
        "answered_in_context": (1, 0),
        "answered_more": (1, 0),
        "feedback": (2, 1),
        "feedback_helpful": (1, 0),
    }
    engine = sa.create_engine(url)
    with engine.connect() as db:
        columns = {c["name"] for t in ("insights_digest", "insights_messages") for c in sa.inspect(db).get_columns(t)}
    engine.dispose()
    assert columns == {"id", "timestamp", "kind", "channel", "conversation"}  # no conversation id, no text
