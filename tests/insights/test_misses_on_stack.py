"""Misses recorded by the running assistant: "Did this help? No" (answered by a response, so
recorded by the Rasa server itself), a question asked again in other words straight after an
answer, and a handoff, whose adviser's reply and outcome join it when the case closes."""

from __future__ import annotations

import time

import pytest

from tests.support.assistant_stack import say_rest
from bot.insights._misses import MissStore

pytestmark = pytest.mark.slow


def misses_of(stack, sender, kinds=None, wait=10.0):
    deadline = time.monotonic() + wait
    while True:
        store = MissStore(stack.settings.handoff_store)
        found = [m for m in store.misses() if m.conversation_id == sender and (kinds is None or m.kind in kinds)]
        store.dispose()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.5)


def test_an_unhelpful_answer_and_a_question_asked_again_are_recorded(running_stack):
    replies = say_rest(running_stack, "miss-unhelpful", "How do I register a co-operative?")
    assert any("/guidance/" in (r.get("text") or "") for r in replies)
    say_rest(running_stack, "miss-unhelpful", "/feedback_unhelpful")
    [unhelpful] = misses_of(running_stack, "miss-unhelpful", {"unhelpful"})
    assert unhelpful.question == "How do I register a co-operative?" and unhelpful.source.startswith(
        "co-operative-society"
    )
    assert "Source:" in unhelpful.answer and unhelpful.channel == "rest"

    say_rest(running_stack, "miss-again", "How do I register a co-operative?")
    say_rest(running_stack, "miss-again", "how do we register as a co-op")
    [again] = misses_of(running_stack, "miss-again", {"rephrased"})
    assert again.question == "How do I register a co-operative?" and again.answer

    say_rest(running_stack, "miss-follow-up", "How do I register a co-operative?")
    say_rest(running_stack, "miss-follow-up", "how much does it cost to register a co-op")
    assert misses_of(running_stack, "miss-follow-up", {"rephrased"}, wait=2) == []  # a follow-up, not the same again
