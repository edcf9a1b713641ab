"""Patch: ``rasa.core.actions.action.RemoteAction._validate_action_result`` (private), wrapped.

Why: Rasa checks each action server response with ``jsonschema.validate``, which checks the
schema itself again on every call; that was most of a custom-action turn. A response that the
schema certainly accepts is passed by validators built once (one per event name, see
``_event_validators``); anything else, valid or not, goes to Rasa's own method, so every refusal
is Rasa's own verdict with Rasa's own error. Pinned by tests/dialogue/test_action_response_check.py.
"""

from __future__ import annotations

import functools

from ._marks import installed, mark

NAME = "fast_action_validation"
HOW = "wraps"
ATTRIBUTES = ["rasa.core.actions.action:RemoteAction._validate_action_result"]
TARGETS = ATTRIBUTES + ["rasa.core.actions.action:RemoteAction.action_response_format_spec"]


def install() -> None:
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    original = RemoteAction._validate_action_result
    if installed(original, NAME):
        return

    @functools.lru_cache(maxsize=1)
    def validators():
        # the validator class jsonschema.validate would pick, with the schema checked once
        schema = RemoteAction.action_response_format_spec()
        cls = validator_for(schema)
        cls.check_schema(schema)
        return _event_validators(schema, cls)

    def _validate_action_result(self, result):
        if _surely_valid(result, validators()):
            return True
        return original(self, result)  # Rasa's own check: its verdict and its error

    RemoteAction._validate_action_result = mark(_validate_action_result, NAME, original)


def _event_validators(schema, cls):
    """One validator per event name, for the schema an event of that name must meet.

    Rasa's event schema is ``{type, properties, required: [event], oneOf: [23 schemas]}`` where each
    of the 23 fixes ``event`` to a different constant, so an event whose ``event`` is one of those
    names meets ``oneOf`` exactly when it meets that name's schema (the other 22 fail on the
    constant). Checking only that one is what makes it ~20x cheaper than trying all 23 per event."""
    event_schema = schema["properties"]["events"]["items"]
    rest = {key: value for key, value in event_schema.items() if key != "oneOf"}
    out = {}
    for branch in event_schema["oneOf"]:
        name = branch["properties"]["event"]["const"]
        if name in out:  # two schemas for one name: not the shape assumed above; check everything
            return {}
        out[name] = cls({"allOf": [rest, branch]})
    return out


def _surely_valid(result, by_event) -> bool:
    """True only when ``result`` certainly meets the action response schema; False means "ask
    Rasa's own check" (which may still accept it)."""
    if type(result) is not dict or not by_event:
        return False
    if "responses" in result:
        responses = result["responses"]
        if type(responses) is not list or any(type(r) is not dict for r in responses):
            return False
    if "events" not in result:
        return True
    events = result["events"]
    if type(events) is not list:
        return False
    for event in events:
        if type(event) is not dict:
            return False
        validator = by_event.get(event.get("event")) if type(event.get("event")) is str else None
        if validator is None or not validator.is_valid(event):
            return False
    return True
