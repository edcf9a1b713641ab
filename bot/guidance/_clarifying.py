"""Choosing the clarification margin: how many wrong confident answers a "Which do you mean?"
prevents, and how many extra clicks it costs, on the tuning questions (`mutuals eval clarify`).

A question is *clarified* at margin ``m`` when its best two pages both pass the threshold and the
second is within ``m`` of the first (:class:`GuidanceDesk`). Of those:
- *prevented*: the best page was wrong, so without the question the assistant would have answered
  confidently from the wrong page; *rescued* counts those where the right page is one of the two
  offered (the person gets the right answer with one click);
- *extra click*: the best page was right, so the question cost the person a click.
"""

from __future__ import annotations

from typing import Dict, List, Sequence

from ._evaluation import Question
from ._index import GuidanceIndex
from ._search import top_pages

MARGINS = (0.0, 0.01, 0.02, 0.03, 0.05, 0.08, 0.1, 0.15)


def clarify_table(
    index: GuidanceIndex,
    questions: Sequence[Question],
    threshold: float,
    mode: str = "hybrid",
    margins: Sequence[float] = MARGINS,
) -> List[Dict[str, float]]:
    answerable = [q for q in questions if q.slug]
    vectors = index.embedder.encode([q.text for q in answerable]) if mode != "bm25" else None
    pairs = []
    for i, q in enumerate(answerable):
        hits = index.search(q.text, mode=mode, k=30, vector=None if vectors is None else vectors[i])
        best = [h for h in top_pages(hits, 2)]
        pairs.append((q, best))
    rows = []
    for margin in margins:
        clarified = prevented = rescued = extra = wrong_confident = 0
        for q, best in pairs:
            if not best or best[0].score < threshold:
                continue
            asks = len(best) == 2 and best[1].score >= threshold and best[0].score - best[1].score <= margin
            first_right = best[0].passage.slug == q.slug
            if asks:
                clarified += 1
                if first_right:
                    extra += 1
                else:
                    prevented += 1
                    rescued += best[1].passage.slug == q.slug
            elif not first_right:
                wrong_confident += 1
        rows.append(
            {
                "margin": margin,
                "questions": len(answerable),
                "clarified": clarified,
                "wrong_answers_prevented": prevented,
                "of_which_right_page_offered": rescued,
                "extra_clicks": extra,
                "wrong_confident_answers_left": wrong_confident,
            }
        )
    return rows


CLICK_COST = 0.5  # an extra click costs half as much as a wrong answer given with confidence


def choose_margin(rows: Sequence[Dict[str, float]]) -> float:
    """The margin with the best balance: each wrong confident answer prevented counts 1, each
    extra click costs :data:`CLICK_COST`; on a tie, the smaller margin (fewer questions asked)."""
    best = max(rows, key=lambda r: (r["wrong_answers_prevented"] - CLICK_COST * r["extra_clicks"], -r["margin"]))
    return float(best["margin"])
