"""A stand-in for Telegram's Bot API: an aiohttp server on 127.0.0.1 (a free port) that answers
the calls the front end makes, records them, and can be told to misbehave.

- ``inject(update)`` queues an update for ``getUpdates`` (long polling is honoured);
- ``deliver(update, secret=...)`` POSTs an update to the webhook registered by ``setWebhook``;
- ``misbehave(method, retry_after=1)`` answers the next call with 429, ``status=502`` with that
  status, ``stall=2`` waits before answering (and drops the call, as a lost request);
- ``sendMessage`` text is checked like Telegram's HTML parse mode does (allowed tags, nesting,
  escaped ``<``/``&``, at most 4,096 characters after parsing) and refused with 400 otherwise;
- it stops itself after ``lifetime`` seconds if a test forgets to.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
import html.parser
import itertools
import json
import re
import time
from typing import Any, Callable, Deque, Dict, List, Optional

import aiohttp
from aiohttp import web

from tests.support.telegram_updates import BOT_TOKEN, bot_user, chat, utf16_len

ALLOWED_TAGS = {
    "b",
    "strong",
    "i",
    "em",
    "u",
    "ins",
    "s",
    "strike",
    "del",
    "a",
    "code",
    "pre",
    "tg-spoiler",
    "span",
    "blockquote",
    "tg-emoji",
}
_BARE_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);)")
JSON_FIELDS = {"reply_markup", "allowed_updates", "link_preview_options", "reply_parameters", "entities", "commands"}
INT_FIELDS = {"chat_id", "message_id", "offset", "limit", "timeout", "max_connections"}


class TelegramHTMLError(ValueError):
    pass


class _TelegramHTML(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: List[str] = []
        self.text: List[str] = []
        self.links: List[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise TelegramHTMLError(f"unsupported start tag \"{tag}\"")
        if tag == "a":
            self.links.append(dict(attrs).get("href", ""))
        self.open.append(tag)

    def handle_endtag(self, tag):
        if not self.open or self.open[-1] != tag:
            raise TelegramHTMLError(f"unmatched end tag \"{tag}\"")
        self.open.pop()

    def handle_data(self, data):
        self.text.append(data)


def parse_telegram_html(text: str) -> tuple:
    """``(visible text, link urls)`` as Telegram would see them; raises TelegramHTMLError."""
    if _BARE_AMPERSAND.search(text):
        raise TelegramHTMLError("unescaped &")
    parser = _TelegramHTML()
    parser.feed(text)
    parser.close()
    if parser.open:
        raise TelegramHTMLError(f"unclosed tag \"{parser.open[-1]}\"")
    if re.search(r"<(?![a-zA-Z/])", text):
        raise TelegramHTMLError("unescaped <")
    return "".join(parser.text), parser.links


@dataclasses.dataclass
class Call:
    method: str
    params: Dict[str, Any]
    at: float
    outcome: str = "ok"  # ok | 429 | stalled | <status> | refused


@dataclasses.dataclass
class Misbehaviour:
    retry_after: Optional[int] = None
    status: Optional[int] = None
    stall: Optional[float] = None


class BotApiStandIn:
    def __init__(self, token: str = BOT_TOKEN, lifetime: float = 120.0) -> None:
        self.token = token
        self.lifetime = lifetime
        self.calls: List[Call] = []
        self.webhook: Dict[str, Any] = {}
        self._updates: List[Dict[str, Any]] = []
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(50_000)
        self._chats: Dict[int, Dict[str, Any]] = {}
        self._misbehaviours: Dict[str, Deque[Misbehaviour]] = collections.defaultdict(collections.deque)
        self._changed = asyncio.Condition()
        self._runner: Optional[web.AppRunner] = None
        self._self_stop: Optional[asyncio.TimerHandle] = None
        self.port = 0

    # ---- life -------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> "BotApiStandIn":
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        self._self_stop = asyncio.get_running_loop().call_later(
            self.lifetime, lambda: asyncio.ensure_future(self.stop())
        )
        return self

    async def stop(self) -> None:
        if self._self_stop:
            self._self_stop.cancel()
            self._self_stop = None
        if self._runner:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def __aenter__(self) -> "BotApiStandIn":
        return await self.start()

    async def __aexit__(self, *exc) -> None:
        await self.stop()

    # ---- what tests do ----------------------------------------------------------------

    def inject(self, update: Dict[str, Any]) -> Dict[str, Any]:
        """Queue an update for getUpdates; gives it the next update_id unless it has one."""
        update.setdefault("update_id", next(self._update_ids))
        for part in ("message", "callback_query"):
            if part in update:
                message = update[part] if part == "message" else update[part].get("message") or {}
                if message.get("chat"):
                    self._chats[message["chat"]["id"]] = message["chat"]
        self._updates.append(update)
        asyncio.ensure_future(self._notify())
        return update

    def next_update_id(self) -> int:
        return next(self._update_ids)

    async def deliver(self, update: Dict[str, Any], secret: Optional[str] = "registered") -> int:
        """POST an update to the registered webhook as Telegram does; the HTTP status."""
        headers = {"Content-Type": "application/json"}
        secret = self.webhook.get("secret_token") if secret == "registered" else secret
        if secret is not None:
            headers["X-Telegram-Bot-Api-Secret-Token"] = secret
        async with aiohttp.ClientSession() as session:
            async with session.post(self.webhook["url"], data=json.dumps(update), headers=headers) as response:
                return response.status

    def misbehave(
        self,
        method: str,
        *,
        retry_after: Optional[int] = None,
        status: Optional[int] = None,
        stall: Optional[float] = None,
        times: int = 1,
    ) -> None:
        for _ in range(times):
            self._misbehaviours[method].append(Misbehaviour(retry_after, status, stall))

    def calls_to(self, method: str, outcome: Optional[str] = "ok", **where: Any) -> List[Call]:
        return [
            c
            for c in self.calls
            if c.method == method
            and (outcome is None or c.outcome == outcome)
            and all(c.params.get(k) == v for k, v in where.items())
        ]

    def sent(self, chat_id: Optional[int] = None) -> List[Call]:
        """The messages delivered (sendMessage calls answered ok), optionally to one chat."""
        where = {} if chat_id is None else {"chat_id": chat_id}
        return self.calls_to("sendMessage", **where)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
        """Until ``predicate()`` is truthy (re-checked on every call); its value."""

        async def until() -> Any:
            async with self._changed:
                while True:
                    value = predicate()
                    if value:
                        return value
                    await self._changed.wait()

        try:
            return await asyncio.wait_for(until(), timeout)
        except asyncio.TimeoutError:
            raise AssertionError(
                f"timed out after {timeout} s; calls were: {[(c.method, c.outcome) for c in self.calls]}"
            ) from None

    async def wait_for_messages(self, chat_id: int, count: int = 1, timeout: float = 10.0) -> List[Call]:
        return await self.wait_for(lambda: len(self.sent(chat_id)) >= count and self.sent(chat_id), timeout)

    # ---- the API ----------------------------------------------------------------------

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _params(self, request: web.Request) -> Dict[str, Any]:
        if request.content_type == "application/json":
            raw = await request.json()
        else:
            raw = dict(await request.post())
        params = {}
        for key, value in raw.items():
            if isinstance(value, str) and key in JSON_FIELDS:
                value = json.loads(value)
            elif isinstance(value, str) and key in INT_FIELDS and re.fullmatch(r"-?\d+", value):
                value = int(value)
            params[key] = value
        return params

    async def _handle(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return web.json_response({"ok": False, "error_code": 401, "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        params = await self._params(request)
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        await self._notify()
        try:
            queue = self._misbehaviours.get(method)
            if queue:
                trouble = queue.popleft()
                if trouble.retry_after is not None:
                    call.outcome = "429"
                    return web.json_response(
                        {
                            "ok": False,
                            "error_code": 429,
                            "parameters": {"retry_after": trouble.retry_after},
                            "description": f"Too Many Requests: retry after {trouble.retry_after}",
                        },
                        status=429,
                    )
                if trouble.status is not None:
                    call.outcome = str(trouble.status)
                    return web.json_response(
                        {"ok": False, "error_code": trouble.status, "description": "Internal Server Error"},
                        status=trouble.status,
                    )
                if trouble.stall is not None:
                    call.outcome = "stalled"
                    await asyncio.sleep(trouble.stall)
                    return web.json_response(
                        {"ok": False, "error_code": 504, "description": "Gateway Timeout"}, status=504
                    )
            answer = getattr(self, f"_api_{method}", None)
            if answer is None:
                call.outcome = "404"
                return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"}, status=404)
            result = await answer(params)
            if isinstance(result, web.Response):
                call.outcome = "refused"
                return result
            return web.json_response({"ok": True, "result": result})
        finally:
            await self._notify()

    @staticmethod
    def _bad_request(description: str) -> web.Response:
        return web.json_response(
            {"ok": False, "error_code": 400, "description": f"Bad Request: {description}"}, status=400
        )

    async def _api_getMe(self, params):
        return bot_user()

    async def _api_getUpdates(self, params):
        if self.webhook.get("url"):
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 409,
                    "description": "Conflict: can't use getUpdates method while webhook is active",
                },
                status=409,
            )
        offset = params.get("offset") or 0
        self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + float(params.get("timeout") or 0)
        async with self._changed:
            while not self._updates and time.monotonic() < deadline:
                try:
                    await asyncio.wait_for(self._changed.wait(), deadline - time.monotonic())
                except asyncio.TimeoutError:
                    break
                self._updates = [u for u in self._updates if u["update_id"] >= offset]
        return self._updates[: int(params.get("limit") or 100)]

    async def _api_setWebhook(self, params):
        self.webhook = {
            "url": params["url"],
            "secret_token": params.get("secret_token"),
            "allowed_updates": params.get("allowed_updates"),
        }
        return True

    async def _api_deleteWebhook(self, params):
        self.webhook = {}
        return True

    async def _api_getWebhookInfo(self, params):
        return {"url": self.webhook.get("url", ""), "has_custom_certificate": False, "pending_update_count": 0}

    async def _api_sendMessage(self, params):
        text = params.get("text", "")
        if params.get("parse_mode") == "HTML":
            try:
                visible, links = parse_telegram_html(text)
            except TelegramHTMLError as exc:
                return self._bad_request(f"can't parse entities: {exc}")
        else:
            visible, links = text, []
        if not visible.strip():
            return self._bad_request("message text is empty")
        if utf16_len(visible) > 4096:
            return self._bad_request("message is too long")
        params["visible_text"], params["links"] = visible, links
        chat_id = params["chat_id"]
        message = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": self._chats.get(chat_id) or chat(chat_id),
            "from": bot_user(),
            "text": visible,
        }
        if params.get("reply_markup"):
            message["reply_markup"] = params["reply_markup"]
        return message

    async def _api_answerCallbackQuery(self, params):
        return True

    async def _api_sendChatAction(self, params):
        return True

    async def _api_setMyCommands(self, params):
        return True

    async def _api_editMessageReplyMarkup(self, params):
        return True
