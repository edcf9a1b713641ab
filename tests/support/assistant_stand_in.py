"""A stand-in for the assistant's relay webhook (``POST /webhooks/relay/webhook``), so the
front end can be tested without Rasa: an aiohttp server on 127.0.0.1 that checks the relay
token, records each turn and answers like the assistant does (markdown with a source link,
buttons, a long answer)."""

from __future__ import annotations

import asyncio
from typing import Any, Dict, List, Optional

from aiohttp import web

RELAY_TOKEN = "relay-token-for-tests"
GUIDANCE = "http://guidance.test/guidance"
LONG_TOPIC = "/ask_question{\"guidance_slug\":\"when-a-contract-ends-or-the-organisation-fails\"}"
LONG_PAYLOAD = "/feedback_unhelpful{\"question\":\"what happens to staff pensions when a contract ends\"}"


def answer(message: str) -> List[Dict[str, Any]]:
    if message == "/request_human":
        return [{"text": "I've noted that you'd like to talk to a human adviser."}]
    if message == "/restart":
        return []
    if message.startswith("/ask_question"):
        return [
            {
                "text": f"**When a contract ends**\n\nAt the end of a contract, staff may transfer again.\n\n"
                f"Source: [When a contract ends]({GUIDANCE}/when-a-contract-ends-or-the-organisation-fails)"
            }
        ]
    if message.startswith("/feedback_unhelpful"):
        return [{"text": "Sorry that didn't help."}]
    if message in ("/affirm", "/deny"):
        return [{"text": f"You said {message}."}]
    if "long" in message.lower():
        paragraph = ("Co-operatives are owned and run by their members, who share the benefits. " * 12).strip()
        body = "\n\n".join(f"**Part {n}.** {paragraph}" for n in range(1, 11))
        return [{"text": f"{body}\n\nSource: [Co-operative societies]({GUIDANCE}/co-operative-society)"}]
    if "unsure" in message.lower():
        return [
            {
                "text": "I'm not sure I have guidance that answers that, and I'd rather not guess.",
                "buttons": [
                    {"title": "When a contract ends", "payload": LONG_TOPIC},
                    {"title": "That didn't help", "payload": LONG_PAYLOAD},
                    {"title": "Talk to an adviser", "payload": "/request_human"},
                ],
            }
        ]
    return [
        {
            "text": "**Registering a co-operative**\n\nYou register a co-operative society with the "
            "Financial Conduct Authority (FCA) & pay a fee; <your rules> must meet its tests.\n\n"
            f"Source: [Co-operative societies]({GUIDANCE}/co-operative-society#registering)"
        }
    ]


class AssistantStandIn:
    def __init__(self, token: str = RELAY_TOKEN, delay: float = 0.0, bad_gateway: int = 0) -> None:
        self.token = token
        self.delay = delay
        self.bad_gateway = bad_gateway  # answer this many turns 502, as a balancer whose server died
        self.turns: List[Dict[str, Any]] = []
        self.refused = 0
        self._runner: Optional[web.AppRunner] = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _relay(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            self.refused += 1
            return web.json_response({"error": "this webhook needs the relay token"}, status=401)
        body = await request.json()
        self.turns.append(body)
        if self.bad_gateway:
            self.bad_gateway -= 1
            return web.Response(status=502, text="<html>502 Bad Gateway</html>")
        if self.delay:
            await asyncio.sleep(self.delay)
        return web.json_response([dict(item, recipient_id=body["sender"]) for item in answer(body["message"])])

    async def start(self) -> "AssistantStandIn":
        app = web.Application()
        app.router.add_post("/webhooks/relay/webhook", self._relay)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._runner:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> "AssistantStandIn":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()
