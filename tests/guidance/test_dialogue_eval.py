"""`mutuals eval dialogue` and `mutuals eval clarify`, on a few dialogues and questions of their own."""

import pytest

from bot.guidance._clarifying import choose_margin, clarify_table
from bot.guidance._dialogues import evaluate, load_dialogues
from bot.guidance._evaluation import Question

pytestmark = pytest.mark.slow

DIALOGUES = """
dialogues:
  - id: shares-limit
    split: tune
    turns:
      - q: "What are community shares?"
        slug: community-shares
      - q: "thanks!"
        expect: chitchat
      - q: "cool, is there a limit?"
        followup: true
        slug: community-shares
        section: how-much-can-one-person-put-in-and-how-many-votes-do-they-get
      - q: "whats the weather like in leeds"
        expect: must_not_answer
"""


def test_a_dialogue_is_replayed_in_context_and_each_turn_also_asked_alone(desk, tmp_path):
    path = tmp_path / "dialogues.yml"
    path.write_text(DIALOGUES, encoding="utf-8")
    dialogues = load_dialogues(path)
    assert [t.expect for t in dialogues[0].turns] == ["answer", "chitchat", "answer", "must_not_answer"]
    summary = evaluate(desk, dialogues)
    assert summary["followup"] == {"turns": 1, "in_context": 1.0, "alone": 0.0, "right_section_in_context": 1.0}
    assert summary["first_or_new_topic"]["in_context"] == 1.0
    assert summary["must_not_answer"]["declined_in_context"] == 1.0
    assert summary["chitchat_turns_skipped"] == 1 and summary["wrong_in_context_right_alone"] == 0


def test_the_clarify_table_counts_what_a_margin_prevents_and_costs(guidance_index):
    questions = [
        Question("how much can one person put into community shares", "community-shares", None, "tune", "t"),
        Question("how much can one person put into community shares", "grants", None, "tune", "t"),
    ]
    rows = clarify_table(guidance_index, questions, threshold=0.942, margins=(0.0, 100.0))
    assert rows[0]["clarified"] == 0 and rows[0]["wrong_confident_answers_left"] == 1
    wide = rows[1]  # every question with two pages over the threshold is clarified
    assert wide["clarified"] == 2 and wide["extra_clicks"] == 1 and wide["wrong_answers_prevented"] == 1
    assert choose_margin(rows) == 100.0  # a wrong answer prevented outweighs an extra click (half as bad)
    costly = dict(wide, extra_clicks=3)  # three clicks for one wrong answer: no longer worth asking
    assert choose_margin([rows[0], costly]) == 0.0
