"""The custom actions, run with a real Tracker and CollectingDispatcher (no server)."""
import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions

pytestmark = pytest.mark.slow


def tracker(text, intent="ask_question", entities=(), slots=None):
    return Tracker(
        sender_id="test", slots={"misses": 0.0, "adviser_offered": False, **(slots or {})},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 0.9},
                        "entities": [{"entity": e, "value": v} for e, v in entities]},
        events=[], paused=False, followup_action=None, active_loop={}, latest_action_name="action_listen",
    )


@pytest.fixture(autouse=True)
def the_desk(desk):
    actions.use_desk(desk)
    yield
    actions.use_desk(None)


def run(action, tr):
    dispatcher = CollectingDispatcher()
    events = asyncio.run(action.run(dispatcher, tr, {}))
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e["event"] == "slot"}


def test_a_question_is_answered_with_its_source():
    messages, slots = run(actions.ActionAnswerFromGuidance(), tracker("What is a community benefit society?"))
    [message] = messages
    assert "/guidance/community-benefit-society" in message["text"]
    assert message["buttons"] == []
    assert slots["adviser_offered"] is False and slots["misses"] == 0.0


def test_an_unanswerable_question_offers_an_adviser_and_counts_a_miss():
    messages, slots = run(actions.ActionAnswerFromGuidance(),
                          tracker("what's the best pizza topping", slots={"misses": 0.0}))
    [message] = messages
    assert "/guidance/" not in message["text"]
    assert {"title": "Talk to an adviser", "payload": "/request_human"} in message["buttons"]
    assert slots["adviser_offered"] is True and slots["misses"] == 1.0


def test_a_topic_button_answers_from_that_page():
    messages, _ = run(actions.ActionAnswerFromGuidance(),
                      tracker('/ask_question{"guidance_slug":"social-value"}',
                              entities=[("guidance_slug", "social-value")]))
    assert "/guidance/social-value" in messages[0]["text"]


def test_a_second_miss_in_a_row_starts_a_handoff():
    from rasa_sdk.events import FollowupAction  # noqa: F401  (the event's shape is checked below)
    dispatcher = CollectingDispatcher()
    events = asyncio.run(actions.ActionAnswerFromGuidance().run(
        dispatcher, tracker("what's the best pizza topping", slots={"misses": 1.0}), {}))
    assert {"event": "followup", "timestamp": None, "name": "action_request_human"} in events
    assert "adviser" in dispatcher.messages[0]["text"]


def test_answers_carry_their_sources_and_confidence_for_advisers_but_not_as_text():
    messages, _ = run(actions.ActionAnswerFromGuidance(), tracker("What is a community benefit society?"))
    guidance = messages[0]["guidance"]
    assert guidance["answered"] and guidance["sources"][0]["slug"] == "community-benefit-society"
    assert 0 < guidance["confidence"]
