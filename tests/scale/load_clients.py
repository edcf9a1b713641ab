"""The load test's people: REST and socket.io (as the widget) conversations through nginx, each
from its own loopback address (so nginx's ip_hash spreads them over the Rasa servers as it would
spread people on the internet), each able to survive a Rasa server dying under it.

A turn that fails (HTTP 502/503/504, a dropped socket) may or may not have been processed by the
server that died. Before sending it again the client waits until nobody holds the conversation's
lock in Redis (a dead server's ticket expires after Rasa's lock lifetime) and reads the
conversation back: if the turn is there, its replies are taken from there and it is not sent
again. So a retry never makes a second copy of a turn, and a lost turn is sent again."""
from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any, Dict, List, Optional

import aiohttp
import redis.asyncio as aioredis
import socketio

LOCK_PREFIX = "mutuals:lock:"  # bot.locks.KEY_PREFIX + Rasa's "lock:"
RETRYABLE = {502, 503, 504}


@dataclasses.dataclass
class Stats:
    turns: int = 0
    failures: int = 0  # turns that failed at least once
    found_processed: int = 0  # ... and the read-back found them processed (not sent again)
    sent_again: int = 0  # ... and the read-back found them missing (sent again)
    reconnects: int = 0  # socket.io sessions opened again after a drop
    connect_retries: int = 0  # first connections refused or too slow, tried again
    latencies: List[float] = dataclasses.field(default_factory=list)


class Cluster:
    """What the clients need to know of the cluster."""

    def __init__(self, public_url: str, api_url: str, token: str, redis_url: str, stats: Stats):
        self.public_url, self.api_url, self.token, self.stats = public_url, api_url, token, stats
        self.redis = aioredis.Redis.from_url(redis_url)
        self.api = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    async def close(self) -> None:
        await self.api.close()
        await self.redis.close()

    async def tracker(self, conversation_id: str) -> Dict[str, Any]:
        for _ in range(30):
            try:
                async with self.api.get(f"{self.api_url}/conversations/{conversation_id}/tracker",
                                        params={"token": self.token}) as r:
                    if r.status == 200:
                        return await r.json()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(1)
        raise AssertionError(f"could not read the tracker of {conversation_id}")

    async def settled(self, conversation_id: str, timeout: float = 120) -> None:
        """Until no live ticket holds the conversation's lock (no turn of it is running anywhere)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            raw = await self.redis.get(LOCK_PREFIX + conversation_id)
            tickets = [json.loads(t) for t in json.loads(raw).get("tickets", [])] if raw else []  # as Rasa's TicketLock.dumps
            if all(t["expires"] < time.time() for t in tickets):
                return
            await asyncio.sleep(0.5)
        raise AssertionError(f"the lock of {conversation_id} was never released")

    async def processed(self, conversation_id: str, turn: int) -> Optional[List[Dict[str, Any]]]:
        """The bot messages that answered ``turn`` if the conversation has it, else None."""
        await self.settled(conversation_id)
        events = (await self.tracker(conversation_id))["events"]
        for i, event in enumerate(events):
            if event["event"] == "user" and (event.get("metadata") or {}).get("turn") == turn:
                replies = []
                for later in events[i + 1:]:
                    if later["event"] == "user":
                        break
                    if later["event"] == "bot":
                        replies.append({"text": later.get("text") or "",
                                        "buttons": (later.get("data") or {}).get("buttons") or []})
                return replies
        return None


class RestPerson:
    def __init__(self, cluster: Cluster, sender: str, address: str):
        self.cluster, self.sender = cluster, sender
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=2),
            timeout=aiohttp.ClientTimeout(total=90))

    async def say(self, turn: int, text: str) -> List[Dict[str, Any]]:
        stats, failed = self.cluster.stats, False
        started = time.monotonic()
        for attempt in range(6):
            try:
                async with self.http.post(f"{self.cluster.public_url}/webhooks/rest/webhook",
                                          json={"sender": self.sender, "message": text,
                                                "metadata": {"turn": turn}}) as r:
                    if r.status == 200:
                        stats.latencies.append(time.monotonic() - started)
                        return await r.json()
                    if r.status not in RETRYABLE:
                        raise AssertionError(f"{self.sender} turn {turn}: HTTP {r.status} {await r.text()}")
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            if not failed:
                stats.failures, failed = stats.failures + 1, True
            replies = await self.cluster.processed(self.sender, turn)
            if replies is not None:
                stats.found_processed += 1
                return replies
            stats.sent_again += 1
        raise AssertionError(f"{self.sender} turn {turn} failed six times")

    async def close(self) -> None:
        await self.http.close()


class SocketPerson:
    """The widget's side of bot/channels/socketio.py, keeping its session_id across reconnects."""

    def __init__(self, cluster: Cluster, address: str):
        self.cluster, self.address = cluster, address
        self.session_id: Optional[str] = None
        self.received: List[Dict[str, Any]] = []
        self.client: Optional[socketio.AsyncClient] = None
        self.http: Optional[aiohttp.ClientSession] = None
        self._changed = asyncio.Event()

    async def connect(self) -> None:
        if self.http:
            await self.http.close()
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(self.address, 0)))
        client = socketio.AsyncClient(reconnection=False, http_session=self.http)
        confirmed = asyncio.Event()

        @client.on("bot_uttered")
        async def on_bot(message):
            self.received.append(message)
            self._changed.set()

        @client.on("session_confirm")
        async def on_session(session_id):
            self.session_id = session_id
            confirmed.set()

        @client.on("disconnect")
        async def on_disconnect():
            self._changed.set()

        # polling: rasa 3.6 pins aiohttp 3.9, whose websocket client python-engineio cannot use
        await client.connect(self.cluster.public_url, transports=["polling"], socketio_path="/socket.io",
                             wait_timeout=60)
        await client.emit("session_request", {"session_id": self.session_id})
        await asyncio.wait_for(confirmed.wait(), 60)
        self.client = client

    async def open(self) -> None:
        """Connect, trying again while the servers are too busy to accept (a new session holds
        no turn yet, so nothing can be doubled)."""
        for _ in range(10):
            try:
                await self.connect()
                return
            except (socketio.exceptions.ConnectionError, asyncio.TimeoutError, aiohttp.ClientError):
                self.cluster.stats.connect_retries += 1
                await asyncio.sleep(2)
        raise AssertionError("could not open a socket.io session")

    async def _reconnect(self) -> None:
        self.cluster.stats.reconnects += 1
        for _ in range(20):
            try:
                await self.connect()
                return
            except (socketio.exceptions.ConnectionError, asyncio.TimeoutError, aiohttp.ClientError):
                await asyncio.sleep(1)
        raise AssertionError(f"{self.session_id}: could not reconnect")

    async def say(self, turn: int, text: str, expect: int, timeout: float = 120) -> List[Dict[str, Any]]:
        stats, failed = self.cluster.stats, False
        started = time.monotonic()
        before = len(self.received)
        await self.client.emit("user_uttered", {"session_id": self.session_id, "message": text,
                                                "metadata": {"turn": turn}})
        deadline = time.monotonic() + timeout
        while len(self.received) < before + expect:
            if not self.client.connected:
                if not failed:
                    stats.failures, failed = stats.failures + 1, True
                await self._reconnect()
                replies = await self.cluster.processed(self.session_id, turn)
                if replies is not None:  # done on the server that died: its replies are in the history
                    stats.found_processed += 1
                    del self.received[before:]
                    self.received.extend(replies)
                    return replies
                stats.sent_again += 1
                del self.received[before:]
                await self.client.emit("user_uttered", {"session_id": self.session_id, "message": text,
                                                        "metadata": {"turn": turn}})
                continue
            if time.monotonic() > deadline:
                raise AssertionError(f"{self.session_id} turn {turn} {text!r}: {len(self.received) - before} of "
                                     f"{expect} replies in {timeout:.0f} s")
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
        stats.latencies.append(time.monotonic() - started)
        return self.received[before:]

    async def close(self) -> None:
        if self.client:
            await self.client.disconnect()
        if self.http:
            await self.http.close()
