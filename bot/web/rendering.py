"""What every page of the web server shares: the settings and guidance it keeps on the app, its
templates, and :func:`page_html`. The adviser console (``bot.console``), which the web server
mounts (``bot/web/app.py``), renders its pages with these, so it never imports the app itself."""

from __future__ import annotations

import jinja2
from aiohttp import web

from bot.settings import Settings

SETTINGS_KEY = web.AppKey("settings", Settings)
PAGES_KEY = web.AppKey("pages", dict)
ALIASES_KEY = web.AppKey("aliases", dict)
TEMPLATES_KEY = web.AppKey("templates", jinja2.Environment)


def page_html(request: web.Request, template: str, status: int = 200, **context) -> web.Response:
    html = request.app[TEMPLATES_KEY].get_template(template).render(settings=request.app[SETTINGS_KEY], **context)
    return web.Response(text=html, content_type="text/html", status=status)
