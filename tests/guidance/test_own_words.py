"""Own words: `mutuals knowledge check` refuses a long quotation without its citation, a page that
follows a recorded source passage word for word, and a sentence copied from one page to another."""

from pathlib import Path

from bot.guidance._check import check_pages
from bot.guidance._own_words import PAGE_RUN_WORDS, RUN_WORDS, load_source_passages, words
from bot.settings import ROOT

PAGE = """---
title: {slug}
slug: {slug}
summary: What it answers.
category: procurement
sources:
  - title: Procurement Act 2023
    url: https://www.legislation.gov.uk/ukpga/2023/54
last_reviewed: 2026-12-01
review_by: 2027-03-01
---

## What does the law say?

{body}
"""

SOURCE = """passages:
  - source: Procurement Act 2023, section 33(6)
    url: https://www.legislation.gov.uk/ukpga/2023/54/section/33
    text: >-
      A public service mutual means a body that operates for the purpose of delivering public services
      and mainly for the purpose of delivering one or more reservable light touch services.
"""

TEST = (
    "a body that operates for the purpose of delivering public services and mainly for the purpose "
    "of delivering one or more reservable light touch services"
)


def knowledge(tmp_path: Path, bodies: dict, source: str = SOURCE) -> Path:
    (tmp_path / "pages").mkdir()
    for slug, body in bodies.items():
        (tmp_path / "pages" / f"{slug}.md").write_text(PAGE.format(slug=slug, body=body))
    (tmp_path / "sources").mkdir()
    (tmp_path / "sources" / "passages.yml").write_text(source)
    return tmp_path / "pages"


def test_a_page_in_its_own_words_passes(tmp_path):
    body = (
        "A mutual qualifies if it exists to run public services, mostly light touch ones, does not "
        "pay profits to outsiders, and is controlled by its staff."
    )
    assert check_pages(knowledge(tmp_path, {"ours": body})) == []


def test_following_a_recorded_source_word_for_word_is_refused(tmp_path):
    [problem] = check_pages(knowledge(tmp_path, {"copied": f"A mutual is {TEST}."}))
    assert problem.startswith(
        f"copied.md: {len(words(TEST))} words follow Procurement Act 2023, section 33(6) word for word"
    )


def test_a_short_shared_phrase_is_not_copying(tmp_path):
    short = " ".join(TEST.split()[-(RUN_WORDS - 1) :])  # one word under the limit
    assert check_pages(knowledge(tmp_path, {"ours": f"It must mainly deliver {short}."})) == []


def test_a_long_quotation_needs_its_citation_straight_after_it(tmp_path):
    uncited = f"The Act defines it as “{TEST}”. That is the test."
    quote, copy = check_pages(knowledge(tmp_path, {"quoted": uncited}))
    assert quote.startswith(f"quoted.md: section 'What does the law say?' quotes {len(words(TEST))} words")
    assert "citation" in quote and "word for word" in copy  # uncited, it counts as copying too
    cited = f"The Act defines it as “{TEST}” (Procurement Act 2023, s.33(6)). That is the test."
    (tmp_path / "pages" / "quoted.md").write_text(PAGE.format(slug="quoted", body=cited))
    assert check_pages(tmp_path / "pages") == []  # a cited quotation is not copying
    short = 'People call it "a fair start for new mutuals" in practice.'
    (tmp_path / "pages" / "quoted.md").write_text(PAGE.format(slug="quoted", body=short))
    assert check_pages(tmp_path / "pages") == []


def test_a_sentence_copied_between_pages_is_refused(tmp_path):
    sentence = (
        "A council can grant a lease for less than the best price it could get when doing so "
        "helps the wellbeing of the area it serves."
    )
    assert len(words(sentence)) >= PAGE_RUN_WORDS
    problems = check_pages(knowledge(tmp_path, {"one": sentence, "two": "Also: " + sentence}))
    assert len(problems) == 1 and problems[0].startswith(f"one.md: {len(words(sentence))} words are also on two.md")
    near = " ".join(sentence.split()[: PAGE_RUN_WORDS - 1])
    (tmp_path / "pages" / "two.md").write_text(PAGE.format(slug="two", body=near + " and so on."))
    assert check_pages(tmp_path / "pages") == []


def test_the_recorded_source_passages_are_well_formed():
    passages, problems = load_source_passages(ROOT / "knowledge" / "sources" / "passages.yml")
    assert problems == [] and len(passages) >= 4
    assert all(p["url"].startswith("https://") for p in passages)
