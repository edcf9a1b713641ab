"""The adviser console at /console: login, the queue, a case, and the JSON API its pages use.

Every page and API call needs a signed-in adviser (pages redirect to the login form, the API
answers 401); every change needs the session's CSRF token in the ``X-CSRF-Token`` header (or the
form field ``csrf``); sessions expire; failed logins are slowed and then refused for a while.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
import time
from collections import OrderedDict
from typing import Optional

from aiohttp import web

from bot.addresses import client_address
from bot.handoff import OUTCOMES, AdviserDesk, HandoffError, HandoffStore, RasaUnavailable, Session
from bot.web.rendering import PAGES_KEY, SETTINGS_KEY, page_html

from ._passwords import DUMMY_HASH, hash_password, needs_rehash, verify_password

logger = logging.getLogger(__name__)
COOKIE = "mutuals_console"
LOGIN_COOKIE = "mutuals_login"
MAX_FAILURES = 5
FAILURE_WINDOW = 15 * 60

STORE_KEY = web.AppKey("handoff_store", HandoffStore)
DESK_KEY = web.AppKey("adviser_desk", AdviserDesk)


def _session(request: web.Request) -> Optional[Session]:
    return request.app[STORE_KEY].session(request.cookies.get(COOKIE))


def _client(request: web.Request) -> str:
    """The adviser's address for sign-in throttling; behind our reverse proxy (MUTUALS_TRUST_PROXY)
    from X-Forwarded-For, else every adviser would share the proxy's address and its lock-out."""
    proxies = getattr(request.app.get(SETTINGS_KEY), "trust_proxy", 0)
    return client_address(request.remote, request.headers, proxies)  # as the public channels read it


def _json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def adviser_api(handler):
    """An API handler for signed-in advisers; changes need the CSRF header."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = _session(request)
        if session is None:
            return _json_error(401, "sign in to the console first")
        if request.method != "GET":
            given = request.headers.get("X-CSRF-Token", "")
            if not hmac.compare_digest(given.encode(), session.csrf_token.encode()):
                return _json_error(403, "the request lacks this session's CSRF token; reload the page")
        request["session"] = session
        try:
            return await handler(request)
        except HandoffError as exc:
            return _json_error(409, str(exc))

    return wrapped


def adviser_page(handler):
    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = _session(request)
        if session is None:
            raise web.HTTPSeeOther("/console/login")
        request["session"] = session
        return await handler(request)

    return wrapped


async def _body(request: web.Request) -> dict:
    try:
        body = await request.json()
    except Exception:
        raise web.HTTPBadRequest(
            text='{"error": "the request body must be a JSON object"}', content_type="application/json"
        )
    if not isinstance(body, dict):
        raise web.HTTPBadRequest(
            text='{"error": "the request body must be a JSON object"}', content_type="application/json"
        )
    return body


async def _text(request: web.Request) -> str:
    """The ``text`` of a JSON body ``{"text": "..."}``."""
    text = (await _body(request)).get("text")
    if not isinstance(text, str):
        raise web.HTTPBadRequest(text='{"error": "\'text\' must be a string"}', content_type="application/json")
    return text


def _case_id(request: web.Request) -> int:
    try:
        case_id = int(request.match_info["case_id"])
        if not 0 < case_id < 2**63:  # a database integer (a bigger one crashed SQLite: found by tests/security)
            raise ValueError(case_id)
        return case_id
    except ValueError:
        raise web.HTTPNotFound(text='{"error": "no such case"}', content_type="application/json")


# ---- login ------------------------------------------------------------------------------


async def login_form(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    token = secrets.token_urlsafe(24)
    response = page_html(request, "console/login.html", status=status, csrf=token, error=error)
    response.set_cookie(LOGIN_COOKIE, token, httponly=True, samesite="Strict", path="/console", secure=request.secure)
    return response


async def login(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    form = await request.post()
    expected = request.cookies.get(LOGIN_COOKIE, "")
    if not expected or not hmac.compare_digest(str(form.get("csrf", "")).encode(), expected.encode()):
        return await login_form(request, "Your sign-in form had expired. Please try again.", 403)
    email = str(form.get("email", "")).strip().lower()[:254]
    password = str(form.get("password", ""))[:1024]
    keys = (f"ip:{_client(request)}", f"email:{email}")
    if max(store.login_failures(k, FAILURE_WINDOW) for k in keys) >= MAX_FAILURES:
        return await login_form(request, "Too many failed sign-ins. Wait 15 minutes and try again.", 429)
    found = store.credentials(email)
    ok = verify_password(found[1] if found else DUMMY_HASH, password) and found is not None
    if not ok:
        failures = max(store.record_login_failure(k, FAILURE_WINDOW) for k in keys)
        await asyncio.sleep(min(0.25 * 2**failures, 4.0))  # each failure slower than the last
        return await login_form(request, "That email address and password don't match an adviser.", 401)
    adviser, password_hash = found
    for key in keys:
        store.clear_login_failures(key)
    if needs_rehash(password_hash):
        store.set_password_hash(adviser.id, hash_password(password))
    token, _ = store.start_session(adviser)
    response = web.HTTPSeeOther("/console")
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="Strict",
        path="/console",
        secure=request.secure,
        max_age=int(store.session_seconds),
    )
    response.del_cookie(LOGIN_COOKIE, path="/console")
    raise response


@adviser_api
async def logout(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    store.end_session(request.cookies.get(COOKIE, ""))
    if store.adviser(request["session"].adviser.id).available:  # signed out: away, until they say otherwise
        store.set_available(request["session"].adviser.id, False)
    response = web.json_response({"signed_out": True})
    response.del_cookie(COOKIE, path="/console")
    return response


# ---- pages ---------------------------------------------------------------------------------


@adviser_page
async def queue_page(request: web.Request) -> web.Response:
    return page_html(request, "console/queue.html", session=request["session"])


@adviser_page
async def case_page(request: web.Request) -> web.Response:
    return page_html(
        request,
        "console/case.html",
        session=request["session"],
        case_id=_case_id(request),
        outcomes=[o for o in OUTCOMES if o != "cancelled"],
    )


# ---- the API ---------------------------------------------------------------------------------


def _case_json(store: HandoffStore, case, names: dict) -> dict:
    data = case.as_json()
    data["adviser"] = names.get(case.adviser_id)
    data["waiting_seconds"] = round((case.claimed_at or case.closed_at or time.time()) - case.created_at)
    data["queue_position"] = store.queue_position(case)
    # what the person wrote since whoever has the case last opened it (anyone, while it waits)
    data["unread_messages"] = case.unread_messages
    return data


@adviser_api
async def me(request: web.Request) -> web.Response:
    session: Session = request["session"]
    a = session.adviser
    return web.json_response(
        {
            "id": a.id,
            "name": a.name,
            "email": a.email,
            "role": a.role,
            "available": a.available,
            "csrf": session.csrf_token,
            "expires_at": session.expires_at,
        }
    )


@adviser_api
async def availability(request: web.Request) -> web.Response:
    """``{"available": true|false}``: the adviser is available for new cases, or away. What people
    are told when they are handed over depends on it (actions/handoff.py)."""
    body = await _body(request)
    if not isinstance(body.get("available"), bool):
        return _json_error(400, "'available' must be true or false")
    store = request.app[STORE_KEY]
    adviser = store.set_available(request["session"].adviser.id, body["available"])
    return web.json_response(
        {"available": adviser.available, "available_advisers": [a.name for a in store.available_advisers()]}
    )


@adviser_api
async def list_cases(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    adviser = request["session"].adviser
    names = {a.id: a.name for a in store.advisers()}
    views = ("waiting", "mine", "others", "closed")
    found = {view: [_case_json(store, c, names) for c in store.cases(view, adviser, limit=100)] for view in views}
    handed_to_me = store.transfers_for(adviser)  # cases a colleague passed to this adviser, not yet opened
    for row in found["mine"]:
        row["handed_to_me"] = handed_to_me.get(row["id"])
    for row in found["waiting"]:  # handed back to the queue by an adviser: with their note
        last = store.last_transfer(row["id"]) if row["claimed_at"] else None
        row["handed_back"] = last if last and last["to_id"] is None else None
    return web.json_response(found)


@adviser_api
async def show_case(request: web.Request) -> web.Response:
    store, desk = request.app[STORE_KEY], request.app[DESK_KEY]
    adviser = request["session"].adviser
    case = store.case(_case_id(request))  # read before the transcript: a message arriving meanwhile stays new
    names = {a.id: a.name for a in store.advisers()}
    try:
        transcript, transcript_error = await desk.transcript(case), None
    except HandoffError as exc:
        transcript, transcript_error = [], str(exc)
    if transcript_error is None:  # the adviser has now been shown what the person wrote
        case = store.mark_seen(case, adviser)
    transfer = store.last_transfer(case.id)
    if case.status == "assigned" and case.adviser_id == adviser.id:
        store.mark_transfer_seen(case.id, adviser)  # the receiving adviser has been told (this page says so)
    return web.json_response(
        {
            "transfer": transfer,
            "colleagues": [
                {"id": a.id, "name": a.name, "available": a.available}
                for a in store.advisers()
                if a.active and a.id != adviser.id and a.id != case.adviser_id
            ],
            "tag_list": [t["name"] for t in store.tag_list()],
            "case": _case_json(store, case, names),
            "transcript": transcript,
            "transcript_error": transcript_error,
            "notes": store.notes(case.id),
            "audit": store.audit_trail(case.id),
            "replies": store.replies(case.id),
            "may_act": case.is_open and (case.status == "waiting" or store.may_act_on(case, adviser)),
            "advisers": [{"id": a.id, "name": a.name} for a in store.advisers()] if adviser.is_supervisor else [],
        }
    )


SUGGEST_TIMEOUT_SECONDS = 5
LATEST_MESSAGES = 2  # the person's latest messages searched besides the question handed over
_suggested: "OrderedDict[tuple, dict]" = OrderedDict()  # queries -> the action server's answer


def suggestion_queries(case, transcript: list) -> list:
    """What to find guidance for: the question handed over, then the person's latest messages in
    the case (those of three words or more: "thanks" or "ok" ask nothing)."""
    latest = [
        e["text"]
        for e in transcript
        if e.get("kind") == "user"
        and (e.get("at") or 0) >= case.created_at
        and not str(e.get("text") or "").startswith("/")
        and len(str(e.get("text") or "").split()) >= 3
    ]
    queries = [case.question] + [t for t in latest if t != case.question][-LATEST_MESSAGES:]
    return list(dict.fromkeys(q.strip() for q in queries if q and q.strip()))


def suggest_url(settings) -> str:
    """The action server's suggestions (bot/guidance/_suggest.py): it holds the model and the index."""
    base = settings.actions_url
    return (base[: -len("/webhook")] if base.endswith("/webhook") else base) + "/guidance/suggest"


async def suggest(settings, queries: list) -> dict:
    """The action server's suggestions for ``queries``, remembered for the same queries (the
    console refreshes every 2 seconds; they change only when the person writes)."""
    import aiohttp

    key = tuple(queries)
    if key in _suggested:
        _suggested.move_to_end(key)
        return _suggested[key]
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SUGGEST_TIMEOUT_SECONDS)) as http:
            async with http.post(suggest_url(settings), json={"queries": queries}) as response:
                response.raise_for_status()
                found = await response.json()
    except Exception as exc:  # the action server is down or slow: the case page works without them
        logger.warning("console: suggested guidance failed: %s", type(exc).__name__)
        return {
            "queries": queries,
            "suggestions": [],
            "error": "Suggested guidance isn't available just now; it will try again when the person writes.",
        }
    _suggested[key] = found
    while len(_suggested) > 256:
        _suggested.popitem(last=False)
    return found


@adviser_api
async def suggested_guidance(request: web.Request) -> web.Response:
    """The guidance sections that best answer the case's question and the person's latest messages."""
    store, desk = request.app[STORE_KEY], request.app[DESK_KEY]
    case = store.case(_case_id(request))
    try:
        transcript = await desk.transcript(case)
    except HandoffError:
        transcript = []
    return web.json_response(await suggest(request.app[SETTINGS_KEY], suggestion_queries(case, transcript)))


# ---- saved replies -------------------------------------------------------------------------


def _saved_link(request: web.Request, saved: dict) -> Optional[dict]:
    """A saved reply's guidance section as ``{"title", "url"}`` (``None``: none, or no longer ours)."""
    found = (
        _sources(request, [{"slug": saved["guidance_slug"], "anchor": saved["guidance_anchor"]}])
        if saved.get("guidance_slug")
        else []
    )
    return {"title": found[0]["title"], "url": found[0]["url"]} if found else None


def _saved_json(request: web.Request, saved: dict) -> dict:
    return {**saved, "link": _saved_link(request, saved)}


def _saved_body(request: web.Request, body: dict) -> dict:
    """A saved reply's fields from a request, its guidance link checked against our pages."""
    fields = {k: body.get(k, "") for k in ("title", "text", "guidance_slug", "guidance_anchor")}
    if not all(isinstance(v, str) for v in fields.values()):
        raise web.HTTPBadRequest(
            text='{"error": "title, text, guidance_slug and guidance_anchor must be strings"}',
            content_type="application/json",
        )
    if fields["guidance_slug"].strip() and not _sources(
        request, [{"slug": fields["guidance_slug"].strip(), "anchor": fields["guidance_anchor"].strip()}]
    ):
        raise HandoffError("that guidance link is not a page (and section) of this guidance")
    return fields


def _saved_id(request: web.Request) -> int:
    try:
        reply_id = int(request.match_info["reply_id"])
        if not 0 < reply_id < 2**63:
            raise ValueError(reply_id)
        return reply_id
    except ValueError:
        raise web.HTTPNotFound(text='{"error": "no such saved reply"}', content_type="application/json")


@adviser_api
async def list_saved_replies(request: web.Request) -> web.Response:
    """Every adviser: the saved replies in use; a supervisor with ``?all=1``: the retired ones too."""
    adviser = request["session"].adviser
    everything = adviser.is_supervisor and request.query.get("all") == "1"
    return web.json_response(
        {
            "saved_replies": [
                _saved_json(request, r) for r in request.app[STORE_KEY].saved_replies(include_retired=everything)
            ]
        }
    )


@adviser_api
async def add_saved_reply(request: web.Request) -> web.Response:
    adviser = request["session"].adviser
    if not adviser.is_supervisor:
        return _json_error(403, "only a supervisor can add saved replies")
    saved = request.app[STORE_KEY].add_saved_reply(adviser, **_saved_body(request, await _body(request)))
    return web.json_response({"saved_reply": _saved_json(request, saved)})


@adviser_api
async def change_saved_reply(request: web.Request) -> web.Response:
    """Edit a saved reply, or retire it (``"active": false``) or bring it back."""
    adviser = request["session"].adviser
    if not adviser.is_supervisor:
        return _json_error(403, "only a supervisor can change saved replies")
    body = await _body(request)
    active = body.get("active", True)
    if not isinstance(active, bool):
        return _json_error(400, "'active' must be true or false")
    saved = request.app[STORE_KEY].update_saved_reply(
        _saved_id(request), adviser, active=active, **_saved_body(request, body)
    )
    return web.json_response({"saved_reply": _saved_json(request, saved)})


@adviser_api
async def use_saved_reply(request: web.Request) -> web.Response:
    """An adviser puts a saved reply in a case's reply box: ``filled`` is its text for this person
    (their name in place of ``{name}``, the guidance link after it); the use is counted."""
    store = request.app[STORE_KEY]
    case = store.case(_case_id(request))
    used = store.use_saved_reply(_saved_id(request), case)
    link = _saved_link(request, used)
    filled = used["filled"] + (f"\n\nSource: [{link['title']}]({link['url']})" if link else "")
    return web.json_response({"id": used["id"], "uses": used["uses"], "filled": filled, "link": link})


@adviser_page
async def saved_replies_page(request: web.Request) -> web.Response:
    return page_html(request, "console/saved_replies.html", session=request["session"])


@adviser_api
async def claim(request: web.Request) -> web.Response:
    case = await request.app[DESK_KEY].claim(_case_id(request), request["session"].adviser)
    return web.json_response({"case": case.as_json()})


def _sources(request: web.Request, given) -> list:
    """The guidance sections an adviser says a reply used (``[{"slug", "anchor"}]``), checked
    against the pages this server has: titles and links are ours, never the browser's."""
    if given is None:
        return []
    if not isinstance(given, list) or not all(isinstance(g, dict) for g in given):
        raise web.HTTPBadRequest(
            text='{"error": "\'sources\' must be a list of {slug, anchor}"}', content_type="application/json"
        )
    pages, settings, out = request.app.get(PAGES_KEY) or {}, request.app.get(SETTINGS_KEY), []
    for item in given[:10]:
        page = pages.get(str(item.get("slug") or ""))
        anchor = str(item.get("anchor") or "")
        passage = next((p for p in page.passages if p.anchor == anchor), None) if page else None
        if page is None or (anchor and passage is None):
            continue  # not a section of ours (a page since removed, or made up): not recorded
        title = f"{page.title} \u203a {passage.heading}" if passage and passage.heading else page.title
        url = settings.guidance_url(page.slug, anchor) if settings else f"/guidance/{page.slug}"
        if not any(o["slug"] == page.slug and o["anchor"] == anchor for o in out):
            out.append({"slug": page.slug, "anchor": anchor, "title": title, "url": url})
    return out


@adviser_api
async def reply(request: web.Request) -> web.Response:
    body = await _body(request)
    if not isinstance(body.get("text"), str):
        return _json_error(400, "'text' must be a string")
    case = await request.app[DESK_KEY].reply(
        _case_id(request), request["session"].adviser, body["text"], sources=_sources(request, body.get("sources"))
    )
    return web.json_response({"case": case.as_json()})


@adviser_api
async def note(request: web.Request) -> web.Response:
    request.app[STORE_KEY].add_note(_case_id(request), request["session"].adviser, await _text(request))
    return web.json_response({"noted": True})


@adviser_api
async def close(request: web.Request) -> web.Response:
    body = await _body(request)
    outcome, tags = body.get("outcome"), body.get("tags")
    if isinstance(tags, str):
        tags = [t for t in tags.split(",")]
    if not isinstance(outcome, str) or not (
        tags is None or isinstance(tags, list) and all(isinstance(t, str) for t in tags)
    ):
        return _json_error(400, "'outcome' must be a string and 'tags' a list of strings")
    # tags, when given, come from the supervisors' list; without them the case keeps its own
    tags = None if tags is None else request.app[STORE_KEY].check_tags(tags[:20])
    case = await request.app[DESK_KEY].close(_case_id(request), request["session"].adviser, outcome, tags)
    return web.json_response({"case": case.as_json()})


@adviser_api
async def transfer(request: web.Request) -> web.Response:
    """``{"to": <adviser id> | null, "note": "..."}``: the adviser hands the case to a colleague, or
    back to the queue (``null``), with a note the person does not see."""
    store = request.app[STORE_KEY]
    body = await _body(request)
    to_id, note = body.get("to"), body.get("note")
    if not isinstance(note, str) or not (to_id is None or isinstance(to_id, int) and not isinstance(to_id, bool)):
        return _json_error(400, "'to' must be an adviser's id or null, and 'note' a string")
    to = None
    if to_id is not None:
        to = store.adviser(to_id) if 0 < to_id < 2**63 else None
        if to is None or not to.active:
            return _json_error(400, "'to' must name an adviser")
    case = await request.app[DESK_KEY].transfer(_case_id(request), request["session"].adviser, to, note)
    return web.json_response({"case": case.as_json()})


@adviser_api
async def case_tags(request: web.Request) -> web.Response:
    """``{"tags": [...]}``: the case's tags, each from the supervisors' list."""
    tags = (await _body(request)).get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        return _json_error(400, "'tags' must be a list of strings")
    case = request.app[STORE_KEY].set_case_tags(_case_id(request), request["session"].adviser, tags[:20])
    return web.json_response({"case": case.as_json()})


# ---- the tag list and the search of closed cases -------------------------------------------------


@adviser_api
async def list_tags(request: web.Request) -> web.Response:
    adviser = request["session"].adviser
    everything = adviser.is_supervisor and request.query.get("all") == "1"
    return web.json_response({"tags": request.app[STORE_KEY].tag_list(include_retired=everything)})


@adviser_api
async def add_tag(request: web.Request) -> web.Response:
    adviser = request["session"].adviser
    if not adviser.is_supervisor:
        return _json_error(403, "only a supervisor can add tags")
    name = (await _body(request)).get("name")
    if not isinstance(name, str):
        return _json_error(400, "'name' must be a string")
    return web.json_response({"tag": request.app[STORE_KEY].add_tag(adviser, name)})


@adviser_api
async def change_tag(request: web.Request) -> web.Response:
    """``{"active": false}`` retires a tag (cases keep it; it is no longer offered), ``true`` brings it back."""
    adviser = request["session"].adviser
    if not adviser.is_supervisor:
        return _json_error(403, "only a supervisor can change the tags")
    active = (await _body(request)).get("active")
    if not isinstance(active, bool):
        return _json_error(400, "'active' must be true or false")
    try:
        tag_id = int(request.match_info["tag_id"])
        if not 0 < tag_id < 2**63:
            raise ValueError(tag_id)
    except ValueError:
        return _json_error(404, "no such tag")
    return web.json_response({"tag": request.app[STORE_KEY].set_tag_active(adviser, tag_id, active)})


def _day_start(text: str, settings, days: int = 0) -> Optional[float]:
    """The start of the day ``YYYY-MM-DD`` (plus ``days``) in the advisers' time zone, as a timestamp."""
    import datetime
    from zoneinfo import ZoneInfo

    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text) + datetime.timedelta(days=days)
    except (ValueError, OverflowError):
        raise web.HTTPBadRequest(text='{"error": "dates are written YYYY-MM-DD"}', content_type="application/json")
    zone = ZoneInfo(getattr(settings, "adviser_timezone", None) or "Europe/London")
    return datetime.datetime.combine(day, datetime.time(0), tzinfo=zone).timestamp()


@adviser_api
async def search_closed(request: web.Request) -> web.Response:
    """Supervisors: closed cases by ``tag``, ``q`` (words in the question, topic, name or notes),
    ``adviser`` (an id) and the days ``from`` and ``to`` (closed on or after, on or before)."""
    adviser = request["session"].adviser
    if not adviser.is_supervisor:
        return _json_error(403, "only a supervisor can search closed cases")
    store, q, settings = request.app[STORE_KEY], request.query, request.app.get(SETTINGS_KEY)
    adviser_id = None
    if q.get("adviser"):
        try:
            adviser_id = int(q["adviser"])
        except ValueError:
            return _json_error(400, "'adviser' must be an adviser's id")
        if not 0 < adviser_id < 2**63:
            return _json_error(400, "'adviser' must be an adviser's id")
    names = {a.id: a.name for a in store.advisers()}
    found = store.search_closed(
        tag=q.get("tag", "")[:40],
        text=q.get("q", "")[:200],
        adviser_id=adviser_id,
        closed_from=_day_start(q.get("from", "")[:10], settings),
        closed_before=_day_start(q.get("to", "")[:10], settings, days=1),
        limit=201,
    )
    return web.json_response(
        {
            "cases": [_case_json(store, c, names) for c in found[:200]],
            "more": len(found) > 200,
            "advisers": [{"id": a.id, "name": a.name} for a in store.advisers()],
            "tags": [t["name"] for t in store.tag_list(include_retired=True)],
        }
    )


@adviser_page
async def tags_page(request: web.Request) -> web.Response:
    return page_html(request, "console/tags.html", session=request["session"])


@adviser_page
async def search_page(request: web.Request) -> web.Response:
    if not request["session"].adviser.is_supervisor:
        return page_html(request, "console/search.html", status=403, session=request["session"], refused=True)
    return page_html(request, "console/search.html", session=request["session"], refused=False)


@adviser_api
async def assign(request: web.Request) -> web.Response:
    store = request.app[STORE_KEY]
    body = await _body(request)
    to = store.adviser(body.get("adviser_id")) if isinstance(body.get("adviser_id"), int) else None
    if to is None:
        return _json_error(400, "'adviser_id' must name an adviser")
    case = await request.app[DESK_KEY].assign(_case_id(request), to, request["session"].adviser)
    return web.json_response({"case": case.as_json()})


@adviser_page  # a link the browser follows: an expired session goes to the sign-in page
async def export_csv(request: web.Request) -> web.Response:
    if not request["session"].adviser.is_supervisor:
        return _json_error(403, "only a supervisor can export cases")
    return web.Response(
        text=request.app[STORE_KEY].export_closed_csv(),
        content_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="closed-cases.csv"'},
    )


@adviser_api
async def erase(request: web.Request) -> web.Response:
    """A supervisor erases a person's conversation and cases for them (their request to delete
    their data, made to an adviser): ``{"conversation_id": "..."}``; see docs/privacy.md."""
    adviser = request["session"].adviser
    if not adviser.is_supervisor:
        return _json_error(403, "only a supervisor can delete a person's data")
    body = await _body(request)
    conversation_id = body.get("conversation_id")
    if not isinstance(conversation_id, str) or not 0 < len(conversation_id) <= 128:
        return _json_error(400, "'conversation_id' must name a conversation")
    try:
        return web.json_response(await request.app[DESK_KEY].erase(conversation_id, adviser))
    except RasaUnavailable as exc:
        return _json_error(503, str(exc))


def add_console(app: web.Application, store: HandoffStore, desk: AdviserDesk) -> None:
    app[STORE_KEY] = store
    app[DESK_KEY] = desk
    r = app.router
    r.add_get("/console/login", login_form)
    r.add_post("/console/login", login)
    r.add_post("/console/logout", logout)
    r.add_get("/console", queue_page)
    r.add_get("/console/", queue_page)
    r.add_get("/console/cases/{case_id}", case_page)
    r.add_get("/console/api/me", me)
    r.add_post("/console/api/me/availability", availability)
    r.add_get("/console/api/cases", list_cases)
    r.add_get("/console/api/cases/{case_id}", show_case)
    r.add_get("/console/api/cases/{case_id}/guidance", suggested_guidance)
    r.add_post("/console/api/cases/{case_id}/saved-replies/{reply_id}/use", use_saved_reply)
    r.add_get("/console/api/saved-replies", list_saved_replies)
    r.add_post("/console/api/saved-replies", add_saved_reply)
    r.add_post("/console/api/saved-replies/{reply_id}", change_saved_reply)
    r.add_get("/console/saved-replies", saved_replies_page)
    r.add_post("/console/api/cases/{case_id}/claim", claim)
    r.add_post("/console/api/cases/{case_id}/reply", reply)
    r.add_post("/console/api/cases/{case_id}/note", note)
    r.add_post("/console/api/cases/{case_id}/close", close)
    r.add_post("/console/api/cases/{case_id}/assign", assign)
    r.add_post("/console/api/cases/{case_id}/transfer", transfer)
    r.add_post("/console/api/cases/{case_id}/tags", case_tags)
    r.add_get("/console/api/tags", list_tags)
    r.add_post("/console/api/tags", add_tag)
    r.add_post("/console/api/tags/{tag_id}", change_tag)
    r.add_get("/console/api/closed-cases", search_closed)
    r.add_get("/console/tags", tags_page)
    r.add_get("/console/search", search_page)
    r.add_get("/console/export.csv", export_csv)
    r.add_post("/console/api/erase", erase)
    __import__("bot.console._insights_dashboard", fromlist=["add_insights"]).add_insights(app)  # /console/insights
    r.add_route("*", "/console/{tail:.*}", _not_found)

    async def _close_desk(_app):
        await desk.aclose()
        store.dispose()

    app.on_cleanup.append(_close_desk)


@adviser_api
async def _not_found(request: web.Request) -> web.Response:
    return _json_error(404, "no such console page")
