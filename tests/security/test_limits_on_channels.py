"""The limits on a running stack of our own with small limits: the REST channel answers HTTP 429
with a sentence, the socket.io channel a polite message or a refused connection, and a refused
message never reaches Rasa. Behind a (pretend) reverse proxy: MUTUALS_TRUST_PROXY=1, so each test
speaks from an address of its own by X-Forwarded-For."""

from __future__ import annotations

import asyncio
import json
import urllib.request
import uuid

import pytest
import socketio

from tests.support.assistant_stack import post_json, stack_settings
from bot.channels._limits import TOO_MANY_CONNECTIONS, TOO_MANY_FROM_ADDRESS, TOO_MANY_IN_CONVERSATION
from bot.stack import Stack

pytestmark = pytest.mark.slow

PER_CONVERSATION, PER_ADDRESS, CONNECTIONS = 3, 8, 2
ALLOWED = "https://allowed.example"


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory):
    var_dir = tmp_path_factory.mktemp("limited")
    settings = stack_settings(
        var_dir,
        messages_per_minute_per_conversation=PER_CONVERSATION,
        messages_per_minute_per_address=PER_ADDRESS,
        socketio_connections_per_address=CONNECTIONS,
        trust_proxy=1,
        allowed_origins=ALLOWED,
    )
    with Stack(settings, log_dir=var_dir / "logs") as stack:
        yield stack


def rest(stack, sender, message, address):
    return post_json(
        f"{stack.settings.rasa_url}/webhooks/rest/webhook",
        {"sender": sender, "message": message},
        headers={"X-Forwarded-For": address},
    )


def tracker(stack, sender):
    url = f"{stack.settings.rasa_url}/conversations/{sender}/tracker?token={stack.settings.rasa_token}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def test_rest_refuses_a_conversation_over_its_limit_with_429_and_rasa_never_sees_it(limited_stack):
    sender = f"limits-{uuid.uuid4().hex[:8]}"
    for _ in range(PER_CONVERSATION):
        status, replies = rest(limited_stack, sender, "   ", "198.51.100.1")  # polite "empty" replies
        assert status == 200 and "empty" in replies[0]["text"]
    status, body = rest(limited_stack, sender, "How do I register a co-operative?", "198.51.100.1")
    assert status == 429 and body == {"error": TOO_MANY_IN_CONVERSATION}
    texts = [e.get("text") for e in tracker(limited_stack, sender)["events"] if e["event"] == "user"]
    assert "How do I register a co-operative?" not in texts
    other = f"limits-{uuid.uuid4().hex[:8]}"
    assert rest(limited_stack, other, "   ", "198.51.100.1")[0] == 200, "another conversation is not held back"


def test_rest_refuses_an_address_over_its_limit_even_when_the_client_claims_another(limited_stack):
    address = "198.51.100.2"
    for i in range(PER_ADDRESS):
        assert rest(limited_stack, f"addr-{i}-{uuid.uuid4().hex[:6]}", "   ", address)[0] == 200
    status, body = rest(limited_stack, "addr-over", "   ", address)
    assert status == 429 and body == {"error": TOO_MANY_FROM_ADDRESS}
    # what the client put in X-Forwarded-For itself comes first; our proxy appends what it saw
    assert rest(limited_stack, "addr-spoof", "   ", f"203.0.113.99, {address}")[0] == 429
    assert rest(limited_stack, "addr-elsewhere", "   ", "198.51.100.3")[0] == 200
    # malformed requests count too, and are still told what is wrong once under the limit
    assert (
        post_json(
            f"{limited_stack.settings.rasa_url}/webhooks/rest/webhook", b"{nope", headers={"X-Forwarded-For": address}
        )[0]
        == 429
    )


async def _connect(url, address, origin=None, errors=None):
    client = socketio.AsyncClient(reconnection=False)
    if errors is not None:
        client.on("connect_error", lambda data: errors.append(data))
    headers = {"X-Forwarded-For": address}
    if origin:
        headers["Origin"] = origin
    await client.connect(url, transports=["polling"], socketio_path="/socket.io", headers=headers, wait_timeout=10)
    return client


def test_socketio_refuses_connections_over_the_limit_per_address(limited_stack):
    async def scenario():
        url = limited_stack.settings.rasa_url
        clients = [await _connect(url, "198.51.100.4") for _ in range(CONNECTIONS)]
        errors = []
        with pytest.raises(socketio.exceptions.ConnectionError):
            await _connect(url, "198.51.100.4", errors=errors)
        assert TOO_MANY_CONNECTIONS in str(errors), errors  # the widget shows this sentence
        other = await _connect(url, "198.51.100.5")  # another address is not held back
        await clients.pop().disconnect()
        await asyncio.sleep(0.5)
        clients.append(await _connect(url, "198.51.100.4"))  # a closed connection frees its place
        for client in clients + [other]:
            await client.disconnect()

    asyncio.run(scenario())


def test_socketio_answers_a_conversation_over_its_limit_politely(limited_stack):
    async def scenario():
        client = await _connect(limited_stack.settings.rasa_url, "198.51.100.6")
        received, session = [], []
        client.on("bot_uttered", lambda m: received.append(m))
        client.on("session_confirm", lambda s: session.append(s))
        await client.emit("session_request", {"session_id": None})
        for _ in range(100):
            if session:
                break
            await asyncio.sleep(0.1)
        for _ in range(PER_CONVERSATION):
            await client.emit("user_uttered", {"session_id": session[0], "message": "   "})
        await client.emit("user_uttered", {"session_id": session[0], "message": "How do I register a co-op?"})
        for _ in range(100):
            if len(received) > PER_CONVERSATION:
                break
            await asyncio.sleep(0.1)
        await client.disconnect()
        return session[0], received

    session_id, received = asyncio.run(scenario())
    assert [m["text"] for m in received][-1] == TOO_MANY_IN_CONVERSATION
    assert all("empty" in m["text"] for m in received[:PER_CONVERSATION])
    texts = [e.get("text") for e in tracker(limited_stack, session_id)["events"] if e["event"] == "user"]
    assert "How do I register a co-op?" not in texts


def test_socketio_refuses_an_origin_not_in_the_allowed_list(limited_stack):
    async def scenario():
        url = limited_stack.settings.rasa_url
        with pytest.raises(socketio.exceptions.ConnectionError):
            await _connect(url, "198.51.100.7", origin="https://evil.example")
        client = await _connect(url, "198.51.100.7", origin=ALLOWED)
        await client.disconnect()

    asyncio.run(scenario())
