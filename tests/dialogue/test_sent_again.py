"""A message sent again with the id it was first sent with (after a timeout, a dropped
connection, a load balancer trying another server) gets the same answer and is not handled
twice: the conversation holds it once. See bot/channels/_message_ids.py."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.support.assistant_stack import post_json
from tests.support.person_and_adviser import WidgetPerson

pytestmark = pytest.mark.slow


def tracker_events(stack, conversation_id):
    import json
    import urllib.request

    url = f"{stack.settings.rasa_url}/conversations/{conversation_id}/tracker?token={stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as r:
        return json.loads(r.read())["events"]


def user_texts(events):
    return [e["text"] for e in events if e["event"] == "user"]


def rest(stack, body, headers=None):
    return post_json(f"{stack.settings.rasa_url}/webhooks/rest/webhook", body, headers)


def test_a_rest_message_sent_again_with_its_id_gets_the_same_answer_and_is_kept_once(running_stack):
    sender = f"again-{uuid.uuid4().hex[:8]}"
    question = {"sender": sender, "message": "What is an asset lock?", "message_id": "m-0001-asset-lock"}
    status, first = rest(running_stack, question)
    assert status == 200 and "/guidance/asset-locks" in first[0]["text"], first
    status, again = rest(running_stack, question)
    assert status == 200 and again == first
    assert user_texts(tracker_events(running_stack, sender)) == ["What is an asset lock?"]

    # a new id is a new message, answered and kept again
    status, second = rest(running_stack, {**question, "message_id": "m-0002-asset-lock"})
    assert status == 200 and "/guidance/asset-locks" in second[0]["text"]
    assert user_texts(tracker_events(running_stack, sender)) == ["What is an asset lock?"] * 2

    # without an id nothing is de-duplicated: the same words twice are two messages
    rest(running_stack, {"sender": sender, "message": "thanks"})
    rest(running_stack, {"sender": sender, "message": "thanks"})
    assert user_texts(tracker_events(running_stack, sender)).count("thanks") == 2


def test_the_request_id_a_proxy_adds_makes_a_retry_safe_and_a_bad_message_id_is_refused(running_stack):
    sender = f"again-{uuid.uuid4().hex[:8]}"
    header = {"X-Request-ID": uuid.uuid4().hex}  # what nginx sends to each server it tries
    status, first = rest(running_stack, {"sender": sender, "message": "What is TUPE?"}, header)
    assert status == 200 and first
    status, again = rest(running_stack, {"sender": sender, "message": "What is TUPE?"}, header)
    assert status == 200 and again == first
    assert user_texts(tracker_events(running_stack, sender)) == ["What is TUPE?"]

    for bad in (5, "short", "x" * 65, "bad id with spaces", ["list"]):
        status, body = rest(running_stack, {"sender": sender, "message": "hello", "message_id": bad})
        assert status == 400 and "message_id" in body["error"], (bad, body)
    assert user_texts(tracker_events(running_stack, sender)) == ["What is TUPE?"]  # none of them reached Rasa


def test_a_widget_message_sent_again_after_a_lost_connection_is_answered_once(running_stack):
    async def scenario():
        person = await WidgetPerson(running_stack.settings.rasa_url).connect()
        try:
            first = await person.say("What is a community benefit society?", message_id="w-0001-cbs-question")
            assert "/guidance/community-benefit-society" in first[0]["text"], first
            # the widget did not see the answer (say the connection dropped) and sends it again
            again = await person.say("What is a community benefit society?", message_id="w-0001-cbs-question")
            assert [m["text"] for m in again] == [m["text"] for m in first]
            events = await asyncio.to_thread(tracker_events, running_stack, person.session_id)
            assert user_texts(events) == ["What is a community benefit society?"]
            # the history carries the id, so a reconnecting widget can tell it was received
            history = []
            person.client.on("history", lambda data: history.extend(data["messages"]))
            await person.client.emit("history_request", {"session_id": person.session_id})
            await person.wait_for(lambda: history)
            assert [m.get("message_id") for m in history if m["sender"]["kind"] == "user"] == ["w-0001-cbs-question"]
        finally:
            await person.close()

    asyncio.run(scenario())
