"""REST and the web chat's socket.io channel give the same verdict on the same message: both go
through one admission (bot/channels/_admission.py) and differ only in how they answer. A
malformed request is refused (REST: HTTP 400; the widget: "Sorry, I couldn't read that
message."), a message with nothing to search gets the same polite reply, and neither reaches
Rasa; a good message runs a turn on both."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid

import pytest
import socketio

from tests.support.assistant_stack import post_json

pytestmark = pytest.mark.slow

COULD_NOT_READ = "Sorry, I couldn't read that message."
GOOD_ID = "same-verdict-0001"

# (what is sent besides the conversation, the verdict both channels must give)
CASES = [
    ({"message": "hello", "message_id": "short"}, "refused"),  # 8 to 64 characters
    ({"message": "hello", "message_id": "id with spaces"}, "refused"),
    ({"message": "hello", "message_id": 12345678}, "refused"),
    ({"message": "hello", "message_id": ["a" * 10]}, "refused"),
    ({"message": 7}, "refused"),
    ({"message": ["a"]}, "refused"),
    ({"message": {"text": "hello"}}, "refused"),
    ({"message": "hello", "metadata": "not an object"}, "refused"),
    ({"message": "hello", "metadata": [1, 2]}, "refused"),
    ({"message": "x" * 5000}, "reply"),  # too long
    ({"message": ""}, "reply"),  # empty
    ({"message": "   "}, "reply"),
    ({"message": "x" * 5000, "message_id": "short"}, "refused"),  # a malformed id before the length
]


def user_texts(stack, conversation):
    url = f"{stack.settings.rasa_url}/conversations/{conversation}/tracker?token={stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return [e.get("text") for e in json.loads(response.read())["events"] if e["event"] == "user"]


def rest_verdict(stack, sender, fields):
    status, replies = post_json(f"{stack.settings.rasa_url}/webhooks/rest/webhook", {"sender": sender, **fields})
    if status == 400:
        return "refused", None
    assert status == 200 and isinstance(replies, list), (status, replies)
    return "turn or reply", [r.get("text") for r in replies]


class Widget:
    def __init__(self, url):
        self.url, self.client = url, socketio.AsyncClient(reconnection=False)
        self.received, self.sessions = [], []
        self.client.on("bot_uttered", self.received.append)
        self.client.on("session_confirm", self.sessions.append)

    async def wait(self, condition, timeout):
        for _ in range(int(timeout / 0.05)):
            if condition():
                return True
            await asyncio.sleep(0.05)
        return condition()

    async def start(self):
        await self.client.connect(self.url, transports=["polling"], socketio_path="/socket.io", wait_timeout=10)
        await self.client.emit("session_request", {"session_id": None})
        assert await self.wait(lambda: self.sessions, 10)
        return self

    async def say(self, fields, timeout=60.0):
        """The texts the widget got for this message (the first reply and whatever came with it)."""
        before = len(self.received)
        await self.client.emit("user_uttered", {"session_id": self.sessions[0], **fields})
        assert await self.wait(lambda: len(self.received) > before, timeout), fields
        await asyncio.sleep(0.3)  # anything sent with it
        return [m.get("text") for m in self.received[before:]]


def widget_verdict(texts):
    return ("refused", None) if texts == [COULD_NOT_READ] else ("turn or reply", texts)


def test_rest_and_the_widget_give_the_same_verdict_on_the_same_bad_input(running_stack):
    stack = running_stack

    async def widget_side():
        widget = await Widget(stack.settings.rasa_url).start()
        try:
            return widget.sessions[0], [widget_verdict(await widget.say(fields)) for fields, _ in CASES]
        finally:
            await widget.client.disconnect()

    session, by_widget = asyncio.run(widget_side())
    senders = [f"verdict-{uuid.uuid4().hex[:10]}" for _ in CASES]
    by_rest = [rest_verdict(stack, sender, fields) for sender, (fields, _) in zip(senders, CASES)]
    for (fields, expected), rest, widget in zip(CASES, by_rest, by_widget):
        described = {k: (v[:20] + "..." if isinstance(v, str) and len(v) > 20 else v) for k, v in fields.items()}
        assert rest == widget, (described, rest, widget)
        if expected == "refused":
            assert rest == ("refused", None), (described, rest)
        else:  # the same polite reply, one message, from the channel (nothing reaches Rasa)
            assert rest[0] == "turn or reply" and len(rest[1]) == 1 and rest[1][0], (described, rest)
    # none of them reached Rasa
    assert user_texts(stack, session) == []
    for sender in senders:
        assert user_texts(stack, sender) == []


def test_a_good_message_with_its_id_runs_a_turn_on_both(running_stack):
    stack = running_stack
    sender = f"verdict-{uuid.uuid4().hex[:10]}"
    verdict, texts = rest_verdict(stack, sender, {"message": "hello", "message_id": GOOD_ID})
    assert verdict == "turn or reply" and texts
    assert user_texts(stack, sender) == ["hello"]

    async def widget_side():
        widget = await Widget(stack.settings.rasa_url).start()
        try:
            return widget.sessions[0], await widget.say({"message": "hello", "message_id": GOOD_ID})
        finally:
            await widget.client.disconnect()

    session, widget_texts = asyncio.run(widget_side())
    assert widget_texts and widget_texts != [COULD_NOT_READ]
    assert user_texts(stack, session) == ["hello"]
