"""The Rasa server's fast check of an action server's response
(bot/rasa_patches/fast_action_validation.py) gives the same verdict as Rasa's own, ``jsonschema.validate``
against ``RemoteAction.action_response_format_spec()``, on valid and invalid responses: an
invalid one must never get through, a valid one must never be refused."""

from __future__ import annotations

import copy
import datetime

import jsonschema
import pytest
from jsonschema.validators import validator_for
from rasa.core.actions.action import RemoteAction
from rasa.shared.core import events as rasa_events

from bot.rasa_patches.fast_action_validation import _event_validators, _surely_valid
from bot.rasa_patches.fast_action_validation import install as install_fast_action_validation

SCHEMA = RemoteAction.action_response_format_spec()
ACTION = RemoteAction("action_under_test", None)  # the check is a method of the action it runs for
REFERENCE = validator_for(SCHEMA)(SCHEMA)  # what jsonschema.validate does, after checking the schema once
WHEN = datetime.datetime(2026, 12, 1, 12, 0).timestamp()


def rasa_made_events():
    """One event of every kind an action may return, as Rasa itself writes it."""
    made = [
        rasa_events.UserUttered(
            "hello",
            {"name": "greet", "confidence": 0.9},
            [{"entity": "rating", "value": "4", "start": 0, "end": 1}],
            parse_data={
                "text": "hello",
                "intent": {"name": "greet", "confidence": 0.9},
                "entities": [],
                "intent_ranking": [],
            },
            input_channel="rest",
            message_id="m-123456",
        ),
        rasa_events.BotUttered("Hi!", {"buttons": [{"title": "1", "payload": "/rate"}]}, {"sender": "adviser"}),
        rasa_events.SlotSet("handoff_case", 3.0),
        rasa_events.SlotSet("last_topic", None),
        rasa_events.ActionExecuted("action_listen", policy="RulePolicy", confidence=1.0),
        rasa_events.ConversationPaused(),
        rasa_events.ConversationResumed(),
        rasa_events.FollowupAction("utter_x"),
        rasa_events.Restarted(),
        rasa_events.AllSlotsReset(),
        rasa_events.UserUtteranceReverted(),
        rasa_events.ActionReverted(),
        rasa_events.StoryExported("story.md"),
        rasa_events.ActiveLoop("handoff_form"),
        rasa_events.ActiveLoop(None),
        rasa_events.LoopInterrupted(True),
        rasa_events.ActionExecutionRejected("action_x", policy="RulePolicy", confidence=0.5),
        rasa_events.SessionStarted(),
        rasa_events.EntitiesAdded([{"entity": "x", "value": "y"}]),
        rasa_events.DefinePrevUserUtteredFeaturization(False),
        rasa_events.AgentUttered("x", {"y": 1}),
        rasa_events.ReminderScheduled("greet", datetime.datetime(2027, 1, 1), name="r1"),
        rasa_events.ReminderCancelled(name="r1"),
    ]
    legacy = [{"event": "form", "name": "old_form"}, {"event": "form_validation", "validate": False}]  # Rasa 1
    return [dict(event.as_dict(), timestamp=WHEN) for event in made] + legacy


VALID_EVENTS = rasa_made_events()
WRONG_VALUES = [None, True, 1, 2.5, "text", [], [1], {}, {"name": 1}]

CASES = [
    {},
    {"events": []},
    {"responses": []},
    {"events": [], "responses": [{"text": "hi"}]},
    {"events": VALID_EVENTS, "responses": [{"text": "hi", "buttons": []}]},
    {"events": VALID_EVENTS[:1], "extra": 1},
    # invalid
    [],
    "events",
    None,
    {"events": None},
    {"events": {}},
    {"events": "slot"},
    {"responses": {}},
    {"responses": ["hi"]},
    {"responses": None},
    {"events": [None]},
    {"events": [[]]},
    {"events": ["slot"]},
    {"events": [{}]},
    {"events": [{"event": "no_such_event"}]},
    {"events": [{"event": 3}]},
    {"events": [{"event": None}]},
    {"events": [{"event": "slot", "timestamp": "noon"}]},
    {"events": [{"event": "slot", "metadata": []}]},
    {"events": [{"event": "user", "text": 5}]},
    {"events": [{"event": "bot", "data": "x"}]},
    {"events": [{"event": "action"}]},
    {"events": [{"event": "action", "name": None}]},
    {"events": VALID_EVENTS + [{"event": "followup"}]},
    {"events": [{"event": "user", "parse_data": {"entities": [{"value": 1}]}}]},
]


def verdict_of_rasa(result) -> bool:
    try:
        jsonschema.validate(result, SCHEMA)
    except jsonschema.ValidationError:
        return False
    return True


@pytest.fixture(scope="module")
def fast_check():
    original = RemoteAction._validate_action_result
    install_fast_action_validation()
    yield RemoteAction._validate_action_result
    RemoteAction._validate_action_result = original


def verdict_of_ours(check, result) -> bool:
    try:
        return check(ACTION, result)
    except jsonschema.ValidationError:
        return False


def test_every_kind_of_event_rasa_writes_is_valid():
    names = {event["event"] for event in VALID_EVENTS}
    assert names == set(_event_validators(SCHEMA, type(REFERENCE)))  # the schema's 23 kinds, each covered
    for event in VALID_EVENTS:
        assert verdict_of_rasa({"events": [event]}), event


@pytest.mark.parametrize("result", CASES)
def test_the_same_verdict_as_jsonschema_validate(fast_check, result):
    assert verdict_of_ours(fast_check, result) == verdict_of_rasa(result)


def mutants():
    """Every valid event with each field (and each field of its nested objects) given each wrong value."""
    for event in VALID_EVENTS:
        for path in paths(event):
            for wrong in WRONG_VALUES:
                mutant = copy.deepcopy(event)
                holder = mutant
                for key in path[:-1]:
                    holder = holder[key]
                holder[path[-1]] = wrong
                yield {"events": [mutant]}
            mutant = copy.deepcopy(event)
            holder = mutant
            for key in path[:-1]:
                holder = holder[key]
            del holder[path[-1]]
            yield {"events": [mutant]}


def paths(value, prefix=()):
    if isinstance(value, dict):
        for key, inner in value.items():
            yield prefix + (key,)
            yield from paths(inner, prefix + (key,))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            yield prefix + (i,)
            yield from paths(inner, prefix + (i,))


@pytest.mark.slow  # a thousand events through Rasa's own jsonschema check: about 18 s
def test_the_same_verdict_on_a_thousand_broken_events(fast_check):
    whole, by_event = REFERENCE, _event_validators(SCHEMA, type(REFERENCE))
    checked = invalid = 0
    for result in mutants():
        expected = whole.is_valid(result)
        if _surely_valid(result, by_event):
            assert expected, result  # the shortcut never accepts what Rasa would refuse
        assert verdict_of_ours(fast_check, result) == expected, result
        checked += 1
        invalid += not expected
    assert checked >= 1000 and invalid >= 500, (checked, invalid)


def test_a_refused_response_keeps_rasas_error(fast_check):
    with pytest.raises(jsonschema.ValidationError, match="Failed to validate Action server response"):
        fast_check(ACTION, {"events": [{"event": "slot", "timestamp": "noon"}]})
