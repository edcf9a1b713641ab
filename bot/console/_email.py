"""The console's view of email to the person on a case (bot/handoff/_email.py): whether email is
on, whether the person gave an address with consent, and each reply's email: queued, seen in the
chat (so not sent), sent, or failed and why. ``GET /console/api/cases/<id>/email``; the case page
shows it with bot/web/static/console/email.js."""

from __future__ import annotations

import asyncio

from aiohttp import web

from bot.handoff._email import email_status
from bot.handoff._outbox import outbox_of
from bot.web.rendering import SETTINGS_KEY

from ._routes import STORE_KEY, _case_id, adviser_api


@adviser_api
async def case_email(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    case = store.case(_case_id(request))
    status = await asyncio.to_thread(email_status, request.app[SETTINGS_KEY], outbox_of(store), case)
    return web.json_response(status)


def add_email_routes(app: web.Application) -> None:
    """Before ``add_console``, whose last route answers every other /console/ path with 404."""
    app.router.add_get("/console/api/cases/{case_id}/email", case_email)
