"""The project's own web server: guidance pages as HTML, the chat widget and its demo page,
and the adviser console (``bot.console``, mounted here). ``python -m bot.web`` runs it."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Optional

import jinja2
import markdown
from aiohttp import web

from bot.guidance import CATEGORIES, Guidance, load_pages
from bot.guidance._pages import aliases_of
from bot.settings import Settings

from .rendering import ALIASES_KEY, PAGES_KEY, SETTINGS_KEY, TEMPLATES_KEY, page_html

HERE = Path(__file__).resolve().parent
logger = logging.getLogger(__name__)

# the categories of knowledge/README.md as the guidance list shows them, in this order
CATEGORY_TITLES = {
    "basics": "The basics",
    "legal-forms": "Legal forms",
    "spinning-out": "Spinning out",
    "staff": "Staff, pensions and TUPE",
    "rights": "Community rights",
    "procurement": "Contracts and procurement",
    "finance": "Money and finance",
    "governance": "Running a mutual",
    "about": "About this service",
}
assert set(CATEGORY_TITLES) == set(CATEGORIES), "a category without a title"
SEARCH_TIMEOUT_SECONDS = 5


def render_markdown(text: str) -> str:
    """Guidance markdown to HTML; raw HTML in the source is escaped, never passed through."""
    md = markdown.Markdown(extensions=["sane_lists", "toc"], extension_configs={"toc": {"slugify": _slug}})
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    return md.convert(text)


def _slug(value: str, separator: str = "-") -> str:
    from bot.guidance import anchor_for

    return anchor_for(value)


@web.middleware
async def security_headers(request: web.Request, handler) -> web.StreamResponse:
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = exc
    except Exception:  # an error page gets the same headers (and never a traceback)
        logger.exception("web: %s %s failed", request.method, request.path)
        response = web.json_response({"error": "something went wrong on our side; please try again"}, status=500)
    settings: Settings = request.app[SETTINGS_KEY]
    ancestors = " ".join(o for o in settings.allowed_origins.split(",") if o.strip()) or "'none'"
    if request.path == "/console" or request.path.startswith("/console/"):
        ancestors = "'none'"  # the adviser console is never framed (clickjacking)
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Cache-Control", "no-store")
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self' {settings.widget_server_url} {settings.widget_server_url.replace('http', 'ws', 1)}; "
        f"frame-ancestors {'*' if ancestors == '*' else ancestors}; base-uri 'none'; form-action 'self'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if isinstance(response, web.HTTPException):
        raise response
    return response


async def guidance_list(request: web.Request) -> web.Response:
    """All guidance by category; with ``?q=``, first the sections the assistant's retrieval finds for it."""
    pages = sorted(request.app[PAGES_KEY].values(), key=lambda p: (CATEGORIES.index(p.category), p.title))
    groups = [(c, CATEGORY_TITLES[c], [p for p in pages if p.category == c]) for c in CATEGORIES]
    query = " ".join(request.query.get("q", "").split())[:200]
    found = await search_guidance(request.app[SETTINGS_KEY], query) if query else None
    return page_html(request, "guidance_list.html", groups=[g for g in groups if g[2]], query=query, found=found)


def search_url(settings: Settings) -> str:
    """The action server's search (bot/action_server.py): it holds the model and the index already."""
    base = settings.actions_url
    return (base[: -len("/webhook")] if base.endswith("/webhook") else base) + "/guidance/search"


async def search_guidance(settings: Settings, query: str) -> dict:
    """``{"close": [...], "near": [...]}`` (sections at or above the assistant's answer threshold, and
    the nearest others), or ``{"error": ...}`` when the search could not be reached."""
    import aiohttp

    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SEARCH_TIMEOUT_SECONDS)) as session:
            async with session.get(search_url(settings), params={"q": query}) as response:
                response.raise_for_status()
                body = await response.json()
    except Exception as exc:  # the action server is down or slow: the list below still works
        logger.warning("web: the guidance search failed: %s", type(exc).__name__)
        return {"error": "Search isn't working just now. Please try again in a minute, or browse the list below."}
    threshold, results = float(body.get("threshold") or 0), body.get("results") or []
    close = [r for r in results if r.get("score", 0) >= threshold]
    return {"close": close, "near": [] if close else results[:3]}


async def guidance_page(request: web.Request) -> web.Response:
    slug = request.match_info["slug"]
    page: Optional[Guidance] = request.app[PAGES_KEY].get(slug)
    if page is None and slug in request.app[ALIASES_KEY]:  # a page merged into another keeps its address
        raise web.HTTPMovedPermanently(f"/guidance/{request.app[ALIASES_KEY][slug]}")
    if page is None:
        return page_html(request, "not_found.html", status=404)
    return page_html(
        request,
        "guidance_page.html",
        page=page,
        body=render_markdown(page.body),
        category_title=CATEGORY_TITLES.get(page.category, page.category),
        overdue=page.overdue(),
    )  # past review_by: the reader is told it may be out of date


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok", "pages": len(request.app[PAGES_KEY])})


async def home(request: web.Request) -> web.Response:
    return page_html(request, "home.html")


def create_app(settings: Optional[Settings] = None) -> web.Application:
    settings = settings or Settings.from_env()
    app = web.Application(middlewares=[security_headers], client_max_size=64 * 1024)
    app[SETTINGS_KEY] = settings
    pages = load_pages(settings.knowledge_dir / "pages")
    app[PAGES_KEY] = {p.slug: p for p in pages}
    app[ALIASES_KEY] = aliases_of(pages)
    app[TEMPLATES_KEY] = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True)
    app.router.add_get("/", home)
    app.router.add_get("/guidance", guidance_list)
    app.router.add_get("/guidance/", guidance_list)
    app.router.add_get("/guidance/{slug}", guidance_page)
    app.router.add_get("/healthz", health)
    app.router.add_static("/static/", HERE / "static", follow_symlinks=False)
    _add_console(app, settings)
    return app


def _add_console(app: web.Application, settings: Settings) -> None:
    from bot.console import add_console
    from bot.handoff import HandoffStore

    push = None
    if settings.telegram_bot_token:  # python-telegram-bot is loaded only then
        from bot.telegram import push_to_chat as push
    from bot.handoff._email import EmailingDesk

    from ._reopen import add_email

    store = HandoffStore(settings.handoff_store, session_hours=settings.console_session_hours)
    desk = EmailingDesk(settings.with_secrets(), store, telegram_push=push)  # replies unseen are emailed
    add_email(app, settings, store, desk)  # before the console's catch-all route
    add_console(app, store, desk)


def main(argv=None) -> None:
    import argparse

    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="mutuals-web")
    parser.add_argument("--host", default=settings.host)
    parser.add_argument("--port", type=int, default=settings.web_port)
    args = parser.parse_args(argv)
    logging.basicConfig(level="INFO", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    from bot.privacy import install_log_redaction

    install_log_redaction()  # no email address, UK phone number or postcode in the logs (docs/privacy.md)
    web.run_app(create_app(settings), host=args.host, port=args.port, access_log=None, print=None)
