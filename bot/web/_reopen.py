"""The link in a reply email (bot/handoff/_email.py): ``/chat/reopen/<token>`` opens the web chat
on the one conversation the token was made for, where the adviser's reply is waiting. The page
checks the token (unknown, expired, or the person's data erased: "this link no longer works");
the widget then hands the token to the socket.io channel, which checks it again and joins the
conversation (bot/channels/socketio.py)."""

from __future__ import annotations

import asyncio
import logging

from aiohttp import web

from bot.handoff._email import EmailWorker
from bot.handoff._outbox import outbox_of
from bot.handoff._store import HandoffStore
from bot.settings import Settings

from .rendering import SETTINGS_KEY, page_html

logger = logging.getLogger(__name__)
WORKER_KEY = web.AppKey("email_worker", EmailWorker)


async def reopen(request: web.Request) -> web.Response:
    store: HandoffStore = request.app[REOPEN_STORE_KEY]
    token = request.match_info["token"]
    conversation = await asyncio.to_thread(outbox_of(store).open_link, token)
    settings: Settings = request.app[SETTINGS_KEY]
    response = page_html(
        request,
        "reopen.html",
        status=200 if conversation else 410,
        token=token if conversation else "",
        days=f"{settings.email_link_days:g}",
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"  # the token never leaves in a Referer
    response.headers["X-Robots-Tag"] = "noindex"
    return response


REOPEN_STORE_KEY = web.AppKey("reopen_store", HandoffStore)


def add_email(app: web.Application, settings: Settings, store: HandoffStore, desk) -> None:
    """The reopen page, and the outbox worker of this web server (when email is on)."""
    from bot.console._email import add_email_routes

    app[REOPEN_STORE_KEY] = store
    app.router.add_get("/chat/reopen/{token}", reopen)
    add_email_routes(app)
    if not settings.email_enabled:
        logger.info("email: off (no MUTUALS_SMTP_URL and MUTUALS_EMAIL_FROM): adviser replies are not emailed")
        return
    worker = EmailWorker(settings, store)
    app[WORKER_KEY] = worker
    if hasattr(desk, "worker"):
        desk.worker = worker

    async def _start(_app):
        worker.start()

    async def _stop(_app):
        await worker.stop()

    app.on_startup.append(_start)
    app.on_cleanup.insert(0, _stop)  # before the console's cleanup disposes of the store
