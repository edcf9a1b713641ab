"""Receiving updates by webhook (production): Telegram POSTs each update to our URL.

The server listens on loopback (``settings.host``) at ``telegram_webhook_port``, at the path of
``telegram_webhook_url``; a reverse proxy with TLS forwards Telegram's requests to it. A request
without the secret Telegram was given (header ``X-Telegram-Bot-Api-Secret-Token``) is refused
with 403. Telegram sends an update again if it does not get a quick 200, so updates whose
``update_id`` was seen recently are acknowledged and dropped.
"""

from __future__ import annotations

import collections
import hmac
import json
import logging
from typing import Deque, Optional, Set

from aiohttp import web
from telegram import Update
from telegram.ext import Application

logger = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
REMEMBERED_UPDATES = 10_000


class RecentUpdates:
    """The last ``capacity`` update ids, to recognise one Telegram sends twice."""

    def __init__(self, capacity: int = REMEMBERED_UPDATES) -> None:
        self.capacity = capacity
        self._order: Deque[int] = collections.deque()
        self._ids: Set[int] = set()

    def first_time(self, update_id: int) -> bool:
        """True the first time an id is seen (and remembers it), False for a repeat."""
        if update_id in self._ids:
            return False
        self._ids.add(update_id)
        self._order.append(update_id)
        while len(self._order) > self.capacity:
            self._ids.discard(self._order.popleft())
        return True


class TelegramWebhook:
    """An aiohttp server that hands Telegram's updates to the application's update queue."""

    def __init__(self, application: Application, secret: str, path: str = "/") -> None:
        if not secret:
            raise ValueError("the webhook needs a secret")
        self.application = application
        self.secret = secret
        self.path = path or "/"
        self.recent = RecentUpdates()
        self.duplicates = 0
        self._runner: Optional[web.AppRunner] = None
        self.port: Optional[int] = None

    def web_app(self) -> web.Application:
        app = web.Application(client_max_size=1024 * 1024)
        app.router.add_post(self.path, self.receive)
        return app

    async def receive(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            logger.warning("telegram webhook: refused a request without the secret from %s", request.remote)
            return web.json_response({"error": "forbidden"}, status=403)
        try:
            data = json.loads(await request.read())
            update_id = data["update_id"]
            if not isinstance(update_id, int):
                raise TypeError("update_id")
            if not self.recent.first_time(update_id):
                self.duplicates += 1
                logger.info("telegram webhook: update %s again; dropped", update_id)
                return web.json_response({"ok": True, "duplicate": True})
            update = Update.de_json(data, self.application.bot)
        except web.HTTPException:
            raise  # such as 413 for a body over client_max_size
        except Exception as exc:  # anything that is not an update Telegram would send (fuzzed in tests/security)
            logger.warning("telegram webhook: malformed update (%s: %.200s)", type(exc).__name__, exc)
            return web.json_response({"error": "malformed update"}, status=400)
        await self.application.update_queue.put(update)
        return web.json_response({"ok": True})

    async def start(self, host: str, port: int) -> int:
        """Listen; returns the port (useful when ``port`` is 0)."""
        self._runner = web.AppRunner(self.web_app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        logger.info("telegram webhook: listening on %s:%s%s", host, self.port, self.path)
        return self.port

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
