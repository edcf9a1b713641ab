"""The limiter both public channels use (bot/channels/_limits.py), with a clock of our own: in
memory (one Rasa server), and shared through a real Redis by two limiters standing for two Rasa
servers behind a balancer, including what happens when that Redis stops."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid

import pytest

from bot.channels._limits import (
    TOO_MANY_FROM_ADDRESS,
    TOO_MANY_IN_CONVERSATION,
    ChannelLimits,
    ConnectionCounter,
    RateLimiter,
    Refusal,
    client_address,
)
from bot.settings import Settings, SettingsError
from tests.support.servers import RedisProcess


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_up_to_the_limit_then_one_message_per_share_of_the_minute():
    clock = Clock()
    limiter = RateLimiter(30, clock)
    assert all(limiter.allow("a") for _ in range(30))
    assert not limiter.allow("a")
    assert limiter.allow("b"), "keys are independent"
    assert limiter.retry_after("a") == 2  # 60 s / 30
    clock.now += 1.9
    assert not limiter.allow("a")
    clock.now += 0.2
    assert limiter.allow("a") and not limiter.allow("a")
    clock.now += 60
    assert sum(limiter.allow("a") for _ in range(40)) == 30, "a quiet minute refills the bucket, no more"


def test_refused_attempts_do_not_use_up_the_allowance():
    clock = Clock()
    limiter = RateLimiter(2, clock)
    assert limiter.allow("a") and limiter.allow("a")
    for _ in range(50):
        assert not limiter.allow("a")
    clock.now += 30
    assert limiter.allow("a")


def test_zero_means_no_limit():
    limiter = RateLimiter(0, Clock())
    assert all(limiter.allow("a") for _ in range(10_000))
    assert len(limiter) == 0 and limiter.retry_after("a") == 0
    counter = ConnectionCounter(0)
    assert all(counter.open("x") for _ in range(1000))


def test_idle_keys_are_forgotten_and_the_number_of_keys_is_bounded():
    clock = Clock()
    limiter = RateLimiter(5, clock, max_keys=100)
    for i in range(1000):  # someone inventing a conversation id for each message
        limiter.allow(f"k{i}")
        clock.now += 0.001
        assert len(limiter) <= 100
    clock.now += 61
    limiter.allow("late")
    assert len(limiter) == 1


def test_connections_are_counted_per_address_and_released():
    counter = ConnectionCounter(2)
    assert counter.open("1.2.3.4") and counter.open("1.2.3.4")
    assert not counter.open("1.2.3.4")
    assert counter.open("5.6.7.8")
    counter.close("1.2.3.4")
    assert counter.count("1.2.3.4") == 1 and counter.open("1.2.3.4")
    counter.close("9.9.9.9")  # closing what was never opened is harmless
    assert counter.count("9.9.9.9") == 0


def test_the_client_address_comes_from_x_forwarded_for_only_behind_trusted_proxies():
    headers = {"X-Forwarded-For": "6.6.6.6, 203.0.113.7"}  # the client claimed 6.6.6.6; our proxy saw .7
    assert client_address("127.0.0.1", headers, 0) == "127.0.0.1"
    assert client_address("127.0.0.1", headers, 1) == "203.0.113.7"
    assert client_address("127.0.0.1", headers, 2) == "6.6.6.6"
    assert client_address("127.0.0.1", {"X-Forwarded-For": "203.0.113.7"}, 3) == "203.0.113.7"
    assert client_address("127.0.0.1", {}, 1) == "127.0.0.1"
    assert client_address(None, {}, 0) == "unknown"


def test_channel_limits_come_from_settings_with_generous_defaults():
    settings = Settings.from_env(env={})
    assert (
        settings.messages_per_minute_per_conversation,
        settings.messages_per_minute_per_address,
        settings.socketio_connections_per_address,
        settings.trust_proxy,
    ) == (30, 120, 20, 0)
    env = {
        "MUTUALS_MESSAGES_PER_MINUTE_PER_CONVERSATION": "2",
        "MUTUALS_MESSAGES_PER_MINUTE_PER_ADDRESS": "3",
        "MUTUALS_SOCKETIO_CONNECTIONS_PER_ADDRESS": "4",
        "MUTUALS_TRUST_PROXY": "1",
    }
    clock = Clock()
    limits = ChannelLimits.from_settings(Settings.from_env(env=env), clock)
    assert not limits.shared, "no Redis configured: counted in this process"

    async def scenario():
        conversation = [await limits.check_conversation("c") for _ in range(3)]
        address = [await limits.check_address("a") for _ in range(4)]
        return conversation, address

    conversation, address = asyncio.run(scenario())
    assert conversation[:2] == [None, None]
    assert conversation[2] == Refusal(TOO_MANY_IN_CONVERSATION, 30)  # 60 s / 2 until the next message
    assert address[:3] == [None] * 3 and address[3] == Refusal(TOO_MANY_FROM_ADDRESS, 20)
    assert limits.connections.limit == 4 and limits.trust_proxy == 1
    assert limits.address_of("10.0.0.1", {"X-Forwarded-For": "198.51.100.1"}) == "198.51.100.1"


def test_without_redis_each_rasa_server_counts_on_its_own():
    """The one-machine default: nothing shared, nothing extra needed (and why Redis is needed for more)."""
    one, two = ChannelLimits(2, 0, clock=Clock()), ChannelLimits(2, 0, clock=Clock())

    async def scenario():
        return [await limits.check_conversation("c") for limits in (one, two, one, two, one)]

    assert asyncio.run(scenario()) == [None, None, None, None, Refusal(TOO_MANY_IN_CONVERSATION, 30)]


def test_the_limits_are_shared_in_the_lock_stores_redis_unless_told_otherwise():
    def where(**env):
        return Settings.from_env(env={f"MUTUALS_{k.upper()}": v for k, v in env.items()}).limits_redis

    assert where() == ""
    assert where(lock_store_url="redis://cache:6379/0") == "redis://cache:6379/0"
    assert where(lock_store_url="in_memory") == ""
    assert (
        where(lock_store_url="redis://cache:6379/0", limits_redis_url="rediss://other:6380/2")
        == "rediss://other:6380/2"
    )
    assert where(lock_store_url="redis://cache:6379/0", limits_redis_url="in_memory") == ""
    with pytest.raises(SettingsError, match="MUTUALS_LIMITS_REDIS_URL"):
        where(limits_redis_url="memcached://cache")
    settings = Settings.from_env(env={"MUTUALS_LOCK_STORE_URL": "redis://127.0.0.1:1/0"})
    assert ChannelLimits.from_settings(settings, channel="rest").shared


# --- two Rasa servers sharing a real Redis ------------------------------------------------------


@pytest.fixture(scope="module")
def redis_url():
    from tests.support.servers import redis_server

    with redis_server() as url:
        yield f"{url}/0"


def two_servers(redis_url, per_conversation=3, per_address=5, connections=2, **kwargs):
    """Two limiters on one Redis, as the REST channels of two Rasa servers would have them."""
    return tuple(
        ChannelLimits(per_conversation, per_address, connections, redis_url=redis_url, channel="rest", **kwargs)
        for _ in range(2)
    )


def test_two_rasa_servers_share_one_budget_per_conversation(redis_url):
    one, two = two_servers(redis_url)
    conversation, other = f"c-{uuid.uuid4().hex}", f"c-{uuid.uuid4().hex}"

    async def scenario():
        answers = [await limits.check_conversation(conversation) for limits in (one, two, one, two, one)]
        return answers, await two.check_conversation(other)

    answers, elsewhere = asyncio.run(scenario())
    assert answers[:3] == [None, None, None], "three messages across the two servers: the limit"
    assert answers[3] is not None and answers[3].sentence == TOO_MANY_IN_CONVERSATION
    assert 1 <= answers[3].retry_after <= 20  # a token every 60 s / 3
    assert answers[4] is not None and answers[4].sentence == TOO_MANY_IN_CONVERSATION, "refused on both"
    assert elsewhere is None, "another conversation is not held back"


def test_two_rasa_servers_share_one_budget_per_address_but_each_channel_its_own(redis_url):
    one, two = two_servers(redis_url)
    socketio = ChannelLimits(3, 5, 2, redis_url=redis_url, channel="socketio")
    address = f"198.51.100.{uuid.uuid4().int % 250}-{uuid.uuid4().hex[:6]}"

    async def scenario():
        answers = [await (one if i % 2 else two).check_address(address) for i in range(6)]
        return answers, await socketio.check_address(address)

    answers, on_socketio = asyncio.run(scenario())
    assert answers[:5] == [None] * 5
    assert answers[5] is not None and answers[5].sentence == TOO_MANY_FROM_ADDRESS
    assert on_socketio is None, "the widget's budget is its own, as with one server"


def test_a_burst_sent_at_once_is_refused_from_the_first_message_over_the_limit(redis_url):
    """socket.io handles a browser's events concurrently: the messages over the limit must be the
    last ones sent, as in memory, not whichever reached Redis last."""
    one, _ = two_servers(redis_url, per_conversation=5)
    conversation = f"c-{uuid.uuid4().hex}"

    async def scenario():
        answers = await asyncio.gather(*(one.check_conversation(conversation) for _ in range(12)))
        await one.aclose()
        return answers

    answers = asyncio.run(scenario())
    assert [a is None for a in answers] == [True] * 5 + [False] * 7


def test_the_shared_bucket_refills_a_message_at_a_time_as_in_memory(redis_url):
    one, two = two_servers(redis_url, per_conversation=120)  # a message every 0.5 s after the burst
    conversation = f"c-{uuid.uuid4().hex}"

    async def scenario():
        burst = [await (one if i % 2 else two).check_conversation(conversation) for i in range(121)]
        await asyncio.sleep(0.6)
        return burst, [await one.check_conversation(conversation), await two.check_conversation(conversation)]

    burst, later = asyncio.run(scenario())
    assert burst[:120] == [None] * 120 and burst[120] == Refusal(TOO_MANY_IN_CONVERSATION, 1)
    assert later[0] is None and later[1] is not None, "half a second later: one more message, not two"


def test_redis_keys_name_no_address_or_conversation_and_expire(redis_url):
    import redis

    one, _ = two_servers(redis_url)
    marker = f"192.0.2.{uuid.uuid4().int % 250}"

    async def scenario():
        await one.check_address(marker)
        await one.check_conversation(f"conversation-{marker}")
        await one.connect(marker, "sid-1")
        await one.aclose()

    asyncio.run(scenario())
    client = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in client.keys("mutuals:limit:rest:*")]
    assert keys and not [k for k in keys if marker in k]
    assert {k.split(":")[3] for k in keys} >= {"address", "conversation", "connections"}
    assert all(0 < client.pttl(k) <= 60_000 for k in keys)


def test_connections_from_an_address_are_counted_across_servers(redis_url):
    one, two = two_servers(redis_url, connections=2)
    address = f"198.51.100.{uuid.uuid4().hex[:6]}"

    async def scenario():
        opened = [
            await one.connect(address, "a"),
            await two.connect(address, "b"),
            await two.connect(address, "c"),
            await one.connect(address, "d"),
        ]
        elsewhere = await one.connect(f"{address}-other", "e")
        await one.disconnect(address, "a")  # a closed window frees its place on every server
        reopened = await two.connect(address, "c")
        await one.aclose()
        await two.aclose()
        return opened, elsewhere, reopened

    opened, elsewhere, reopened = asyncio.run(scenario())
    assert opened == [True, True, False, False]
    assert elsewhere and reopened


def test_a_crashed_servers_connections_stop_counting_and_a_live_ones_keep_counting(redis_url):
    ttl = 1.5  # seconds a connection counts unless its server re-scores it (60 in production)
    live, crashed = two_servers(redis_url, connections=2, connection_ttl=ttl)
    other = ChannelLimits(3, 5, 2, redis_url=redis_url, channel="rest", connection_ttl=ttl)
    address = f"198.51.100.{uuid.uuid4().hex[:6]}"

    async def scenario():
        assert await live.connect(address, "live") and await crashed.connect(address, "lost")
        # the crash: no disconnects and no more refreshing, the connections just stay in Redis
        await crashed.aclose()
        refused_at_once = not await other.connect(address, "new-1")
        await asyncio.sleep(ttl * 2)  # the live server re-scores its connection meanwhile
        after = [await other.connect(address, "new-1"), await other.connect(address, "new-2")]
        await live.aclose()
        await other.aclose()
        return refused_at_once, after

    refused_at_once, after = asyncio.run(scenario())
    assert refused_at_once, "until the ttl passes the crashed server's connection still counts"
    assert after == [True, False], "the crashed server's place is free again; the live server's is not"


def test_when_redis_stops_the_limits_fall_back_to_each_server_and_come_back(caplog):
    redis = RedisProcess().start()
    clock = Clock()
    one, two = two_servers(redis.url, per_conversation=3, connections=2, clock=clock)
    conversation, address = f"c-{uuid.uuid4().hex}", "203.0.113.77"
    caplog.set_level(logging.INFO, logger="bot.channels._limits")
    try:

        async def before():
            return [await one.check_conversation(conversation), await two.check_conversation(conversation)]

        assert asyncio.run(before()) == [None, None]
        redis.stop()

        async def during():
            started = time.monotonic()
            answers = [await one.check_conversation(conversation) for _ in range(4)]
            answers.append(await two.check_conversation(conversation))
            connected = [await one.connect(address, f"s{i}") for i in range(3)]
            await one.disconnect(address, "s0")
            return answers, connected, time.monotonic() - started

        answers, connected, took = asyncio.run(during())
        # nobody is refused because Redis is away, and nothing raises: each server counts on its own
        assert answers[:3] == [None] * 3 and answers[3] == Refusal(TOO_MANY_IN_CONVERSATION, 20)
        assert answers[4] is None, "the other server has a budget of its own meanwhile"
        assert connected == [True, True, False]
        assert took < 5, "Redis is not waited for on every message"
        warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
        assert len(warnings) == 2, "one warning per server, not one per message"
        assert all("did not answer" in r.getMessage() for r in warnings)
        assert not [r for r in caplog.records if address in r.getMessage() or conversation in r.getMessage()]

        redis.start()
        clock.now += 6  # past the 5 s during which a server leaves Redis alone after a failure
        fresh = f"c-{uuid.uuid4().hex}"

        async def after():
            return [await limits.check_conversation(fresh) for limits in (one, two, one, two)]

        answers = asyncio.run(after())
        assert answers[:3] == [None] * 3 and answers[3] is not None, "shared again once Redis answers"
        assert any("answers again" in r.getMessage() for r in caplog.records)
    finally:
        redis.stop()
