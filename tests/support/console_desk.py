"""The adviser console through its JSON API with Rasa stood in for (the tests under tests/console
that need no browser and no stack): a desk whose conversations are lists of events, a signed-in
adviser's client, what a person writing in a handed-off conversation does, and the console app
served with the guidance pages. The ``console`` fixture built on them is in tests/console/conftest.py."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, List

from aiohttp.test_utils import TestClient, TestServer

from bot.console import COOKIE
from bot.guidance import load_pages
from bot.handoff import AdviserDesk, HandoffStore, RasaUnavailable
from bot.settings import Settings
from bot.web.app import PAGES_KEY, SETTINGS_KEY

ROOT = Path(__file__).resolve().parents[2]
GAP_SECTION = "asset-locks#does-an-asset-lock-stop-a-mutual-being-sold-off"  # of the gap page's test misses
LGPS = "lgps-admitted-body-status"
LGPS_STAY = "can-council-staff-stay-in-the-local-government-pension-scheme-after-spinning-out"


def served(console):
    console.app[SETTINGS_KEY] = Settings.from_env(env={}, public_url="https://chat.example.org")
    console.app[PAGES_KEY] = {p.slug: p for p in load_pages(ROOT / "knowledge" / "pages")}
    return TestClient(TestServer(console.app))


def said(console, conversation_id):
    """What was put in the conversation for the person: (text, status event or None) of each bot event."""
    return [
        (e["text"], e["data"]["custom"].get("event"))
        for e in console.desk.events.get(conversation_id, [])
        if e.get("event") == "bot"
    ]


class ConversationDesk(AdviserDesk):
    """An adviser's desk whose Rasa is a list of events (``down``: Rasa cannot be reached)."""

    def __init__(self, store: HandoffStore):
        super().__init__(None, store)
        self.events: Dict[str, List[Dict[str, Any]]] = {}
        self.down = False

    async def tracker(self, conversation_id: str) -> Dict[str, Any]:
        if self.down:
            raise RasaUnavailable("the assistant cannot be reached (ClientConnectorError)")
        return {"events": list(self.events.get(conversation_id, []))}

    async def append(self, conversation_id: str, events, output_channel=None) -> None:
        self.events.setdefault(conversation_id, []).extend(events)


class Adviser:
    def __init__(self, client: TestClient, store: HandoffStore, adviser):
        token, self.csrf = store.start_session(adviser)
        self.client, self.cookie = client, f"{COOKIE}={token}"

    async def get(self, path: str) -> Any:
        async with self.client.get(f"/console/api{path}", headers={"Cookie": self.cookie}) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def post(self, path: str, body: Any = None) -> Any:
        async with self.client.post(
            f"/console/api{path}", json=body, headers={"Cookie": self.cookie, "X-CSRF-Token": self.csrf}
        ) as r:
            assert r.status == 200, await r.text()
            return await r.json()

    async def row(self, view: str, case_id: int) -> Dict[str, Any]:
        [found] = [c for c in (await self.get("/cases"))[view] if c["id"] == case_id]
        return found


async def person_writes(console, conversation_id: str, text: str) -> None:
    """What the turn of a message does while the conversation is handed off
    (bot/channels/_admission.run_checked_turn): the gate sees it first, counts it on the case, then
    Rasa logs it (and, paused, says nothing)."""
    assert await console.gate.intercept(None, conversation_id, text) is None
    await console.gate.count(conversation_id, text)
    console.desk.events.setdefault(conversation_id, []).append(
        {"event": "user", "text": text, "timestamp": console.clock.now, "parse_data": {}}
    )


def cookie(session):
    """The ``Cookie`` header of a console session (``store.start_session``'s token and CSRF pair)."""
    return {"Cookie": f"{COOKIE}={session[0]}"}
