"""Pages merged into another keep their address, and every question label points at a real section."""

import asyncio

from aiohttp.test_utils import TestClient, TestServer

from bot.guidance import load_pages
from bot.guidance._check import check_pages
from bot.guidance._evaluation import load_questions
from bot.guidance._pages import aliases_of
from bot.settings import ROOT, Settings
from bot.web.app import create_app

GOOD = """---
title: A page
slug: {slug}
summary: What it answers.
category: basics
sources:
  - title: An Act
    url: https://www.legislation.gov.uk/ukpga/2014/14
last_reviewed: 2026-11-26
review_by: 2027-06-01
---

## What is it?

It is a thing. See [the other](/guidance/{link}).
"""


def write(directory, slug, text=None):
    (directory / f"{slug}.md").write_text(text if text is not None else GOOD.format(slug=slug, link=slug))


KNOWLEDGE = ROOT / "knowledge"


def test_every_question_label_names_a_page_and_section_that_exist():
    pages = {p.slug: {x.anchor for x in p.passages} for p in load_pages(KNOWLEDGE / "pages")}
    for q in load_questions(KNOWLEDGE / "questions"):
        if q.slug:
            assert q.slug in pages, (q.text, q.slug)
            assert not q.section or q.section in pages[q.slug], (q.text, q.slug, q.section)


def test_merged_pages_are_aliases_of_the_page_they_became():
    aliases = aliases_of(load_pages(KNOWLEDGE / "pages"))
    assert aliases["who-can-help"] == "support-available-today"


def test_an_alias_may_not_be_a_live_slug_and_links_use_the_new_slug(tmp_path):
    write(
        tmp_path,
        "a-page",
        GOOD.format(slug="a-page", link="old-page").replace(
            "slug: a-page\n", "slug: a-page\naliases:\n  - old-page\n  - b-page\n"
        ),
    )
    write(tmp_path, "b-page")
    problems = check_pages(tmp_path)
    assert any("alias 'b-page' is the slug of b-page.md" in p for p in problems), problems
    assert any("uses an old slug" in p for p in problems), problems


def test_an_old_address_redirects_to_the_page_it_became(tmp_path):
    settings = Settings.from_env(env={}, var_dir=tmp_path)

    async def run():
        async with TestClient(TestServer(create_app(settings))) as client:
            async with client.get("/guidance/who-can-help", allow_redirects=False) as old:
                new = await client.get("/guidance/support-available-today")
                return old.status, old.headers.get("Location"), new.status

    status, location, new_status = asyncio.run(run())
    assert (status, location, new_status) == (301, "/guidance/support-available-today", 200)


def test_a_suggested_topic_with_an_old_slug_still_answers(desk):
    answer = desk.answer_topic("who-can-help")
    assert answer.answered and answer.sources[0].slug == "support-available-today"
