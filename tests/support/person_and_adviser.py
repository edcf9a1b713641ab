"""A person on the web widget's socket.io channel and an adviser on the console's HTTP API,
both as real clients of a running stack."""

from __future__ import annotations

import asyncio
import re
from typing import Any, Dict, List, Optional

import aiohttp
import socketio

from bot.console import hash_password
from bot.handoff import HandoffStore


class WidgetPerson:
    """What the widget does: a persistent session, messages in, bot (and adviser) messages out."""

    def __init__(self, rasa_url: str):
        self.rasa_url = rasa_url
        self.client = socketio.AsyncClient(reconnection=False)
        self.received: List[Dict[str, Any]] = []
        self.session_id: Optional[str] = None
        self._arrived = asyncio.Event()
        self.client.on("bot_uttered", self._on_bot)
        self.client.on("session_confirm", self._on_session)

    async def _on_bot(self, message):
        self.received.append(message)
        self._arrived.set()

    async def _on_session(self, session_id):
        self.session_id = session_id
        self._arrived.set()

    async def connect(self) -> "WidgetPerson":
        # polling: rasa 3.6 pins aiohttp 3.9, whose websocket client python-engineio's cannot use
        await self.client.connect(self.rasa_url, transports=["polling"], socketio_path="/socket.io")
        await self.client.emit("session_request", {"session_id": None})
        await self.wait_for(lambda: self.session_id)
        return self

    async def say(
        self, text: str, wait_for: int = 1, timeout: float = 30, message_id: Optional[str] = None
    ) -> List[Dict[str, Any]]:
        before = len(self.received)
        data = {"session_id": self.session_id, "message": text}
        if message_id:
            data["message_id"] = message_id
        await self.client.emit("user_uttered", data)
        if wait_for:
            await self.wait_for(lambda: len(self.received) >= before + wait_for, timeout)
        return self.received[before:]

    async def wait_for(self, condition, timeout: float = 30) -> None:
        deadline = asyncio.get_event_loop().time() + timeout
        while not condition():
            remaining = deadline - asyncio.get_event_loop().time()
            if remaining <= 0:
                raise AssertionError(f"timed out; received so far: {self.received}")
            self._arrived.clear()
            try:
                await asyncio.wait_for(self._arrived.wait(), min(remaining, 0.5))
            except asyncio.TimeoutError:
                pass

    async def close(self) -> None:
        await self.client.disconnect()


class ConsoleAdviser:
    """What the console's pages do: sign in, then call the JSON API with the CSRF header."""

    def __init__(self, web_url: str):
        self.web_url = web_url
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    @staticmethod
    def create(store_url: str, name: str, email: str, password: str, role: str = "adviser") -> None:
        store = HandoffStore(store_url)
        if not store.credentials(email):
            store.add_adviser(name, email, role, hash_password(password))
        store.dispose()

    async def sign_in(self, email: str, password: str) -> int:
        async with self.http.get(f"{self.web_url}/console/login") as r:
            form = await r.text()
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        async with self.http.post(
            f"{self.web_url}/console/login",
            allow_redirects=False,
            data={"csrf": token, "email": email, "password": password},
        ) as r:
            status = r.status
        if status == 303:
            self.csrf = (await self.api("GET", "/me"))["csrf"]
        return status

    async def api(self, method: str, path: str, body: Any = None, expect: int = 200) -> Any:
        async with self.http.request(
            method, f"{self.web_url}/console/api{path}", json=body, headers={"X-CSRF-Token": self.csrf}
        ) as r:
            data = await r.json()
            assert r.status == expect, (r.status, data)
            return data

    async def close(self) -> None:
        await self.http.close()


async def signed_in_adviser(web_url: str, email: str, password: str) -> ConsoleAdviser:
    """A ConsoleAdviser signed in to the console at ``web_url`` (the sign-in answered 303)."""
    console = ConsoleAdviser(web_url)
    assert await console.sign_in(email, password) == 303
    return console
