"""The limits on a running stack whose channels count in Redis (``MUTUALS_LIMITS_REDIS_URL``), as
each Rasa server behind a balancer does, with this test process as a second Rasa server drawing
on the same budget: a person gets the same HTTP 429, polite sentence or refused connection as
with one server, whichever server counted their earlier messages; and with Redis stopped the
channels keep answering (each server limiting on its own) until Redis is back.

The one-server tests of test_limits_on_channels.py run here too, against this stack."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest
import socketio

from bot.channels._limits import TOO_MANY_CONNECTIONS, TOO_MANY_FROM_ADDRESS, TOO_MANY_IN_CONVERSATION, ChannelLimits
from bot.stack import Stack

from tests.support.assistant_stack import stack_settings
from tests.support.servers import RedisProcess
from test_limits_on_channels import (  # noqa: F401 (the test_ functions are collected again, with this stack)
    ALLOWED,
    CONNECTIONS,
    PER_ADDRESS,
    PER_CONVERSATION,
    _connect,
    rest,
    tracker,
    test_rest_refuses_a_conversation_over_its_limit_with_429_and_rasa_never_sees_it,
    test_rest_refuses_an_address_over_its_limit_even_when_the_client_claims_another,
    test_socketio_answers_a_conversation_over_its_limit_politely,
    test_socketio_refuses_an_origin_not_in_the_allowed_list,
    test_socketio_refuses_connections_over_the_limit_per_address,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def redis():
    server = RedisProcess().start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def limited_stack(tmp_path_factory, redis):
    var_dir = tmp_path_factory.mktemp("limited-shared")
    settings = stack_settings(
        var_dir,
        messages_per_minute_per_conversation=PER_CONVERSATION,
        messages_per_minute_per_address=PER_ADDRESS,
        socketio_connections_per_address=CONNECTIONS,
        trust_proxy=1,
        allowed_origins=ALLOWED,
        limits_redis_url=redis.url,
    )
    with Stack(settings, log_dir=var_dir / "logs") as stack:
        yield stack


def other_server(redis, channel):
    """The same channel's limits on another Rasa server."""
    return ChannelLimits(
        PER_CONVERSATION, PER_ADDRESS, CONNECTIONS, trust_proxy=1, redis_url=redis.url, channel=channel
    )


def test_rest_counts_the_messages_another_server_took(limited_stack, redis):
    other = other_server(redis, "rest")
    sender, address = f"shared-{uuid.uuid4().hex[:8]}", "198.51.100.21"

    async def elsewhere(n, check, key):
        return [await check(key) for _ in range(n)]

    assert asyncio.run(elsewhere(PER_CONVERSATION - 1, other.check_conversation, sender)) == [None] * (
        PER_CONVERSATION - 1
    )
    assert rest(limited_stack, sender, "   ", address)[0] == 200, "the last message of the minute's budget"
    status, body = rest(limited_stack, sender, "How do I register a co-operative?", address)
    assert status == 429 and body == {"error": TOO_MANY_IN_CONVERSATION}
    texts = [e.get("text") for e in tracker(limited_stack, sender)["events"] if e["event"] == "user"]
    assert "How do I register a co-operative?" not in texts

    # and the other way round: what this stack counted holds the other server back
    fresh = f"shared-{uuid.uuid4().hex[:8]}"
    for _ in range(PER_CONVERSATION):
        assert rest(limited_stack, fresh, "   ", "198.51.100.22")[0] == 200
    refused = asyncio.run(elsewhere(1, other.check_conversation, fresh))[0]
    assert refused is not None and refused.sentence == TOO_MANY_IN_CONVERSATION

    # per address: the other server took all but one of this address's messages
    address = "198.51.100.23"
    assert asyncio.run(elsewhere(PER_ADDRESS - 1, other.check_address, address)) == [None] * (PER_ADDRESS - 1)
    assert rest(limited_stack, f"shared-{uuid.uuid4().hex[:8]}", "   ", address)[0] == 200
    assert rest(limited_stack, f"shared-{uuid.uuid4().hex[:8]}", "   ", address) == (
        429,
        {"error": TOO_MANY_FROM_ADDRESS},
    )


def test_socketio_counts_the_connections_another_server_holds(limited_stack, redis):
    other = other_server(redis, "socketio")
    address = "198.51.100.24"

    async def scenario():
        held = [await other.connect(address, f"elsewhere-{i}") for i in range(CONNECTIONS - 1)]
        url = limited_stack.settings.rasa_url
        client = await _connect(url, address)  # the last free place
        errors = []
        with pytest.raises(socketio.exceptions.ConnectionError):
            await _connect(url, address, errors=errors)
        await other.disconnect(address, "elsewhere-0")  # closed on the other server: a place is free here
        second = await _connect(url, address)
        blocked = not await other.connect(address, "elsewhere-again")  # and this stack's count the other's
        await client.disconnect()
        await second.disconnect()
        await asyncio.sleep(0.5)
        freed = await other.connect(address, "elsewhere-after")
        await other.aclose()
        return held, errors, blocked, freed

    held, errors, blocked, freed = asyncio.run(scenario())
    assert held == [True] * (CONNECTIONS - 1)
    assert TOO_MANY_CONNECTIONS in str(errors), errors
    assert blocked, "the stack's connections count on the other server"
    assert freed, "the stack's closed connections no longer count anywhere"


def test_with_redis_stopped_the_channels_keep_answering_and_limiting_then_share_again(limited_stack, redis):
    """Runs last: it stops this module's Redis (and starts it again)."""
    redis.stop()
    try:
        sender, address = f"outage-{uuid.uuid4().hex[:8]}", "198.51.100.25"
        status, replies = rest(limited_stack, sender, "How do I register a co-operative?", address)
        assert status == 200 and replies and replies[0].get("text"), "a real turn, not a failure"
        for _ in range(PER_CONVERSATION - 1):
            assert rest(limited_stack, sender, "   ", address)[0] == 200
        assert rest(limited_stack, sender, "   ", address) == (429, {"error": TOO_MANY_IN_CONVERSATION}), (
            "still limited, by this server alone"
        )

        async def connect():
            client = await _connect(limited_stack.settings.rasa_url, "198.51.100.26")
            await client.disconnect()

        asyncio.run(connect())
    finally:
        redis.start()
    log = (limited_stack.log_dir / "rasa.log").read_text(errors="replace").splitlines()
    warnings = [line for line in log if "limits (rest): Redis at" in line and "did not answer" in line]
    assert len(warnings) == 1, "one warning from the REST channel, not one per message"
    assert sender not in warnings[0] and address not in warnings[0], "the warning names nobody"

    time.sleep(6)  # a server leaves Redis alone for 5 s after it failed
    other = other_server(redis, "rest")
    fresh = f"outage-{uuid.uuid4().hex[:8]}"

    async def elsewhere():
        answers = [await other.check_conversation(fresh) for _ in range(PER_CONVERSATION - 1)]
        await other.aclose()
        return answers

    assert asyncio.run(elsewhere()) == [None] * (PER_CONVERSATION - 1)
    assert rest(limited_stack, fresh, "   ", "198.51.100.27")[0] == 200
    assert rest(limited_stack, fresh, "   ", "198.51.100.27") == (429, {"error": TOO_MANY_IN_CONVERSATION}), (
        "shared again once Redis answers"
    )
