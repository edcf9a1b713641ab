"""The load test's people: REST and socket.io (as the widget) conversations through nginx, each
from its own loopback address (so nginx's ip_hash spreads them over the Rasa servers as it would
spread people on the internet), each able to survive a Rasa server dying under it.

Every message carries an id of its own (bot/channels/_message_ids.py). A turn that fails (HTTP
502/503/504, a dropped socket) may or may not have been handled by the server that died; the
client sends it again with the same id, and the server that gets it answers from the stored turn
if the turn is there, or runs it if it is not. So nothing is lost and nothing is doubled, without
the client having to know which. (nginx already sends a REST message again to the other server by
itself when the first fails mid-request, so REST clients rarely see a failure at all.)"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from typing import Any, Dict, List, Optional

import aiohttp
import socketio

RETRYABLE = {502, 503, 504}


@dataclasses.dataclass
class Stats:
    turns: int = 0
    failures: int = 0  # turns that failed at least once (the client saw it)
    sent_again: int = 0  # sendings of a message after a failure, with the same id
    reconnects: int = 0  # socket.io sessions opened again after a drop
    connect_retries: int = 0  # first connections refused or too slow, tried again
    connect_failures: Dict[str, int] = dataclasses.field(default_factory=dict)  # why, by kind
    latencies: List[float] = dataclasses.field(default_factory=list)


class Cluster:
    """What the clients need to know of the cluster."""

    def __init__(self, public_url: str, api_url: str, token: str, stats: Stats):
        self.public_url, self.api_url, self.token, self.stats = public_url, api_url, token, stats
        self.api = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))

    async def close(self) -> None:
        await self.api.close()

    async def tracker(self, conversation_id: str) -> Dict[str, Any]:
        for _ in range(30):
            try:
                async with self.api.get(
                    f"{self.api_url}/conversations/{conversation_id}/tracker", params={"token": self.token}
                ) as r:
                    if r.status == 200:
                        return await r.json()
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            await asyncio.sleep(1)
        raise AssertionError(f"could not read the tracker of {conversation_id}")


class RestPerson:
    def __init__(self, cluster: Cluster, sender: str, address: str):
        self.cluster, self.sender = cluster, sender
        self.http = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(local_addr=(address, 0), limit=2), timeout=aiohttp.ClientTimeout(total=90)
        )

    async def say(self, turn: int, text: str) -> List[Dict[str, Any]]:
        stats, failed = self.cluster.stats, False
        started = time.monotonic()
        body = {
            "sender": self.sender,
            "message": text,
            "message_id": f"{self.sender}-turn-{turn}",
            "metadata": {"turn": turn},
        }
        for attempt in range(6):
            try:
                async with self.http.post(f"{self.cluster.public_url}/webhooks/rest/webhook", json=body) as r:
                    if r.status == 200:
                        stats.latencies.append(time.monotonic() - started)
                        return await r.json()
                    if r.status not in RETRYABLE:
                        raise AssertionError(f"{self.sender} turn {turn}: HTTP {r.status} {await r.text()}")
            except (aiohttp.ClientError, asyncio.TimeoutError):
                pass
            if not failed:
                stats.failures, failed = stats.failures + 1, True
            stats.sent_again += 1
            await asyncio.sleep(1 + attempt)
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
        self._connection = 0  # which connect() the events may come from: only the latest one's count

    async def connect(self) -> None:
        # a connection given up on may still be alive (slow, not dead): what it receives now went to
        # a tab the person no longer has, so only the newest connection's events count, as in the
        # widget, which keeps one socket across reconnects (seen in CI, 2026-12-02: a reply that
        # reached the old connection after the reconnect was counted as the next turn's)
        self._connection += 1
        connection = self._connection
        old = self.client
        if old is not None:
            try:
                await asyncio.wait_for(old.disconnect(), 5)
            except Exception:  # noqa: BLE001 - it is being given up on: any failure to close is moot
                pass
        if self.http:
            await self.http.close()
        self.http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(local_addr=(self.address, 0)))
        # request_timeout: python-engineio gives up on a polling POST after 5 s and drops the
        # session; a browser's socket.io client waits. On 2 cores under this load a request can
        # queue that long (measured: 91 of 97 first sessions lost with 5 s), so wait as a browser
        client = socketio.AsyncClient(reconnection=False, http_session=self.http, request_timeout=60)
        confirmed = asyncio.Event()

        @client.on("bot_uttered")
        async def on_bot(message):
            if connection == self._connection:
                self.received.append(message)
                self._changed.set()

        @client.on("session_confirm")
        async def on_session(session_id):
            if connection == self._connection:
                self.session_id = session_id
                confirmed.set()

        @client.on("disconnect")
        async def on_disconnect():
            if connection == self._connection:
                self._changed.set()

        # polling: rasa 3.6 pins aiohttp 3.9, whose websocket client python-engineio cannot use
        await client.connect(
            self.cluster.public_url, transports=["polling"], socketio_path="/socket.io", wait_timeout=60
        )
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
            except (socketio.exceptions.ConnectionError, asyncio.TimeoutError, aiohttp.ClientError) as exc:
                stats = self.cluster.stats
                stats.connect_retries += 1
                why = f"{exc.__class__.__name__}: {exc}"[:80]
                stats.connect_failures[why] = stats.connect_failures.get(why, 0) + 1
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
        message = {
            "session_id": self.session_id,
            "message": text,
            "message_id": f"turn-{turn}-{self.session_id}",
            "metadata": {"turn": turn},
        }
        await self._send(message)
        deadline = time.monotonic() + timeout
        while len(self.received) < before + expect:
            if not self.client.connected or "/" not in self.client.namespaces:
                if not failed:
                    stats.failures, failed = stats.failures + 1, True
                await self._reconnect()
                # handled before the server died: its replies come again; lost: it is handled now
                stats.sent_again += 1
                del self.received[before:]
                await self._send(message)
                continue
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{self.session_id} turn {turn} {text!r}: {len(self.received) - before} of "
                    f"{expect} replies in {timeout:.0f} s"
                )
            self._changed.clear()
            try:
                await asyncio.wait_for(self._changed.wait(), 0.5)
            except asyncio.TimeoutError:
                pass
        stats.latencies.append(time.monotonic() - started)
        return self.received[before:]

    async def _send(self, message: Dict[str, Any]) -> None:
        try:
            await self.client.emit("user_uttered", message)
        except socketio.exceptions.BadNamespaceError:
            pass  # the connection dropped just now: say() sees it, reconnects and sends it again

    async def close(self) -> None:
        if self.client:
            await self.client.disconnect()
        if self.http:
            await self.http.close()
