"""The handoff intake actions with a real Tracker, CollectingDispatcher and case store."""

import asyncio
import datetime as dt
from pathlib import Path

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff
from bot.handoff import HandoffStore


def tracker(text="", intent="ask_question", slots=None, events=(), channel="socketio", metadata=None):
    return Tracker(
        sender_id="person-1",
        slots={"handoff_suggested_question": None, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": [],
            "metadata": metadata or {},
        },
        events=list(events)
        + [{"event": "user", "text": text, "input_channel": channel, "parse_data": {"intent": {"name": intent}}}],
        paused=False,
        followup_action=None,
        active_loop={"name": "handoff_form"},
        latest_action_name="action_listen",
    )


def user(text, intent):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


@pytest.fixture
def store(tmp_path, desk):
    from actions import actions

    s = HandoffStore(f"sqlite:///{tmp_path / 'cases.db'}")
    handoff.use_store(s)
    actions.use_desk(desk)  # the topic of a case comes from the guidance
    yield s
    actions.use_desk(None)
    handoff.use_store(None)
    s.dispose()


def run(action, tr, domain=None):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tr, domain or {}))
    return dispatcher.messages, events


def validate(slot, value, slots=None):
    dispatcher = CollectingDispatcher()
    method = getattr(handoff.ValidateHandoffForm(), f"validate_{slot}")
    return method(value, dispatcher, tracker(value, slots=slots), {}), dispatcher.messages


def test_asking_for_a_human_remembers_the_last_real_question():
    events = [
        user("what is an asset lock", "ask_question"),
        user("/affirm", "affirm"),
        user("talk to a human", "request_human"),
    ]
    messages, slot_events = run(
        handoff.ActionRequestHuman(), tracker("talk to a human", "request_human", events=events)
    )
    assert "cancel" in messages[0]["text"]
    assert {
        "event": "slot",
        "timestamp": None,
        "name": "handoff_suggested_question",
        "value": "what is an asset lock",
    } in slot_events


def test_the_question_can_be_kept_or_typed_again():
    suggested = {"handoff_suggested_question": "what is an asset lock"}
    assert validate("handoff_question", "/affirm", suggested)[0] == {"handoff_question": "what is an asset lock"}
    assert validate("handoff_question", "Can we pay staff bonuses?", suggested)[0] == {
        "handoff_question": "Can we pay staff bonuses?"
    }
    result, messages = validate("handoff_question", "?")
    assert result == {"handoff_question": None} and messages


@pytest.mark.parametrize("value, expected", [("skip", ""), ("/deny", ""), ("Sam", "Sam"), ("x" * 81, None)])
def test_names_can_be_skipped_and_must_be_name_sized(value, expected):
    assert validate("handoff_name", value)[0] == {"handoff_name": expected}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("Sam@Example.org", "sam@example.org"),
        ("skip", ""),
        ("no thanks", ""),
        ("sam at example", None),
        ("@example.org", None),
        ("sam@", None),
        ("a@b.c", None),
    ],
)
def test_email_addresses_are_checked_and_optional(value, expected):
    result, messages = validate("handoff_email", value)
    assert result == {"handoff_email": expected}
    assert bool(messages) == (expected is None)


MONDAY_NOON = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)  # London: Monday 12:00
SATURDAY_NOON = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
AFTER = "Anything you type now goes to the adviser. Say \"cancel\" to go back to the assistant."


@pytest.fixture
def at_work(monkeypatch):
    """Advisers work Mon-Fri 09:00-17:00 UK time; it is ``MONDAY_NOON`` unless a test moves it."""
    monkeypatch.setenv("MUTUALS_ADVISER_HOURS", "Mon-Fri 09:00-17:00")
    monkeypatch.setenv("MUTUALS_ADVISER_TIMEZONE", "Europe/London")
    monkeypatch.setattr(handoff, "now", lambda: MONDAY_NOON)
    return monkeypatch


def available(store, name):
    adviser = store.add_adviser(name, f"{name.split()[0].lower()}@advisers.example.org", "adviser", "hash")
    store.start_session(adviser)
    store.set_available(adviser.id, True)
    return adviser


def create(slots, channel="socketio", sender="person-1", **kwargs):
    tr = tracker("skip", "deny", slots=slots, channel=channel, **kwargs)
    tr.sender_id = sender
    return run(handoff.ActionCreateHandoff(), tr)


def test_a_completed_intake_opens_one_case_and_pauses_the_bot(store, at_work):
    slots = {"handoff_question": "How do pensions transfer?", "handoff_name": "Sam", "handoff_email": ""}
    messages, events = create(slots, channel="telegram", metadata={"chat_id": 42})
    [case] = store.cases("waiting")
    assert (case.question, case.person_name, case.channel, case.chat_id) == (
        "How do pensions transfer?",
        "Sam",
        "telegram",
        "42",
    )
    assert {"event": "pause", "timestamp": None} in events
    assert "Sam" in messages[0]["text"] and "cancel" in messages[0]["text"]
    assert "custom" not in messages[0] or not messages[0]["custom"]  # no status line off the web chat
    create(slots)
    assert len(store.cases("waiting")) == 1  # asking twice does not open a second case


def test_in_hours_with_nobody_available_the_person_is_told_so_and_where_the_reply_will_be(store, at_work):
    store.start_session(store.add_adviser("Ann Away", "ann@advisers.example.org", "adviser", "hash"))  # signed in, away
    messages, _ = create(
        {"handoff_question": "How do pensions transfer?", "handoff_name": "Sam", "handoff_email": "sam@example.org"}
    )
    assert messages[0]["text"] == (
        "Thank you, Sam. No adviser is free at the moment. You're next in the queue, and an adviser will answer "
        "here when one is free; the adviser's reply will be waiting here in this chat, so you can close it and "
        f"come back later. {AFTER}"
    )
    assert "email" not in messages[0]["text"]
    assert messages[0]["custom"] == {
        "event": {
            "type": "handoff",
            "status": "waiting",  # as socketio.py sends it
            "text": "Waiting for an adviser \u00b7 next in the queue",
        }
    }


def test_in_hours_with_advisers_available_the_person_hears_their_place_and_the_likely_wait(store, at_work):
    alex = available(store, "Alex Adviser")
    for i, wait in enumerate([120, 420, 300]):  # three recent waits: the middle one is 5 minutes
        case = store.open_case(f"earlier-{i}", "socketio", "q")
        with store.engine.begin() as db:
            from bot.handoff._store import cases_table

            db.execute(
                cases_table.update().where(cases_table.c.id == case.id).values(created_at=case.created_at - wait)
            )
        store.claim(case.id, alex)
    store.open_case("ahead-of-sam", "socketio", "Someone else's question")
    messages, _ = create({"handoff_question": "How do pensions transfer?", "handoff_name": "", "handoff_email": ""})
    assert messages[0]["text"] == (
        "Thank you. You're 2nd in the queue and 1 adviser is available now: an adviser will join this chat "
        f"as soon as they can. Lately people have waited about 5 minutes for an adviser. {AFTER}"
    )
    assert messages[0]["custom"]["event"]["text"] == "Waiting for an adviser \u00b7 2nd in the queue"
    available(store, "Bea Adviser")
    messages, _ = create(
        {"handoff_question": "Another question", "handoff_name": "", "handoff_email": ""}, sender="person-3"
    )
    assert messages[0]["text"].startswith("Thank you. You're 3rd in the queue and 2 advisers are available now")


def test_out_of_hours_nobody_is_free_until_the_next_opening_and_no_email_is_promised(store, at_work):
    at_work.setattr(handoff, "now", lambda: SATURDAY_NOON)
    available(store, "Alex Adviser")  # available, but outside the hours nobody is expected
    messages, events = create(
        {"handoff_question": "How do pensions transfer?", "handoff_name": "Sam", "handoff_email": "sam@example.org"}
    )
    assert messages[0]["text"] == (
        "Thank you, Sam. Nobody is free until Monday 30 November at 9:00 (UK time): our advisers work "
        "Mon-Fri 09:00-17:00. Your question is saved, and the adviser's reply will be waiting here in this chat, "
        "so you can close it and come back later. We keep the email address you gave with your case, but we "
        f"don't send replies by email. {AFTER}"
    )
    assert len(store.cases("waiting")) == 1 and {"event": "pause", "timestamp": None} in events


def test_out_of_hours_the_opening_is_given_in_the_advisers_time_zone(store, at_work):
    at_work.setenv("MUTUALS_ADVISER_HOURS", "Mon-Sun 20:00-21:00")
    at_work.setenv("MUTUALS_ADVISER_TIMEZONE", "America/New_York")  # Monday noon UTC is 07:00 there
    messages, _ = create({"handoff_question": "How do pensions transfer?", "handoff_name": "", "handoff_email": ""})
    assert messages[0]["text"].startswith(
        "Thank you. Nobody is free until Monday 30 November at 20:00 (New York time): our advisers work "
        "Mon-Sun 20:00-21:00. Your question is saved"
    )
    assert "email" not in messages[0]["text"]


def test_the_topic_is_the_question_handed_over_not_an_earlier_one(store, at_work):
    slots = {
        "handoff_question": "Can staff keep their local government pension when we spin out?",
        "handoff_name": "",
        "handoff_email": "",
        "last_topic": "Community shares",
    }
    create(slots)
    [case] = store.cases("waiting")
    assert "LGPS" in case.topic, case.topic  # a section about the handed-over question, not "Community shares"
    slots = {
        "handoff_question": "my neighbour's hedge is far too tall and it blocks all of the light into my back "
        "garden, what can I do",
        "handoff_name": "",
        "handoff_email": "",
        "last_topic": "Community shares",
    }
    create(slots, sender="person-2")
    assert store.open_case_for("person-2").topic == (  # no section answers it: the question, shortened
        "my neighbour's hedge is far too tall and it blocks all of the light into my\u2026"
    )


def test_the_question_about_an_email_promises_no_email():
    import yaml

    domain = yaml.safe_load((Path(__file__).resolve().parents[2] / "domain.yml").read_text())
    asked = domain["responses"]["utter_ask_handoff_email"][0]["text"]
    assert "waiting here in this chat" in asked and "don't send replies by email" in asked
    assert not any(phrase in asked.lower() for phrase in ("reply by email", "will email", "email you"))


def test_a_rating_is_recorded_on_the_closed_case(store):
    case = store.open_case("person-1", "socketio", "q")
    store.close(case.id, None, "answered")
    tr = tracker("/rate_handoff", "rate_handoff")
    tr.latest_message["entities"] = [{"entity": "rating", "value": "4"}]
    messages, _ = run(handoff.ActionRecordRating(), tr)
    assert store.case(case.id).rating == 4 and "Thank you" in messages[0]["text"]
