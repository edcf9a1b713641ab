"""How people ask what a section answers (knowledge/phrasings/): checked like the pages, part of
the index's fingerprint, and what lets a question in everyday words find guidance written in
official ones."""

from pathlib import Path

import pytest

from bot.guidance import GuidanceIndex, knowledge_fingerprint, load_pages
from bot.guidance._check import check_pages
from bot.guidance._phrasings import check_phrasings, load_phrasings
from bot.guidance._pages import PageError
from bot.settings import ROOT

PAGE = """---
title: {title}
slug: {slug}
summary: {summary}
category: staff
sources:
  - title: An Act
    url: https://www.legislation.gov.uk/ukpga/2014/14
last_reviewed: 2026-11-26
review_by: 2027-06-01
---

{body}
"""

PENSIONS = PAGE.format(
    title="Admitted body status",
    slug="admitted-bodies",
    summary="Scheme participation.",
    body="""## How does an admission agreement work?

An employer that is not a scheme employer may participate in the Local Government Pension Scheme
under an admission agreement with the administering authority, so that transferred employees
continue to accrue benefits. The administering authority will usually require a bond or a
guarantee from the letting authority against the cost of an early termination.
""",
)

PREMISES = PAGE.format(
    title="Leases and premises",
    slug="leases",
    summary="Occupying a building.",
    body="""## What lease terms matter?

A lease sets out the rent, the repairing obligations, the length of the term and whether it
can be assigned. A council landlord may grant a lease at less than best consideration where the
disposal promotes the wellbeing of the area, and may keep a right to take the building back.
""",
)

PHRASINGS = """page: {slug}
sections:
  {anchor}:
{items}
"""


def knowledge(tmp_path: Path, phrasings: dict) -> Path:
    """A knowledge directory of the two pages above; ``phrasings``: slug -> YAML text (or None)."""
    (tmp_path / "pages").mkdir(parents=True)
    if phrasings:
        (tmp_path / "phrasings").mkdir()
    (tmp_path / "pages" / "admitted-bodies.md").write_text(PENSIONS)
    (tmp_path / "pages" / "leases.md").write_text(PREMISES)
    for slug, text in phrasings.items():
        if text is not None:
            (tmp_path / "phrasings" / f"{slug}.yml").write_text(text)
    return tmp_path / "pages"


def listing(slug, anchor, *items):
    return PHRASINGS.format(slug=slug, anchor=anchor, items="\n".join(f"    - {i}" for i in items))


GOOD = {
    "admitted-bodies": listing(
        "admitted-bodies",
        "how-does-an-admission-agreement-work",
        "will i keep my council pension if my job moves to the new mutual",
        "does my pension carry on after we leave the council",
        "what happens to the money going into my pension pot after the spin out",
    ),
    "leases": listing(
        "leases",
        "what-lease-terms-matter",
        "can the council let us stay in the building cheaply",
        "what should we look out for in the lease on our centre",
    ),
}


def test_the_projects_phrasings_cover_every_section_of_every_page():
    pages = load_pages(ROOT / "knowledge" / "pages")
    assert check_phrasings(ROOT / "knowledge" / "phrasings", pages) == []
    found = load_phrasings(ROOT / "knowledge" / "phrasings", pages)
    assert set(found) == {x.id for p in pages for x in p.passages}


def test_the_check_names_each_broken_phrasings_file(tmp_path):
    pages_dir = knowledge(
        tmp_path,
        {
            "admitted-bodies": listing(
                "admitted-bodies", "how-does-an-admission-agreement-work", "only one phrasing here"
            ),
            "leases": None,  # missing
        },
    )
    (tmp_path / "phrasings" / "no-such-page.yml").write_text("page: no-such-page\nsections: {}\n")
    problems = check_pages(pages_dir)
    assert any(
        "admitted-bodies.yml: section 'how-does-an-admission-agreement-work' needs 2 to 5" in p for p in problems
    ), problems
    assert any("leases.yml: missing" in p for p in problems), problems
    assert any("no-such-page.yml: there is no guidance page" in p for p in problems), problems

    (tmp_path / "phrasings" / "no-such-page.yml").unlink()
    (tmp_path / "phrasings" / "leases.yml").write_text(listing("leases", "what-leases-are", "a b", ["not", "text"]))
    (tmp_path / "phrasings" / "admitted-bodies.yml").write_text("page: [unclosed\n")
    problems = check_pages(pages_dir)
    assert any("admitted-bodies.yml: not valid YAML" in p for p in problems), problems
    assert any("leases.yml: section 'what-lease-terms-matter' has no phrasings" in p for p in problems), problems
    assert any("leases.yml: 'what-leases-are' is not a section of the page" in p for p in problems), problems
    with pytest.raises(PageError, match="more"):  # building an index from them says what is wrong
        load_phrasings(tmp_path / "phrasings", load_pages(pages_dir))


def test_a_changed_phrasing_changes_the_index_fingerprint_so_setup_rebuilds_it(tmp_path):
    pages_dir = knowledge(tmp_path, GOOD)
    before = knowledge_fingerprint(pages_dir)
    assert knowledge_fingerprint(pages_dir) == before  # nothing changed: nothing to rebuild
    path = tmp_path / "phrasings" / "leases.yml"
    path.write_text(path.read_text().replace("cheaply", "for a low rent"))
    assert knowledge_fingerprint(pages_dir) != before


@pytest.mark.slow
def test_a_question_in_everyday_words_finds_the_section_through_its_phrasings(tmp_path, embedder):
    question = "we're moving from the council to a staff mutual, do I lose my pension?"
    without = GuidanceIndex.build(knowledge(tmp_path / "a", {}), tmp_path / "index-a", embedder)
    with_them = GuidanceIndex.build(knowledge(tmp_path / "b", GOOD), tmp_path / "index-b", embedder)
    assert with_them.phrasing_embeddings is not None and len(with_them.phrasing_embeddings) == 5
    assert without.phrasing_embeddings is None  # a corpus without phrasings is searched on its text

    def best(index):
        hits = index.search(question)
        return hits[0].passage.slug, hits[0].score - hits[1].score

    page, _ = best(with_them)
    assert page == "admitted-bodies"
    # the phrasings widen the right section's lead over the wrong one
    _, lead_without = best(without)
    _, lead_with = best(with_them)
    assert lead_with > lead_without + 0.1

    # loaded back from disk, the index searches the same way
    loaded = GuidanceIndex.load(tmp_path / "b" / "pages", tmp_path / "index-b", embedder)
    assert [h.passage.id for h in loaded.search(question)] == [h.passage.id for h in with_them.search(question)]


@pytest.mark.slow
def test_no_phrasing_is_a_near_copy_of_an_evaluation_question(base_embedder):
    """The evaluation questions (knowledge/questions/) measure how retrieval does on wording it has
    not seen: a phrasing that all but repeats one would make the figures flatter than the truth.
    Measured with the untuned model: the tuned one is taught to bring questions about the same
    section together, so it would call honest paraphrases copies."""
    embedder = base_embedder
    from bot.guidance._evaluation import load_questions

    pages = load_pages(ROOT / "knowledge" / "pages")
    phrasings = [p for items in load_phrasings(ROOT / "knowledge" / "phrasings", pages).values() for p in items]
    questions = [q.text for q in load_questions(ROOT / "knowledge" / "questions")]
    nearest = (embedder.encode(phrasings) @ embedder.encode(questions).T).max(axis=1)
    too_close = [(p, round(float(s), 3)) for p, s in zip(phrasings, nearest) if s >= 0.95]
    assert too_close == [], too_close


def near_copies_of_the_evaluation(embedder, texts):
    """The texts that all but repeat (untuned cosine >= 0.95) an evaluation question or dialogue turn."""
    import yaml

    from bot.guidance._evaluation import load_questions

    asked = [q.text for q in load_questions(ROOT / "knowledge" / "questions")]
    for path in sorted((ROOT / "knowledge" / "questions").glob("dialogues*.yml")):
        asked += [t["q"] for d in yaml.safe_load(path.read_text())["dialogues"] for t in d["turns"]]
    nearest = (embedder.encode(texts) @ embedder.encode(asked).T).max(axis=1)
    return [(text, round(float(s), 3)) for text, s in zip(texts, nearest) if s >= 0.95]


@pytest.mark.slow
def test_no_outside_phrasing_is_a_near_copy_of_an_evaluation_question_or_dialogue_turn(base_embedder):
    """The same for the topics the guidance does not cover (knowledge/outside/): a phrasing there
    that all but repeats a must-not-answer question would decline it for free."""
    from bot.guidance._outside import load_outside

    outside = [a for topic in load_outside(ROOT / "knowledge" / "pages") for a in topic.asked]
    assert near_copies_of_the_evaluation(base_embedder, outside) == []


@pytest.mark.slow
def test_no_request_example_is_a_near_copy_of_an_evaluation_question_or_dialogue_turn(base_embedder):
    """The same for the request classifier's examples (knowledge/outside/requests.yml): one that all
    but repeats an evaluation question would decide it for free, declined or answered."""
    from bot.guidance._requests import load_requests

    examples = load_requests(ROOT / "knowledge" / "pages").texts
    assert near_copies_of_the_evaluation(base_embedder, examples) == []
