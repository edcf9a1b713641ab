"""Limits on the public entry points: messages per minute per conversation and per client
address, and socket.io connections per address.

Where they are counted (``Settings.limits_redis``):

- no Redis (one machine, the default): in memory, in this Rasa process;
- Redis (``MUTUALS_LIMITS_REDIS_URL``, by default the lock store's Redis): in Redis, so every Rasa
  server behind the balancer draws on one budget per conversation and per address, and a person
  gets the limit, not N times it.

If Redis does not answer (down, unreachable, slower than a second), the call falls back to this
process's own counts rather than failing or refusing anyone: each server then limits on its own,
as without Redis. Redis is left alone for ``retry_seconds`` (5) after a failure, so messages do
not each wait for it, and then tried again; a warning is logged at most once a minute (naming no
person or address), and another when Redis answers again.

Messages: a token bucket per key, ``per_minute`` tokens refilled evenly over a minute, so a burst
of ``per_minute`` messages is allowed and then one every ``60 / per_minute`` seconds; a refused
message uses up nothing. In Redis the same bucket is one key holding the time it will be full
again (GCRA), read and moved by a Lua script on Redis's clock (atomic, and the servers' clocks do
not matter); it expires when the bucket is full. A limit of 0 (or less) means no limit. The clock
is injectable for tests (it times the in-memory buckets and the retry after a Redis failure).

Connections: in Redis, a sorted set per address whose members are the open connections
(``<server>:<socket id>``) scored with when they stop counting; the server holding a connection
re-scores it every ``ttl / 3`` seconds while it lives and removes it on disconnect. A server that
crashes stops re-scoring, so its connections stop counting ``ttl`` (60) seconds later.

Redis keys: ``mutuals:limit:<channel>:<conversation|address|connections>:<digest>``, where the
digest is the first 32 hex digits of the SHA-256 of the conversation id or address, so neither
appears in Redis's key listings; every key expires a minute after its last use.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import time
import uuid
from typing import Any, Awaitable, Callable, Dict, List, Mapping, NamedTuple, Optional, Sequence, Tuple
from urllib.parse import urlsplit

from bot.addresses import client_address
from bot.settings import REDIS_KEY_PREFIX as KEY_PREFIX

logger = logging.getLogger(__name__)

Clock = Callable[[], float]

TOO_MANY_IN_CONVERSATION = "You're sending messages faster than I can answer them. Please wait a minute and try again."
TOO_MANY_FROM_ADDRESS = (
    "Too many messages have come from your network in the last minute. Please wait a minute and try again."
)
TOO_MANY_CONNECTIONS = "Too many chat windows are open from your network. Close some of them and try again."


class Refusal(NamedTuple):
    """Why a message is refused, and the whole seconds until its sender may try again."""

    sentence: str
    retry_after: int


class RateLimiter:
    """At most ``per_minute`` events per key in any minute-long burst (a token bucket per key),
    in this process's memory."""

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

    async def take(self, key: str) -> int:
        """Take one token for ``key``: 0 if allowed, else the whole seconds to wait."""
        return 0 if self.allow(key) else self.retry_after(key)

    def _prune(self, now: float) -> None:
        # forget keys whose bucket is full again (a minute idle), at most once a minute,
        # or at once when there are too many keys (an attacker inventing conversation ids)
        if now - self._last_prune < 60.0 and len(self._buckets) < self.max_keys:
            return
        self._last_prune = now
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60.0}
        if len(self._buckets) >= self.max_keys:  # still too many: keep the newest half
            newest = sorted(self._buckets.items(), key=lambda kv: kv[1][1])[len(self._buckets) // 2 :]
            self._buckets = dict(newest)

    def __len__(self) -> int:
        return len(self._buckets)


class ConnectionCounter:
    """Open connections per key, in this process; ``open`` refuses beyond ``limit`` (0: no limit)."""

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

    async def connect(self, key: str, connection: str) -> bool:
        return self.open(key)

    async def disconnect(self, key: str, connection: str) -> None:
        self.close(key)


# --- shared through Redis ---------------------------------------------------------------------


def redis_key(name: str, key: str) -> str:
    """``mutuals:limit:<name>:<digest of key>`` (see the module's docstring)."""
    digest = hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"{KEY_PREFIX}:limit:{name}:{digest}"


class RedisUnavailable(Exception):
    """Redis did not answer (or is being left alone for a few seconds since it last did not)."""


class SharedRedis:
    """The Redis several Rasa servers count in, for one channel: a client made in the running event
    loop (redis.asyncio: nothing blocks the loop), and what happens when Redis does not answer."""

    def __init__(
        self,
        url: str,
        clock: Clock = time.monotonic,
        retry_seconds: float = 5.0,
        timeout: float = 1.0,
        channel: str = "channel",
    ) -> None:
        self.url, self.clock, self.retry_seconds, self.timeout = url, clock, float(retry_seconds), float(timeout)
        self.channel = channel
        parts = urlsplit(url)
        self.where = f"{parts.hostname or 'localhost'}:{parts.port or 6379}"  # for logs: no password
        self._client: Any = None
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._scripts: Dict[str, Any] = {}
        self._down_until = -math.inf
        self._warned_at = -math.inf
        self.down = False

    def client(self) -> Any:
        loop = asyncio.get_running_loop()
        if self._client is None or self._loop is not loop:
            import redis.asyncio
            from redis.exceptions import ConnectionError as RedisConnectionError

            self._client = redis.asyncio.Redis.from_url(
                self.url,
                socket_connect_timeout=self.timeout,
                socket_timeout=self.timeout,
                retry_on_error=[RedisConnectionError],
            )  # one retry: a pooled connection a restart closed
            self._loop, self._scripts = loop, {}
        return self._client

    async def run(self, use: Callable[[Any], Awaitable[Any]]) -> Any:
        """``await use(client)``; any failure becomes :class:`RedisUnavailable` (and a warning)."""
        now = self.clock()
        if now < self._down_until:
            raise RedisUnavailable()
        try:
            result = await use(self.client())
        except Exception as exc:  # whatever went wrong, a person's message must not fail on its counter
            self._down_until = self.clock() + self.retry_seconds
            if now - self._warned_at >= 60.0:
                self._warned_at = now
                logger.warning(
                    "limits (%s): Redis at %s did not answer (%s); until it does, each Rasa server "
                    "counts the limits on its own",
                    self.channel,
                    self.where,
                    type(exc).__name__,
                )
            self.down = True
            raise RedisUnavailable() from exc
        if self.down:
            self.down = False
            logger.warning(
                "limits (%s): Redis at %s answers again; the limits are shared again", self.channel, self.where
            )
        return result

    async def script(self, text: str, keys: Sequence[str], args: Sequence[Any]) -> Any:
        async def use(client: Any) -> Any:
            script = self._scripts.get(text)
            if script is None:
                script = self._scripts[text] = client.register_script(text)
            return await script(keys=list(keys), args=list(args))

        return await self.run(use)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None and self._loop is asyncio.get_running_loop():
            with contextlib.suppress(Exception):
                await client.close()


# One token from a GCRA bucket. KEYS[1]: when the bucket is full again (µs, Redis's clock);
# ARGV[1]: µs per token (60 s / per_minute); ARGV[2]: the bucket's span (60 s in µs).
# Returns {1, 0} when allowed, {0, ms to wait} when not (and then changes nothing).
_TAKE = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local full_at = tonumber(redis.call('GET', KEYS[1]) or now)
if full_at < now then full_at = now end
local after = full_at + tonumber(ARGV[1])
local wait = after - tonumber(ARGV[2]) - now
if wait > 0 then return {0, math.ceil(wait / 1000)} end
redis.call('SET', KEYS[1], string.format('%.0f', after), 'PX', math.ceil((after - now) / 1000))
return {1, 0}
"""


class _OneAtATime:
    """``async with one_at_a_time(key)``: the holders of one key take turns, first come first served.
    Without it, a burst of messages in one conversation (socket.io handles each event as a task of
    its own) would reach Redis in any order, and the one refused need not be the last one sent."""

    def __init__(self) -> None:
        self._locks: Dict[str, Tuple[asyncio.Lock, int]] = {}  # key -> (lock, how many hold or wait)

    @contextlib.asynccontextmanager
    async def __call__(self, key: str):
        lock, users = self._locks.get(key) or (asyncio.Lock(), 0)
        self._locks[key] = (lock, users + 1)
        try:
            async with lock:
                yield
        finally:
            lock, users = self._locks[key]
            if users > 1:
                self._locks[key] = (lock, users - 1)
            else:
                del self._locks[key]


class SharedRateLimiter:
    """:class:`RateLimiter`'s bucket kept in Redis, shared by every Rasa server; this process's own
    bucket when Redis does not answer."""

    def __init__(self, per_minute: int, redis: SharedRedis, name: str, clock: Clock = time.monotonic) -> None:
        self.per_minute = int(per_minute)
        self.redis, self.name = redis, name
        self.local = RateLimiter(per_minute, clock)
        self._one_at_a_time = _OneAtATime()

    @property
    def enabled(self) -> bool:
        return self.per_minute > 0

    async def take(self, key: str) -> int:
        """Take one token for ``key``: 0 if allowed, else the whole seconds to wait."""
        if not self.enabled:
            return 0
        async with self._one_at_a_time(key):  # one server's messages of one key are counted in order
            try:
                allowed, wait_ms = await self.redis.script(
                    _TAKE, [redis_key(self.name, key)], [60_000_000 / self.per_minute, 60_000_000]
                )
            except RedisUnavailable:
                return await self.local.take(key)
        return 0 if int(allowed) else max(1, math.ceil(int(wait_ms) / 1000))


# Open a connection if the key has fewer than ARGV[1]. KEYS[1]: a sorted set of open connections
# scored with when they stop counting (ms, Redis's clock); ARGV[2]: how long a connection counts
# unless re-scored (ms); ARGV[3]: the connection. Returns 1 if opened, 0 if refused.
_CONNECT = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
"""

# Re-score this server's open connections. KEYS: their sorted sets; ARGV[1]: the time to live (ms);
# then, for each key in turn, the number of its connections followed by them.
_REFRESH = """
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local ttl = tonumber(ARGV[1])
local expiry = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) + ttl
local i = 2
for _, key in ipairs(KEYS) do
  local n = tonumber(ARGV[i])
  for j = i + 1, i + n do redis.call('ZADD', key, expiry, ARGV[j]) end
  redis.call('PEXPIRE', key, ttl)
  i = i + n + 1
end
return #KEYS
"""


class SharedConnectionCounter:
    """Open connections per key across every Rasa server, in Redis (see the module's docstring);
    when Redis does not answer, this server's own connections against the limit."""

    REFRESH_BATCH = 200  # keys per refresh script, so Redis is never busy long

    def __init__(self, limit: int, redis: SharedRedis, name: str, ttl_seconds: float = 60.0) -> None:
        self.limit = int(limit)
        self.redis, self.name, self.ttl = redis, name, float(ttl_seconds)
        self.server = uuid.uuid4().hex[:16]
        self.local = ConnectionCounter(0)  # this server's open connections per key
        self.held: Dict[str, str] = {}  # connection -> key
        self._refresher: Optional[asyncio.Task] = None

    def _member(self, connection: str) -> str:
        return f"{self.server}:{connection}"

    async def connect(self, key: str, connection: str) -> bool:
        if self.limit <= 0:
            return True
        try:
            opened = bool(
                int(
                    await self.redis.script(
                        _CONNECT,
                        [redis_key(self.name, key)],
                        [self.limit, int(self.ttl * 1000), self._member(connection)],
                    )
                )
            )
        except RedisUnavailable:
            opened = self.local.count(key) < self.limit
        if opened:
            self.local.open(key)
            self.held[connection] = key
            self._keep_refreshing()
        return opened

    async def disconnect(self, key: str, connection: str) -> None:
        held = self.held.pop(connection, None)  # the key it was opened under
        if held is None:
            return
        self.local.close(held)
        member = self._member(connection)
        with contextlib.suppress(RedisUnavailable):  # if Redis is away, it stops counting within ttl
            await self.redis.run(lambda client: client.zrem(redis_key(self.name, held), member))

    def count(self, key: str) -> int:
        """This server's open connections for ``key``."""
        return self.local.count(key)

    async def refresh(self) -> None:
        """Re-score every connection this server holds (and put back any Redis lost)."""
        by_key: Dict[str, List[str]] = {}
        for connection, key in list(self.held.items()):
            by_key.setdefault(key, []).append(self._member(connection))
        items = list(by_key.items())
        for start in range(0, len(items), self.REFRESH_BATCH):
            batch = items[start : start + self.REFRESH_BATCH]
            args: List[Any] = [int(self.ttl * 1000)]
            for _, members in batch:
                args += [len(members), *members]
            try:
                await self.redis.script(_REFRESH, [redis_key(self.name, key) for key, _ in batch], args)
            except RedisUnavailable:
                return

    def _keep_refreshing(self) -> None:
        loop = asyncio.get_running_loop()
        task = self._refresher
        if task is None or task.done() or task.get_loop() is not loop:
            self._refresher = loop.create_task(self._refresh_forever())

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self.refresh()
            except Exception:  # never let the refresher die: the connections would stop counting
                logger.exception("limits: refreshing the open connections failed")

    async def aclose(self) -> None:
        task, self._refresher = self._refresher, None
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(BaseException):
                await task


class ChannelLimits:
    """The limits one channel applies, from settings: in memory, or shared through Redis when
    ``redis_url`` is given (``channel`` then keeps each channel's counts apart, as in memory)."""

    def __init__(
        self,
        per_conversation: int,
        per_address: int,
        connections_per_address: int = 0,
        trust_proxy: int = 0,
        clock: Clock = time.monotonic,
        redis_url: str = "",
        channel: str = "channel",
        connection_ttl: float = 60.0,
        redis_retry_seconds: float = 5.0,
    ) -> None:
        self.trust_proxy = int(trust_proxy)
        self.redis = SharedRedis(redis_url, clock, redis_retry_seconds, channel=channel) if redis_url else None
        if self.redis is None:
            self.conversations: Any = RateLimiter(per_conversation, clock)
            self.addresses: Any = RateLimiter(per_address, clock)
            self.connections: Any = ConnectionCounter(connections_per_address)
        else:
            self.conversations = SharedRateLimiter(per_conversation, self.redis, f"{channel}:conversation", clock)
            self.addresses = SharedRateLimiter(per_address, self.redis, f"{channel}:address", clock)
            self.connections = SharedConnectionCounter(
                connections_per_address, self.redis, f"{channel}:connections", connection_ttl
            )
            logger.info(
                "limits: the %s channel's limits are counted in Redis at %s, shared by every Rasa server",
                channel,
                self.redis.where,
            )

    @classmethod
    def from_settings(cls, settings, clock: Clock = time.monotonic, channel: str = "channel") -> "ChannelLimits":
        return cls(
            settings.messages_per_minute_per_conversation,
            settings.messages_per_minute_per_address,
            settings.socketio_connections_per_address,
            settings.trust_proxy,
            clock,
            redis_url=settings.limits_redis,
            channel=channel,
        )

    @property
    def shared(self) -> bool:
        return self.redis is not None

    def address_of(self, peer: Optional[str], headers: Mapping[str, str]) -> str:
        return client_address(peer, headers, self.trust_proxy)

    async def check_address(self, address: str) -> Optional[Refusal]:
        """A :class:`Refusal` when ``address`` is over its limit, else ``None`` (and counts the message)."""
        wait = await self.addresses.take(address)
        return Refusal(TOO_MANY_FROM_ADDRESS, wait) if wait else None

    async def check_conversation(self, conversation_id: str) -> Optional[Refusal]:
        wait = await self.conversations.take(conversation_id)
        return Refusal(TOO_MANY_IN_CONVERSATION, wait) if wait else None

    async def connect(self, address: str, connection: str) -> bool:
        """Count a new connection from ``address``; False (and not counted) when over the limit."""
        return await self.connections.connect(address, connection)

    async def disconnect(self, address: str, connection: str) -> None:
        await self.connections.disconnect(address, connection)

    async def aclose(self) -> None:
        """Stop refreshing connections and close Redis's connections (tests; a server just exits)."""
        if isinstance(self.connections, SharedConnectionCounter):
            await self.connections.aclose()
        if self.redis is not None:
            await self.redis.aclose()
