"""The knowledge-gap page through the web server: supervisors only, the console's sign-in and CSRF
rules, groups shown with their figures, and its forms writing the change into (a copy of) knowledge/."""

from __future__ import annotations

import asyncio
import re

import numpy as np
import yaml
from aiohttp.test_utils import TestClient, TestServer

from bot.handoff import HandoffStore
from bot.insights._gaps import assign_groups
from bot.insights._misses import MissStore
from bot.settings import Settings
from bot.stack import free_port
from tests.support.console_desk import GAP_SECTION, Adviser, ConversationDesk, cookie

SECTION = GAP_SECTION  # the section the `web` fixture's misses are closest to (tests/console/conftest.py)


def run(web, scenario):
    async def go():
        async with TestClient(TestServer(web.app)) as client:
            await scenario(client)

    asyncio.run(go())


def test_only_a_signed_in_supervisor_sees_the_gaps(web):
    async def scenario(client):
        async with client.get("/console/gaps", allow_redirects=False) as r:
            assert r.status == 303 and r.headers["Location"] == "/console/login"
        async with client.get("/console/gaps", headers=cookie(web.ann)) as r:
            assert r.status == 403 and "Only a supervisor" in await r.text()
        async with client.post(
            "/console/gaps/1/dismiss", data={"csrf": web.ann[1], "reason": "x"}, headers=cookie(web.ann)
        ) as r:
            assert r.status == 403
        async with client.get("/console/gaps", headers=cookie(web.sue)) as r:
            page = await r.text()
            assert r.status == 200 and r.headers["X-Frame-Options"] == "DENY"
        sizes = re.findall(r"<strong>(\d+)</strong> questions? from (\d+) conversation", page)
        assert sizes == [("3", "3"), ("1", "1")]  # largest first
        assert "can the members split the money if we wind up" in page and "could not be grouped just now" in page
        assert "Does an asset lock stop a mutual being sold off?" in page and "(score 0.9)" in page

    run(web, scenario)


def test_a_supervisor_adds_a_phrasing_dismisses_and_moves_with_the_sessions_token(web):
    group = web.misses.misses()[0].group_id
    miss = web.misses.misses()[1]
    path = web.knowledge / "phrasings" / "asset-locks.yml"

    async def scenario(client):
        form = {"miss_id": str(miss.id), "section": SECTION}
        async with client.post(f"/console/gaps/{group}/phrasing", data=form, headers=cookie(web.sue)) as r:
            assert r.status == 403 and "security token" in await r.text()  # no CSRF token
        async with client.post(
            f"/console/gaps/{group}/phrasing",
            data={**form, "csrf": web.sue[1]},
            headers=cookie(web.sue),
            allow_redirects=False,
        ) as r:
            assert r.status == 303 and "done=phrasing" in r.headers["Location"]
        assert miss.question in yaml.safe_load(path.read_text())["sections"][SECTION.split("#")[1]]
        assert (web.knowledge / "questions" / "approved-gaps.yml").is_file()
        async with client.get("/console/gaps", headers=cookie(web.sue)) as r:
            page = await r.text()
        assert "can the members split the money" not in page  # decided: off the list of open gaps
        async with client.get("/console/gaps?decided=1", headers=cookie(web.sue)) as r:
            assert "added as a phrasing of " + SECTION in await r.text()

        other = [m for m in web.misses.misses() if m.group_id != group][0]
        async with client.post(
            f"/console/gaps/{other.group_id}/dismiss", data={"csrf": web.sue[1], "reason": " "}, headers=cookie(web.sue)
        ) as r:
            assert r.status == 400 and "Say why" in await r.text()
        async with client.post(
            "/console/gaps/move",
            data={"csrf": web.sue[1], "miss_id": str(other.id), "to": str(group)},
            headers=cookie(web.sue),
            allow_redirects=False,
        ) as r:
            assert r.status == 303
        assert web.misses.miss(other.id).group_id == group
        async with client.post(
            f"/console/gaps/{group}/draft", data={"csrf": web.sue[1]}, headers=cookie(web.sue), allow_redirects=False
        ) as r:
            assert r.status == 303
        draft = (web.knowledge / "drafts" / f"gap-{group}.md").read_text()
        assert "can you book me a GP appointment" in draft and "What advisers replied" in draft
        async with client.post(
            "/console/gaps/99/dismiss", data={"csrf": web.sue[1], "reason": "spam"}, headers=cookie(web.sue)
        ) as r:
            assert r.status == 404

    run(web, scenario)


def test_with_a_read_only_knowledge_folder_the_phrasing_comes_as_a_patch_to_download(web, monkeypatch):
    monkeypatch.setenv("MUTUALS_KNOWLEDGE_READ_ONLY", "1")
    group = web.misses.misses()[0].group_id
    miss = web.misses.misses()[1]
    before = (web.knowledge / "phrasings" / "asset-locks.yml").read_text()

    async def scenario(client):
        form = {"miss_id": str(miss.id), "section": SECTION, "csrf": web.sue[1]}
        async with client.post(
            f"/console/gaps/{group}/phrasing", data=form, headers=cookie(web.sue), allow_redirects=False
        ) as r:
            assert r.status == 303 and "done=patch" in r.headers["Location"], r.headers.get("Location")
            name = re.search(r"patch=([\w.-]+)", r.headers["Location"]).group(1)
        async with client.get(r.headers["Location"], headers=cookie(web.sue)) as r:
            assert f'href="/console/gaps/patches/{name}"' in await r.text()
        async with client.get(f"/console/gaps/patches/{name}", headers=cookie(web.sue)) as r:
            patch = await r.text()
        assert r.status == 200 and "asset-locks.yml" in patch and miss.question in patch

    run(web, scenario)
    assert (web.knowledge / "phrasings" / "asset-locks.yml").read_text() == before  # nothing written


def test_an_advisers_reply_and_the_cases_end_join_its_misses(tmp_path):
    from aiohttp import web as aioweb

    from bot.console import add_console

    store = HandoffStore(f"sqlite:///{tmp_path / 'h.db'}")
    app = aioweb.Application()
    add_console(app, store, ConversationDesk(store))
    misses = MissStore(engine=store.engine)
    misses.record("p1", "declined", "can our bowls club split the money", answer="I'm not sure")
    case = store.open_case("p1", "socketio", "can our bowls club split the money")
    misses.attach_case("p1", case.id)
    ann = store.add_adviser("Ann Adviser", "ann@example.org", "adviser", "h1")

    async def go():
        async with TestClient(TestServer(app)) as client:
            who = Adviser(client, store, ann)
            await who.post(
                f"/cases/{case.id}/reply", {"text": "An asset lock keeps it for the community; ring 07700 900123"}
            )
            await who.post(f"/cases/{case.id}/close", {"outcome": "answered"})

    asyncio.run(go())
    [kept] = misses.misses()
    assert kept.adviser_reply == "An asset lock keeps it for the community; ring [phone]" and kept.outcome == "answered"


def test_a_month_of_gaps_is_shown_fifty_groups_at_a_time(tmp_path):
    from bot.console._insights_gaps import GROUPS_PER_PAGE
    from bot.web.app import create_app

    settings = Settings.from_env(env={}, var_dir=tmp_path / "var", actions_port=free_port())
    store = HandoffStore(settings.handoff_store)
    sue = store.start_session(store.add_adviser("Sue Supervisor", "sue@example.org", "supervisor", "h2"))
    misses = MissStore(engine=store.engine)
    for n in range(GROUPS_PER_PAGE + 10):  # each its own topic: a direction of its own
        miss_id = misses.record(f"c{n}", "declined", f"question number {n} the guidance cannot answer")
        vector = np.zeros(64, dtype=np.float32)
        vector[n] = 1.0
        misses.set_embeddings([(miss_id, vector, SECTION, 0.5)])
    assign_groups(misses)
    app = create_app(settings)

    async def scenario(client):
        async with client.get("/console/gaps", headers=cookie(sue)) as r:
            first = await r.text()
        async with client.get("/console/gaps?sort=size&page=2", headers=cookie(sue)) as r:
            second = await r.text()
        async with client.get("/console/gaps?page=zzz", headers=cookie(sue)) as r:
            assert r.status == 200 and "Groups 1–50 of 60" in await r.text()  # a bad page number: the first
        assert first.count('<section class="gap"') == GROUPS_PER_PAGE and "Groups 1–50 of 60" in first
        assert 'href="/console/gaps?sort=size&amp;page=2#results">Next groups' in first
        assert second.count('<section class="gap"') == 10 and "Groups 51–60 of 60" in second
        assert "Previous groups" in second and "Next groups" not in second
        shown = set(re.findall(r'id="gap-(\d+)-title"', first)) | set(re.findall(r'id="gap-(\d+)-title"', second))
        assert len(shown) == GROUPS_PER_PAGE + 10  # every group on one page or the other

    class App:
        pass

    holder = App()
    holder.app = app
    run(holder, scenario)
