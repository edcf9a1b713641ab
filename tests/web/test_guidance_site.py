"""The guidance site as a reader finds their way round it: the list's search box (the assistant's own
retrieval, asked of the action server, working without JavaScript), its jump links and category
titles, and the way a link to a section lands on it."""

from __future__ import annotations

import asyncio
from html import unescape
import re
import time
import urllib.parse
import urllib.request

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.guidance import CATEGORIES, load_pages
from bot.settings import Settings
from bot.stack import free_port
from bot.web.app import CATEGORY_TITLES, create_app

from tests.support.assistant_stack import say_rest


def get(settings: Settings, path: str) -> str:
    async def run() -> str:
        async with TestClient(TestServer(create_app(settings))) as client:
            response = await client.get(path)
            assert response.status == 200
            return await response.text()

    return asyncio.run(run())


def test_the_list_has_jump_links_to_categories_written_as_titles(tmp_path):
    settings = Settings.from_env(env={}, var_dir=tmp_path)
    html = get(settings, "/guidance/")
    used = [c for c in CATEGORIES if any(p.category == c for p in load_pages(settings.knowledge_dir / "pages"))]
    jumps = re.findall(r'<nav class="jump".*?</nav>', html, re.S)[0]
    assert re.findall(r'href="#([a-z-]+)"', jumps) == used  # in the order of knowledge/README.md
    for category in used:
        assert f'<h2 id="{category}">{CATEGORY_TITLES[category]}</h2>' in html
    assert "<h2>Legal forms</h2>" not in html and "Staff, pensions and TUPE" in html
    form = re.findall(r"<form[^>]*>", html)[0]
    assert 'method="get"' in form and 'action="/guidance/"' in form and 'role="search"' in form
    assert '<script src="/static/widget/widget.js"' in html  # the chat is here too


def test_a_page_names_its_category_and_links_back_to_it(tmp_path):
    settings = Settings.from_env(env={}, var_dir=tmp_path)
    html = get(settings, "/guidance/asset-locks")
    assert '<a href="/guidance/#legal-forms">Legal forms</a>' in html
    assert '<script src="/static/widget/widget.js"' in html


def test_search_says_so_when_it_cannot_be_reached(tmp_path):
    settings = Settings.from_env(env={}, var_dir=tmp_path, actions_port=free_port())  # nothing listens there
    html = unescape(get(settings, "/guidance/?q=pensions"))
    assert "Search isn't working just now" in html
    assert 'value="pensions"' in html  # the words stay in the box to try again
    assert "Staff, pensions and TUPE" in html  # and the list is still there


@pytest.mark.slow
def test_search_finds_what_the_assistant_answers_from(running_stack):
    settings = running_stack.settings
    question = "Can staff keep their pensions if they move to a mutual?"
    started = time.perf_counter()
    with urllib.request.urlopen(
        f"{settings.web_url}/guidance/?" + urllib.parse.urlencode({"q": question}), timeout=30
    ) as response:
        html = response.read().decode()
    took = time.perf_counter() - started
    results = re.findall(r'<section class="results".*?</section>', html, re.S)
    assert results, html[:2000]
    assert "Sections that answer" in results[0]
    links = re.findall(r'<li><a href="/guidance/([a-z0-9-]+)(#[a-z0-9-]+)?"', results[0])
    assert links
    # the assistant, asked the same, answers from the first section found; or, when two pages
    # answer about as well ("staff" may be NHS or council staff), asks which, offering the
    # sections the search lists first
    replies = say_rest(running_stack, "search-check", question)
    reply = " ".join(m.get("text", "") for m in replies)
    source = re.search(r"/guidance/([a-z0-9-]+)(#[a-z0-9-]+)?\)", reply)
    if source:
        assert (source.group(1), source.group(2) or "") == (links[0][0], links[0][1]), (reply, links[:3])
    else:
        offered = [b["payload"] for m in replies for b in m.get("buttons") or [] if "guidance_slug" in b["payload"]]
        assert "Which do you mean?" in reply and len(offered) >= 2, replies
        for (slug, anchor), payload in zip(links, offered):
            assert f"{slug}{anchor}" in payload, (offered, links[:3])
    assert took < 3.0, f"a search took {took:.2f} s"

    with urllib.request.urlopen(f"{settings.web_url}/guidance/?q=zzqx+blorf", timeout=30) as response:
        nonsense = response.read().decode()
    assert "Nothing answers" in unescape(nonsense) and "nearest" in nonsense
