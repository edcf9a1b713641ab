"""Limits on the public entry points: messages per minute per conversation and per client
address, and socket.io connections per address. In memory, per Rasa process (several Rasa
servers behind a balancer each keep their own counts, so a person gets at most N times the limit).

``RateLimiter`` is a token bucket per key: ``per_minute`` tokens, refilled evenly over a minute,
so a burst of ``per_minute`` messages is allowed and then one every ``60 / per_minute`` seconds.
A limit of 0 (or less) means no limit. The clock is injectable for tests.
"""
from __future__ import annotations

import time
from typing import Callable, Dict, Mapping, Optional, Tuple

Clock = Callable[[], float]

TOO_MANY_IN_CONVERSATION = ("You're sending messages faster than I can answer them. "
                            "Please wait a minute and try again.")
TOO_MANY_FROM_ADDRESS = ("Too many messages have come from your network in the last minute. "
                         "Please wait a minute and try again.")
TOO_MANY_CONNECTIONS = ("Too many chat windows are open from your network. "
                        "Close some of them and try again.")


class RateLimiter:
    """At most ``per_minute`` events per key in any minute-long burst (a token bucket per key)."""

    def __init__(self, per_minute: int, clock: Clock = time.monotonic, max_keys: int = 100_000) -> None:
        self.per_minute = int(per_minute)
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: Dict[str, Tuple[float, float]] = {}  # key -> (tokens, when)
        self._last_prune = clock()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    def _tokens(self, key: str, now: float) -> float:
        tokens, when = self._buckets.get(key, (float(self.per_minute), now))
        return min(float(self.per_minute), tokens + (now - when) * self.per_minute / 60.0)

    def allow(self, key: str) -> bool:
        """Take one token for ``key``: True if allowed, False if over the limit."""
        if not self.enabled:
            return True
        now = self.clock()
        self._prune(now)
        tokens = self._tokens(key, now)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return False
        self._buckets[key] = (tokens - 1.0, now)
        return True

    def retry_after(self, key: str) -> int:
        """Whole seconds until ``key`` may send again (at least 1)."""
        if not self.enabled:
            return 0
        missing = 1.0 - self._tokens(key, self.clock())
        return max(1, int(missing * 60.0 / self.per_minute + 0.999))

    def _prune(self, now: float) -> None:
        # forget keys whose bucket is full again (a minute idle), at most once a minute,
        # or at once when there are too many keys (an attacker inventing conversation ids)
        if now - self._last_prune < 60.0 and len(self._buckets) < self.max_keys:
            return
        self._last_prune = now
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60.0}
        if len(self._buckets) >= self.max_keys:  # still too many: keep the newest half
            newest = sorted(self._buckets.items(), key=lambda kv: kv[1][1])[len(self._buckets) // 2:]
            self._buckets = dict(newest)

    def __len__(self) -> int:
        return len(self._buckets)


class ConnectionCounter:
    """Open connections per key; ``open`` refuses beyond ``limit`` (0: no limit)."""

    def __init__(self, limit: int) -> None:
        self.limit = int(limit)
        self._open: Dict[str, int] = {}

    def open(self, key: str) -> bool:
        count = self._open.get(key, 0)
        if self.limit > 0 and count >= self.limit:
            return False
        self._open[key] = count + 1
        return True

    def close(self, key: str) -> None:
        count = self._open.get(key, 0) - 1
        if count > 0:
            self._open[key] = count
        else:
            self._open.pop(key, None)

    def count(self, key: str) -> int:
        return self._open.get(key, 0)


def client_address(peer: Optional[str], headers: Mapping[str, str], trust_proxy: int = 0) -> str:
    """The client's address: the TCP peer, or, behind ``trust_proxy`` reverse proxies of our own,
    the address the outermost of them saw (from ``X-Forwarded-For``, counted from the right, since
    everything to the left of what our proxies appended is whatever the client claimed)."""
    if trust_proxy > 0:
        forwarded = headers.get("X-Forwarded-For") or headers.get("x-forwarded-for") or ""
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-trust_proxy] if len(hops) >= trust_proxy else hops[0]
    return peer or "unknown"


class ChannelLimits:
    """The limits one channel applies, from settings."""

    def __init__(self, per_conversation: int, per_address: int, connections_per_address: int = 0,
                 trust_proxy: int = 0, clock: Clock = time.monotonic) -> None:
        self.conversations = RateLimiter(per_conversation, clock)
        self.addresses = RateLimiter(per_address, clock)
        self.connections = ConnectionCounter(connections_per_address)
        self.trust_proxy = int(trust_proxy)

    @classmethod
    def from_settings(cls, settings, clock: Clock = time.monotonic) -> "ChannelLimits":
        return cls(settings.messages_per_minute_per_conversation, settings.messages_per_minute_per_address,
                   settings.socketio_connections_per_address, settings.trust_proxy, clock)

    def address_of(self, peer: Optional[str], headers: Mapping[str, str]) -> str:
        return client_address(peer, headers, self.trust_proxy)

    def check_address(self, address: str) -> Optional[str]:
        """A sentence when ``address`` is over its limit, else ``None`` (and counts the message)."""
        return None if self.addresses.allow(address) else TOO_MANY_FROM_ADDRESS

    def check_conversation(self, conversation_id: str) -> Optional[str]:
        return None if self.conversations.allow(conversation_id) else TOO_MANY_IN_CONVERSATION
