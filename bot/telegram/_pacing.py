"""Keeping within Telegram's rate limits, and trying again when Telegram or the network fails.

Every Bot API call the front end makes (except the long poll itself) passes through
:class:`TelegramPacing`, python-telegram-bot's hook for rate limiters:

- messages to one chat are spaced to about one a second (short bursts of three allowed), to a
  group about twenty a minute, and all calls together to about thirty a second;
- a ``429 Too Many Requests`` is waited out for its ``retry_after`` (every call waits, since
  Telegram counts some limits across chats) and the call is made again;
- a timeout, a network error or a 5xx is tried again after 0.5, 1, 2, 4 s.

A call that still fails after that raises, and the caller logs it. A timed-out ``sendMessage``
may have been delivered before the timeout, so a retry can, rarely, show a message twice: a
duplicate is better than a lost reply.
"""

from __future__ import annotations

import asyncio
import datetime
import logging
import time
from typing import Any, Callable, Coroutine, Dict, Optional, Union

from telegram.error import BadRequest, NetworkError, RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

# Calls that put a message in a chat, and so count against the per-chat limits.
MESSAGE_ENDPOINTS = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "sendAudio",
        "sendVideo",
        "sendVoice",
        "sendAnimation",
        "sendSticker",
        "sendLocation",
        "sendContact",
        "sendPoll",
        "sendMediaGroup",
        "copyMessage",
        "forwardMessage",
    }
)


class TokenBucket:
    """``rate`` calls a second on average, ``burst`` at once; :meth:`reserve` says how long to wait."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst, self.clock = rate, burst, clock
        self.tokens = burst
        self.updated = clock()

    def _refill(self) -> None:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now

    def reserve(self) -> float:
        """Take one call's token (possibly in advance): the seconds to wait before making it."""
        self._refill()
        self.tokens -= 1
        return 0.0 if self.tokens >= 0 else -self.tokens / self.rate

    @property
    def idle(self) -> bool:
        self._refill()
        return self.tokens >= self.burst


def _seconds(value: Union[int, float, datetime.timedelta]) -> float:
    return value.total_seconds() if isinstance(value, datetime.timedelta) else float(value)


def _is_group(chat_id: Any) -> bool:
    if isinstance(chat_id, str):
        return chat_id.startswith("@") or chat_id.startswith("-")
    return isinstance(chat_id, int) and chat_id < 0


class TelegramPacing(BaseRateLimiter[None]):
    """A rate limiter with retries, for :meth:`telegram.ext.ApplicationBuilder.rate_limiter`."""

    def __init__(
        self,
        *,
        overall_per_second: float = 30.0,
        chat_per_second: float = 1.0,
        group_per_minute: float = 20.0,
        chat_burst: float = 3.0,
        max_retry_after: int = 5,
        network_backoff: tuple = (0.5, 1.0, 2.0, 4.0),
        max_chats: int = 10_000,
    ) -> None:
        self.overall_per_second = overall_per_second
        self.chat_per_second = chat_per_second
        self.group_per_minute = group_per_minute
        self.chat_burst = chat_burst
        self.max_retry_after = max_retry_after
        self.network_backoff = tuple(network_backoff)
        self.max_chats = max_chats
        self._overall = TokenBucket(overall_per_second, overall_per_second)
        self._chats: Dict[Any, TokenBucket] = {}
        self._paused_until = 0.0
        self.waited_for_retry_after = 0.0  # seconds spent waiting out 429s (for logs and tests)
        self.retries = 0

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        self._chats.clear()

    def _chat(self, chat_id: Any) -> TokenBucket:
        bucket = self._chats.get(chat_id)
        if bucket is None:
            if len(self._chats) >= self.max_chats:
                self._chats = {k: b for k, b in self._chats.items() if not b.idle}
            rate = self.group_per_minute / 60.0 if _is_group(chat_id) else self.chat_per_second
            bucket = self._chats[chat_id] = TokenBucket(rate, self.chat_burst)
        return bucket

    async def _wait_turn(self, endpoint: str, chat_id: Optional[Any]) -> None:
        pause = self._paused_until - time.monotonic()
        if pause > 0:
            await asyncio.sleep(pause)
        if endpoint in MESSAGE_ENDPOINTS and chat_id is not None:
            delay = self._chat(chat_id).reserve()
            if delay > 0:
                await asyncio.sleep(delay)
        delay = self._overall.reserve()
        if delay > 0:
            await asyncio.sleep(delay)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: Dict[str, Any],
        endpoint: str,
        data: Dict[str, Any],
        rate_limit_args: None,
    ) -> Any:
        chat_id = data.get("chat_id")
        rate_limited = network_failures = 0
        while True:
            await self._wait_turn(endpoint, chat_id)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as exc:
                rate_limited += 1
                if rate_limited > self.max_retry_after:
                    raise
                wait = _seconds(exc.retry_after) + 0.05
                logger.warning(
                    "telegram: %s to chat %s was rate limited; trying again in %.1f s", endpoint, chat_id, wait
                )
                self._paused_until = max(self._paused_until, time.monotonic() + wait)
                self.waited_for_retry_after += wait
            except BadRequest:
                raise  # our request is wrong: sending it again will not help
            except NetworkError as exc:  # includes TimedOut and 5xx answers
                if network_failures >= len(self.network_backoff):
                    raise
                wait = self.network_backoff[network_failures]
                network_failures += 1
                logger.warning(
                    "telegram: %s to chat %s failed (%s); trying again in %.1f s", endpoint, chat_id, exc, wait
                )
                await asyncio.sleep(wait)
            self.retries += 1
