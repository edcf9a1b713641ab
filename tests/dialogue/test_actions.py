"""The custom actions, run with a real Tracker and CollectingDispatcher (no server)."""

import asyncio

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import actions

pytestmark = pytest.mark.slow


def tracker(text, intent="ask_question", entities=(), slots=None):
    return Tracker(
        sender_id="test",
        slots={"misses": 0.0, "adviser_offered": False, **(slots or {})},
        latest_message={
            "text": text,
            "intent": {"name": intent, "confidence": 0.9},
            "entities": [{"entity": e, "value": v} for e, v in entities],
        },
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
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
    # no adviser offer on an answer; "Tell me more" and related questions, each naming a section
    assert all(
        b["payload"] == "/tell_me_more" or b["payload"].startswith('/ask_question{"guidance_slug":"')
        for b in message["buttons"]
    )
    assert 1 <= len(message["buttons"]) <= 4
    assert slots["adviser_offered"] is False and slots["misses"] == 0.0
    # the conversation keeps the question in play and the section it was answered from
    assert slots["guidance_context"]["question"] == "What is a community benefit society?"
    assert slots["guidance_context"]["passage_id"].startswith("community-benefit-society")


def test_an_unanswerable_question_offers_an_adviser_and_counts_a_miss():
    messages, slots = run(
        actions.ActionAnswerFromGuidance(), tracker("what's the best pizza topping", slots={"misses": 0.0})
    )
    [message] = messages
    assert "/guidance/" not in message["text"]
    assert {"title": "Talk to an adviser", "payload": "/request_human"} in message["buttons"]
    assert slots["adviser_offered"] is True and slots["misses"] == 1.0


def test_a_topic_button_answers_from_that_page():
    messages, _ = run(
        actions.ActionAnswerFromGuidance(),
        tracker('/ask_question{"guidance_slug":"social-value"}', entities=[("guidance_slug", "social-value")]),
    )
    assert "/guidance/social-value" in messages[0]["text"]


def test_a_second_miss_in_a_row_starts_a_handoff():
    from rasa_sdk.events import FollowupAction  # noqa: F401  (the event's shape is checked below)

    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        actions.ActionAnswerFromGuidance().run(
            dispatcher, tracker("can a mutual sponsor the local football team kit", slots={"misses": 1.0}), {}
        )
    )
    assert {"event": "followup", "timestamp": None, "name": "action_request_human"} in events
    assert "adviser" in dispatcher.messages[0]["text"]


def test_a_second_question_beside_the_guidance_is_signposted_not_handed_over():
    # an adviser here knows mutuals, not pizza: the signpost and its adviser button are the reply
    dispatcher = CollectingDispatcher()
    events = asyncio.run(
        actions.ActionAnswerFromGuidance().run(
            dispatcher, tracker("what's the best pizza topping", slots={"misses": 1.0}), {}
        )
    )
    assert not any(e.get("event") == "followup" for e in events)
    assert "outside what this guidance covers" in dispatcher.messages[0]["text"]


def test_answers_carry_their_sources_and_score_for_advisers_but_not_as_text():
    messages, _ = run(actions.ActionAnswerFromGuidance(), tracker("What is a community benefit society?"))
    guidance = messages[0]["guidance"]
    assert guidance["answered"] and guidance["sources"][0]["slug"] == "community-benefit-society"
    assert guidance["score"] >= guidance["threshold"] > 0
    assert guidance["section"].startswith("community-benefit-society")
    assert str(round(guidance["score"], 2)) not in messages[0]["text"]


def test_a_follow_up_is_answered_about_the_topic_in_play():
    _, slots = run(actions.ActionAnswerFromGuidance(), tracker("What are community shares?"))
    messages, slots = run(
        actions.ActionAnswerFromGuidance(),
        tracker("cool, is there a limit?", slots={"guidance_context": slots["guidance_context"]}),
    )
    assert "£100,000" in messages[0]["text"] and "/guidance/community-shares" in messages[0]["text"]
    assert messages[0]["guidance"]["reason"] == "answered_in_context"
    # asked with no conversation behind it, the same words are not enough to answer
    alone, _ = run(actions.ActionAnswerFromGuidance(), tracker("cool, is there a limit?"))
    assert "/guidance/" not in alone[0]["text"]


def test_tell_me_more_gives_the_rest_of_the_section_answered():
    first, slots = run(actions.ActionAnswerFromGuidance(), tracker("what are the risks of buying community shares"))
    assert {"title": "Tell me more", "payload": "/tell_me_more"} in first[0]["buttons"]
    more, _ = run(
        actions.ActionAnswerFromGuidance(),
        tracker("tell me more", intent="tell_me_more", slots={"guidance_context": slots["guidance_context"]}),
    )
    shown = first[0]["text"].split("\n\nSource:")[0]
    whole = more[0]["text"].split("\n\nSource:")[0]
    assert len(whole) > len(shown) and all(sentence in whole for sentence in shown.split(". "))
    assert "Financial Services Compensation Scheme" in whole


def test_a_clarification_picked_answers_the_question_that_was_asked(desk):
    from bot.guidance import Context

    # the person was asked "Do you mean … or …?" about limits and picked the community shares section
    context = {
        "question": "is there a limit on how much one person can hold",
        "clarifying": True,
        "passage_id": "community-shares#what-are-community-shares",
    }
    picked = "community-shares#how-much-can-one-person-put-in-and-how-many-votes-do-they-get"
    messages, slots = run(
        actions.ActionAnswerFromGuidance(),
        tracker(
            '/ask_question{"guidance_slug":"%s"}' % picked,
            entities=[("guidance_slug", picked)],
            slots={"guidance_context": context},
        ),
    )
    assert "£100,000" in messages[0]["text"]
    assert slots["guidance_context"]["passage_id"] == picked and not slots["guidance_context"]["clarifying"]
    assert isinstance(Context(**slots["guidance_context"]), Context)


def test_a_masked_number_is_left_out_of_the_question_searched():
    with_number, _ = run(
        actions.ActionAnswerFromGuidance(),
        tracker("my card number is [card number removed] how do we register a co-operative"),
    )
    plain, _ = run(actions.ActionAnswerFromGuidance(), tracker("how do we register a co-operative"))
    assert with_number[0]["guidance"]["section"] == plain[0]["guidance"]["section"]
    assert with_number[0]["guidance"]["score"] == plain[0]["guidance"]["score"]
