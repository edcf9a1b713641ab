"""The handoff intake actions with a real Tracker, CollectingDispatcher and case store."""
import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import handoff
from bot.handoff import HandoffStore


def tracker(text="", intent="ask_question", slots=None, events=(), channel="socketio", metadata=None):
    return Tracker(
        sender_id="person-1", slots={"handoff_suggested_question": None, **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9}, "entities": [],
                        "metadata": metadata or {}},
        events=list(events) + [{"event": "user", "text": text, "input_channel": channel,
                                "parse_data": {"intent": {"name": intent}}}],
        paused=False, followup_action=None, active_loop={"name": "handoff_form"}, latest_action_name="action_listen",
    )


def user(text, intent):
    return {"event": "user", "text": text, "parse_data": {"intent": {"name": intent}}}


@pytest.fixture
def store(tmp_path):
    s = HandoffStore(f"sqlite:///{tmp_path / 'cases.db'}")
    handoff.use_store(s)
    yield s
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
    events = [user("what is an asset lock", "ask_question"), user("/affirm", "affirm"),
              user("talk to a human", "request_human")]
    messages, slot_events = run(handoff.ActionRequestHuman(), tracker("talk to a human", "request_human", events=events))
    assert "cancel" in messages[0]["text"]
    assert {"event": "slot", "timestamp": None, "name": "handoff_suggested_question",
            "value": "what is an asset lock"} in slot_events


def test_the_question_can_be_kept_or_typed_again():
    suggested = {"handoff_suggested_question": "what is an asset lock"}
    assert validate("handoff_question", "/affirm", suggested)[0] == {"handoff_question": "what is an asset lock"}
    assert validate("handoff_question", "Can we pay staff bonuses?", suggested)[0] == {
        "handoff_question": "Can we pay staff bonuses?"}
    result, messages = validate("handoff_question", "?")
    assert result == {"handoff_question": None} and messages


@pytest.mark.parametrize("value, expected", [("skip", ""), ("/deny", ""), ("Sam", "Sam"), ("x" * 81, None)])
def test_names_can_be_skipped_and_must_be_name_sized(value, expected):
    assert validate("handoff_name", value)[0] == {"handoff_name": expected}


@pytest.mark.parametrize("value, expected", [
    ("Sam@Example.org", "sam@example.org"), ("skip", ""), ("no thanks", ""),
    ("sam at example", None), ("@example.org", None), ("sam@", None), ("a@b.c", None),
])
def test_email_addresses_are_checked_and_optional(value, expected):
    result, messages = validate("handoff_email", value)
    assert result == {"handoff_email": expected}
    assert bool(messages) == (expected is None)


def test_a_completed_intake_opens_one_case_and_pauses_the_bot(store):
    slots = {"handoff_question": "How do pensions transfer?", "handoff_name": "Sam", "handoff_email": "",
             "last_topic": "Pensions"}
    messages, events = run(handoff.ActionCreateHandoff(), tracker("skip", "deny", slots=slots, channel="telegram",
                                                                  metadata={"chat_id": 42}))
    [case] = store.cases("waiting")
    assert (case.question, case.person_name, case.channel, case.chat_id, case.topic) == (
        "How do pensions transfer?", "Sam", "telegram", "42", "Pensions")
    assert {"event": "pause", "timestamp": None} in events
    assert "Sam" in messages[0]["text"] and "cancel" in messages[0]["text"]
    run(handoff.ActionCreateHandoff(), tracker("skip", "deny", slots=slots))
    assert len(store.cases("waiting")) == 1  # asking twice does not open a second case


def test_a_rating_is_recorded_on_the_closed_case(store):
    case = store.open_case("person-1", "socketio", "q")
    store.close(case.id, None, "answered")
    tr = tracker("/rate_handoff", "rate_handoff")
    tr.latest_message["entities"] = [{"entity": "rating", "value": "4"}]
    messages, _ = run(handoff.ActionRecordRating(), tr)
    assert store.case(case.id).rating == 4 and "Thank you" in messages[0]["text"]
