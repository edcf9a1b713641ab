"""Suggested guidance for advisers (bot/guidance/_suggest.py) on the real pages and index."""

from bot.guidance._focus import split_units
from bot.guidance._suggest import suggestions

QUESTION = "Can council staff keep their local government pension if we spin out?"
LATER = "What about staff who join the mutual later, can they join the scheme?"


def test_the_best_sections_come_with_the_sentences_that_answer_and_their_links(desk):
    found = suggestions(desk, [QUESTION])
    assert found["queries"] == [QUESTION] and found["threshold"] == round(desk.threshold, 4)
    top = found["suggestions"][0]
    assert top["slug"] == "lgps-admitted-body-status", [s["slug"] for s in found["suggestions"]]
    assert top["url"] == f"http://guidance.test/guidance/{top['slug']}#{top['anchor']}"
    assert top["above_threshold"] is True and top["query"] == QUESTION
    section = desk.index.passage(f"{top['slug']}#{top['anchor']}")
    assert len(top["excerpt"]) < len(section.text)  # focused: a few sentences of the section, not all of it
    assert len(top["excerpt"]) <= 500
    scores = [s["score"] for s in found["suggestions"]]
    assert scores == sorted(scores, reverse=True) and len(scores) == 4
    assert (
        max(sum(s["slug"] == slug for s in found["suggestions"]) for slug in {s["slug"] for s in found["suggestions"]})
        <= 2
    )


def test_a_later_message_brings_its_own_section_with_the_excerpt_for_it(desk):
    alone = suggestions(desk, [QUESTION])
    both = suggestions(desk, [QUESTION, LATER])
    matched_later = [s for s in both["suggestions"] if s["query"] == LATER]
    assert matched_later, both["suggestions"]
    assert {(s["slug"], s["anchor"]) for s in both["suggestions"]} != {
        (s["slug"], s["anchor"]) for s in alone["suggestions"]
    }
    later = matched_later[0]
    units = [u.text for u in split_units(desk.index.passage(f"{later['slug']}#{later['anchor']}").text)]
    assert any(u in later["excerpt"] for u in units)  # whole sentences of that section


def test_empty_queries_are_dropped_and_at_most_three_are_searched(desk):
    found = suggestions(desk, ["", "   ", QUESTION, "a", "b", "c"])
    assert found["queries"] == [QUESTION, "a", "b"]
