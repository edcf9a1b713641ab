"""Splitting a section into sentences and list items, and choosing the ones that answer (no model)."""

import numpy as np

from bot.guidance._focus import focus, join_units, split_units


def test_sentences_split_at_their_ends_but_not_after_abbreviations_or_inside_links():
    text = (
        "A society needs three members, e.g. staff. It registers with the FCA under s. 2 of the Act. "
        "See [the FCA's page. It helps](https://www.fca.org.uk/firms/mutual-societies) for more. Done."
    )
    units = [u.text for u in split_units(text)]
    assert units == [
        "A society needs three members, e.g. staff.",
        "It registers with the FCA under s. 2 of the Act.",
        "See [the FCA's page. It helps](https://www.fca.org.uk/firms/mutual-societies) for more.",
        "Done.",
    ]


def test_a_list_stays_with_the_sentence_that_introduces_it():
    text = "Most mutuals need three things. You will need:\n- members\n- rules\n- a bank account\n\nThen apply."
    units = [u.text for u in split_units(text)]
    assert units == [
        "Most mutuals need three things.",
        "You will need:\n- members\n- rules\n- a bank account",
        "Then apply.",
    ]


def test_the_best_sentence_leads_and_the_chosen_ones_keep_the_section_order():
    pad = " and a good deal more besides, so that each sentence is long enough to read as an answer"
    units = split_units(
        f"One is about dogs{pad}. Two is about limits of £100,000{pad}. Three is about cats{pad}. "
        f"Four is about votes{pad}."
    )
    chosen = focus(units, np.array([0.1, 0.9, 0.2, 0.8]), limit=300)
    assert [u.order for u in chosen] == [1, 3]  # the best and the other strong one, in the section's order
    assert join_units(chosen) == f"Two is about limits of £100,000{pad}. Four is about votes{pad}."
    # a neighbour needs less: half the best score
    assert [u.order for u in focus(units, np.array([0.1, 0.9, 0.5, 0.2]), limit=300)] == [1, 2]


def test_an_answer_too_short_to_read_alone_takes_the_sentence_after_it():
    units = split_units("The cap is £100,000. It is in section 24. Votes are equal whatever the holding.")
    assert [u.order for u in focus(units, np.array([0.9, 0.1, 0.1]), limit=300)] == [0, 1]


def test_focus_stays_within_its_length_in_whole_sentences():
    units = split_units(" ".join(f"Sentence number {i} says something fairly long about mutuals." for i in range(10)))
    chosen = focus(units, np.linspace(0, 1, 10), limit=130)
    assert 1 <= len(chosen) <= 2 and sum(len(u.text) + 1 for u in chosen) <= 130
    assert chosen[-1].order == 9


def test_a_picked_topic_leads_with_its_first_sentences():
    units = split_units("First. Second. Third. Fourth.")
    assert [u.text for u in focus(units, None)] == ["First.", "Second.", "Third."]


def test_a_lone_sentence_that_leans_on_the_one_before_brings_it_along():
    units = split_units("The cap is £100,000 per person. This does not apply to other societies. Votes are equal.")
    chosen = focus(units, np.array([0.1, 0.9, -0.5]), limit=70)
    assert [u.order for u in chosen] == [0, 1]
