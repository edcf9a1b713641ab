"""The console's knowledge-gap page, for supervisors: ``/console/gaps``.

The missed questions (bot/insights/_misses.py) grouped by meaning (bot/insights/_gaps.py), each
group with what to do about it (bot/insights/_loop.py): add a question as a phrasing of a section,
start a new section's draft from the advisers' replies, dismiss it with a reason, or move a question
to another group. Plain HTML forms: they work without JavaScript, and every change carries the
session's CSRF token (the ``csrf`` field), as every console change does; only supervisors may
see the page or change anything.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import re
from typing import Optional

from aiohttp import web

from bot.handoff import HandoffStore
from bot.web.rendering import PAGES_KEY, SETTINGS_KEY, page_html

logger = logging.getLogger(__name__)
MISSES_KEY = web.AppKey("miss_store", object)
REFRESH_TIMEOUT_SECONDS = 20
DONE = {
    "phrasing": "The question was added as a phrasing of that section. The assistant answers with it within a few seconds.",
    "patch": "The knowledge folder is read-only here, so the change was exported as a patch for an editor to apply.",
    "draft": "A draft section was started for an editor in knowledge/drafts/.",
    "dismissed": "The group was dismissed.",
    "moved": "The question was moved.",
}


def _session(request: web.Request):
    from ._routes import COOKIE

    return request.app[_STORE_KEY].session(request.cookies.get(COOKIE))


_STORE_KEY = web.AppKey("gaps_handoff_store", HandoffStore)


def supervisor_only(handler):
    """Signed in (else the sign-in page), a supervisor (else 403), and for a change the session's
    CSRF token in the form."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = _session(request)
        if session is None:
            raise web.HTTPSeeOther("/console/login")
        if not session.adviser.is_supervisor:
            return _page(request, session, status=403, error="Only a supervisor can see the knowledge gaps.")
        request["session"] = session
        if request.method == "POST":
            form = await request.post()
            request["form"] = form
            given = str(form.get("csrf", ""))
            if not hmac.compare_digest(given.encode(), session.csrf_token.encode()):
                return _page(
                    request,
                    session,
                    status=403,
                    error="The form lacked this session's security token; reload the page and try again.",
                )
        return await handler(request)

    return wrapped


def _misses(request: web.Request):
    return request.app[MISSES_KEY]


def _settings(request: web.Request):
    return request.app[SETTINGS_KEY]


def _sections(request: web.Request) -> list:
    """Every section as (passage id, "Page › Heading"), by page title."""
    out = []
    for page in sorted((request.app.get(PAGES_KEY) or {}).values(), key=lambda p: p.title):
        for passage in page.passages:
            out.append((passage.id, f"{page.title} \u203a {passage.heading}" if passage.heading else page.title))
    return out


async def _refresh(settings) -> Optional[str]:
    """Ask the action server to embed and group the new misses; a sentence when it could not."""
    import aiohttp

    base = settings.actions_url
    url = (base[: -len("/webhook")] if base.endswith("/webhook") else base) + "/insights/refresh"
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=REFRESH_TIMEOUT_SECONDS)) as http:
            async with http.post(url) as response:
                if response.status == 200:
                    return None
    except Exception as exc:
        logger.warning("gaps: the action server did not group the new questions: %s", type(exc).__name__)
    return "The newest questions could not be grouped just now (the assistant's search did not answer); they will be next time."


def _when(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, dt.timezone.utc).strftime("%-d %b %Y %H:%M UTC")


def _page(
    request: web.Request, session, status: int = 200, error: str = "", groups=None, notice: str = "", paging=None
):
    sections = _sections(request) if session.adviser.is_supervisor else []
    return page_html(
        request,
        "console/gaps.html",
        status=status,
        session=session,
        error=error,
        notice=notice,
        groups=groups or [],
        sections=sections,
        titles=dict(sections),
        when=_when,
        sort=request.query.get("sort", "size"),
        done=DONE.get(request.query.get("done", "")),
        patch=re.sub(r"[^\w.-]", "", request.query.get("patch", "")),
        paging=paging,
    )


GROUPS_PER_PAGE = 50  # a month of a busy service makes hundreds; each group carries its forms


@supervisor_only
async def gaps_page(request: web.Request) -> web.Response:
    from bot.insights._gaps import gap_summaries

    notice = await _refresh(_settings(request)) or ""
    sort = "growth" if request.query.get("sort") == "growth" else "size"
    decided = request.query.get("decided") == "1"
    groups = await asyncio.to_thread(gap_summaries, _misses(request), None, sort, decided)
    pages = max(1, -(-len(groups) // GROUPS_PER_PAGE))
    try:
        page = min(max(1, int(request.query.get("page", "1"))), pages)
    except ValueError:
        page = 1
    shown = groups[(page - 1) * GROUPS_PER_PAGE : page * GROUPS_PER_PAGE]
    return _page(
        request,
        request["session"],
        groups=shown,
        notice=notice,
        paging={
            "page": page,
            "pages": pages,
            "total": len(groups),
            "query": f"sort={sort}" + ("&decided=1" if decided else ""),
            "first": (page - 1) * GROUPS_PER_PAGE + 1,
            "last": (page - 1) * GROUPS_PER_PAGE + len(shown),
        },
    )


def _int(value, what: str) -> int:
    try:
        number = int(str(value))
        if 0 < number < 2**63:
            return number
    except ValueError:
        pass
    raise web.HTTPBadRequest(text=f"{what} must be a number")


def _group_id(request: web.Request) -> int:
    try:
        return _int(request.match_info["group_id"], "the group")
    except web.HTTPBadRequest:
        raise web.HTTPNotFound(text="no such group")


def _back(done: str, **extra) -> web.HTTPSeeOther:
    query = "&".join([f"done={done}"] + [f"{k}={v}" for k, v in extra.items()])
    return web.HTTPSeeOther(f"/console/gaps?{query}#results")


async def _group(request: web.Request, group_id: int) -> dict:
    from bot.insights._gaps import gap_summaries

    found = [
        g for g in await asyncio.to_thread(gap_summaries, _misses(request), None, "size", True) if g["id"] == group_id
    ]
    if not found:
        raise web.HTTPNotFound(text="no such group")
    return found[0]


def _patch_dir(request: web.Request):
    return _settings(request).var_dir / "insights" / "patches"


async def _changed(request: web.Request, run, group_id: int, status: str, decision: str, done: str) -> web.Response:
    """Make the change (``run``), record the group's decision and go back to the page saying
    ``done`` (or offering the patch); the page with the reason when the change was refused."""
    from bot.insights._gaps import decide
    from bot.insights._loop import GapError

    try:
        change = await asyncio.to_thread(run)
    except GapError as exc:
        return _page(request, request["session"], status=409, error=str(exc))
    await asyncio.to_thread(
        decide, _misses(request), group_id, status, f"{decision}; {change.describe()}", request["session"].adviser.id
    )
    if change.patch is not None:
        raise _back("patch", patch=change.patch.name)
    raise _back(done)


@supervisor_only
async def add_phrasing(request: web.Request) -> web.Response:
    from bot.insights._loop import add_phrasing as add

    group_id, form = _group_id(request), request["form"]
    await _group(request, group_id)
    miss = _misses(request).miss(_int(form.get("miss_id"), "the question"))
    section = str(form.get("section", ""))
    if miss is None or miss.group_id != group_id:
        return _page(request, request["session"], status=409, error="That question is not in this group any more.")
    if section not in dict(_sections(request)):
        return _page(request, request["session"], status=409, error="Choose a section of the guidance.")
    knowledge = _settings(request).knowledge_dir
    return await _changed(
        request,
        lambda: add(knowledge, section, miss.question, _patch_dir(request), group_id),
        group_id,
        "phrasing_added",
        f"“{miss.question}” added as a phrasing of {section}",
        "phrasing",
    )


@supervisor_only
async def start_draft(request: web.Request) -> web.Response:
    from bot.insights._loop import start_draft as draft

    group_id = _group_id(request)
    group = await _group(request, group_id)
    knowledge = _settings(request).knowledge_dir
    title = dict(_sections(request)).get(group["nearest"], "")
    return await _changed(
        request,
        lambda: draft(knowledge, group, _patch_dir(request), title),
        group_id,
        "draft_started",
        "a new section drafted for an editor",
        "draft",
    )


@supervisor_only
async def dismiss(request: web.Request) -> web.Response:
    from bot.insights._gaps import decide

    group_id = _group_id(request)
    await _group(request, group_id)
    reason = " ".join(str(request["form"].get("reason", "")).split())[:500]
    if not reason:
        return _page(request, request["session"], status=400, error="Say why the group is dismissed.")
    await asyncio.to_thread(decide, _misses(request), group_id, "dismissed", reason, request["session"].adviser.id)
    raise _back("dismissed")


@supervisor_only
async def move_question(request: web.Request) -> web.Response:
    from bot.insights._gaps import move

    form = request["form"]
    miss_id = _int(form.get("miss_id"), "the question")
    to = str(form.get("to", "")).strip()
    target = None if to == "new" else _int(to, "the group")
    try:
        await asyncio.to_thread(move, _misses(request), miss_id, target)
    except LookupError as exc:
        return _page(request, request["session"], status=409, error=f"{exc}.")
    raise _back("moved")


@supervisor_only
async def patch_file(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    path = _patch_dir(request) / name
    if not re.fullmatch(r"[\w.-]+\.patch", name) or not path.is_file():
        raise web.HTTPNotFound(text="no such patch")
    return web.Response(
        text=path.read_text(encoding="utf-8"),
        content_type="text/x-diff",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def add_gap_pages(app: web.Application, store: HandoffStore) -> None:
    """Register the gap page's routes (before the console's catch-all: bot/web/app.py)."""
    from bot.insights._misses import MissStore

    app[_STORE_KEY] = store
    app[MISSES_KEY] = MissStore(engine=store.engine)
    r = app.router
    r.add_get("/console/gaps", gaps_page)
    r.add_post("/console/gaps/move", move_question)
    r.add_post("/console/gaps/{group_id}/phrasing", add_phrasing)
    r.add_post("/console/gaps/{group_id}/draft", start_draft)
    r.add_post("/console/gaps/{group_id}/dismiss", dismiss)
    r.add_get("/console/gaps/patches/{name}", patch_file)


def record_case_replies(desk, misses) -> None:
    """What advisers reply on a case, and how it ends, are kept with the case's misses (the gap
    page shows them): the desk's ``reply`` and ``close`` are followed by a note in the misses store."""
    from bot.insights._record import _safely

    reply, close = desk.reply, desk.close

    async def replied(case_id, adviser, text, *args, **kwargs):
        case = await reply(case_id, adviser, text, *args, **kwargs)
        await asyncio.to_thread(_safely, "an adviser's reply", misses.add_reply, case.id, text)
        return case

    async def closed(case_id, adviser, outcome, *args, **kwargs):
        case = await close(case_id, adviser, outcome, *args, **kwargs)
        await asyncio.to_thread(_safely, "a closed case", misses.close_case, case.id, outcome)
        return case

    desk.reply, desk.close = replied, closed


def add_console_with_gaps(app: web.Application, store: HandoffStore, desk) -> None:
    """The console with its knowledge-gap page (registered first: the console ends in a catch-all)."""
    from ._routes import add_console

    add_gap_pages(app, store)
    record_case_replies(desk, app[MISSES_KEY])
    add_console(app, store, desk)
