"""The guidance pages and the rules `mutuals knowledge check` keeps."""

from pathlib import Path

import pytest

from bot.cli import main as mutuals
from bot.guidance import load_pages, parse_page, PageError
from bot.guidance._check import MAX_SECTION_CHARS, check_pages
from bot.settings import ROOT

PAGES = ROOT / "knowledge" / "pages"

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


def write(directory: Path, slug: str, text: str = None, link: str = None) -> Path:
    path = directory / f"{slug}.md"
    path.write_text(text if text is not None else GOOD.format(slug=slug, link=link or slug))
    return path


def test_the_real_guidance_passes_the_check():
    assert check_pages(PAGES) == []


def test_the_corpus_covers_every_area_with_at_least_forty_pages():
    pages = load_pages(PAGES)
    assert len(pages) >= 40
    assert {p.category for p in pages} >= {
        "basics",
        "legal-forms",
        "spinning-out",
        "staff",
        "rights",
        "procurement",
        "finance",
        "governance",
        "about",
    }
    for page in pages:
        assert page.sources and all(s.url.startswith("https://") for s in page.sources), page.slug


def test_a_good_page_splits_into_answerable_passages(tmp_path):
    write(tmp_path, "a-page")
    page = parse_page(tmp_path / "a-page.md")
    [passage] = page.passages
    assert passage.heading == "What is it?" and passage.anchor == "what-is-it"
    assert passage.text.startswith("It is a thing.")
    assert check_pages(tmp_path) == []


@pytest.mark.parametrize("field", ["title", "summary", "sources", "last_reviewed", "review_by", "category"])
def test_missing_front_matter_is_named(tmp_path, field):
    text = "\n".join(
        line
        for line in GOOD.format(slug="p", link="p").splitlines()
        if not line.startswith(f"{field}:") and not (field == "sources" and line.startswith("  "))
    )
    write(tmp_path, "p", text)
    problems = check_pages(tmp_path)
    assert len(problems) == 1 and field in problems[0] and "p.md" in problems[0]


def test_duplicate_slugs_are_refused(tmp_path):
    write(tmp_path, "one")
    write(tmp_path, "two", GOOD.format(slug="one", link="one"))
    assert any("also used by" in p for p in check_pages(tmp_path))


def test_a_section_too_long_to_be_an_answer_is_refused(tmp_path):
    text = GOOD.format(slug="long", link="long").replace("It is a thing.", "Words. " * 200)
    write(tmp_path, "long", text)
    [problem] = check_pages(tmp_path)
    assert "What is it?" in problem and str(MAX_SECTION_CHARS) in problem


def test_broken_internal_links_are_refused(tmp_path):
    write(tmp_path, "linker", link="nowhere")
    write(tmp_path, "anchor", link="linker#no-such-section")
    problems = check_pages(tmp_path)
    assert any("/guidance/nowhere" in p for p in problems)
    assert any("no section of linker" in p for p in problems)


def test_a_file_without_front_matter_is_a_clear_error(tmp_path):
    path = write(tmp_path, "bare", "## Just a heading\n\nText.")
    with pytest.raises(PageError, match="front matter"):
        parse_page(path)


def test_knowledge_check_command_exit_codes(tmp_path, monkeypatch, capsys):
    write(tmp_path / "pages" if (tmp_path / "pages").mkdir() is None else tmp_path, "ok")
    monkeypatch.setenv("MUTUALS_KNOWLEDGE_DIR", str(tmp_path))
    assert mutuals(["knowledge", "check"]) == 0
    assert "ok: 1 pages" in capsys.readouterr().out
    write(tmp_path / "pages", "broken", link="missing")
    assert mutuals(["knowledge", "check"]) == 1
    assert "/guidance/missing" in capsys.readouterr().out
