"""The limiter both public channels use (bot/channels/_limits.py), with a clock of our own."""
from __future__ import annotations

from bot.channels._limits import (
    TOO_MANY_FROM_ADDRESS, TOO_MANY_IN_CONVERSATION, ChannelLimits, ConnectionCounter, RateLimiter, client_address,
)
from bot.settings import Settings


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
    assert (settings.messages_per_minute_per_conversation, settings.messages_per_minute_per_address,
            settings.socketio_connections_per_address, settings.trust_proxy) == (30, 120, 20, 0)
    env = {"MUTUALS_MESSAGES_PER_MINUTE_PER_CONVERSATION": "2", "MUTUALS_MESSAGES_PER_MINUTE_PER_ADDRESS": "3",
           "MUTUALS_SOCKETIO_CONNECTIONS_PER_ADDRESS": "4", "MUTUALS_TRUST_PROXY": "1"}
    clock = Clock()
    limits = ChannelLimits.from_settings(Settings.from_env(env=env), clock)
    assert limits.check_conversation("c") is None and limits.check_conversation("c") is None
    assert limits.check_conversation("c") == TOO_MANY_IN_CONVERSATION
    assert [limits.check_address("a") for _ in range(4)][-1] == TOO_MANY_FROM_ADDRESS
    assert limits.connections.limit == 4 and limits.trust_proxy == 1
    assert limits.address_of("10.0.0.1", {"X-Forwarded-For": "198.51.100.1"}) == "198.51.100.1"
