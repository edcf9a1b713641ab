"""`mutuals eval retrieval`: how well retrieval finds the right page, on the question set.

Each question has a split: ``tune`` (knowledge/questions/tuning-2026-12.yml, written blind in
December 2026: thresholds and weights are chosen on it), ``heldout`` (never tuned on: run once,
at the end) and ``dev`` (the first tuning split, worn out by two rounds of tuning: reported only).
``fresh`` (knowledge/questions/fresh-heldout-2026-12.yml) was written blind on 1 December 2026,
after ``heldout`` had been run several times during development, and run once. ``blind``
(knowledge/questions/blind-heldout-2026-12b.yml) was written the same way later that day, after
the outside topics were widened and ``fresh`` had been run, and run once. ``blind3``
(knowledge/questions/blind-heldout-2026-12d.yml) was written the same way in the next session and
run once; ``blind4``, ``blind5`` and ``blind6`` (knowledge/questions/blind-heldout-2026-12e.yml,
-12f.yml, -12g.yml), each after the changes the split before led to, each run once; ``blind7``
(-12h.yml), written in the session after, once the request classifier was settled, and run once;
``blind8`` and ``blind9`` (-12i.yml, -12j.yml) the same way after each change that followed:
blind9 is the held-out split now.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

import numpy as np
import yaml

from ._answer import is_personal_request
from ._index import GuidanceIndex
from ._requests import REQUEST_THRESHOLD, declined_shape
from ._outside import OUTSIDE_MARGIN, elsewhere_topic, nearness_rule, outside_wins, too_near_outside
from ._search import MODES, top_pages


@dataclasses.dataclass(frozen=True)
class Question:
    text: str
    slug: Optional[str]  # None: must not be answered from guidance
    section: Optional[str]
    split: str
    origin: str


def load_questions(directory: Path) -> List[Question]:
    out = []
    for path in sorted(Path(directory).glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for item in data.get("answerable") or []:
            out.append(Question(str(item["q"]), item["slug"], item.get("section"), item.get("split", "dev"), path.name))
        for item in data.get("must_not_answer") or []:
            out.append(Question(str(item["q"]), None, None, item.get("split", "dev"), path.name))
    return out


@dataclasses.dataclass
class Scores:
    mode: str
    threshold: float
    answerable: int
    unanswerable: int
    hit_at_1: float
    hit_at_3: float
    mrr_at_10: float
    declined_unanswerable: float
    declined_answerable: float

    def as_json(self) -> Dict[str, float]:
        return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in dataclasses.asdict(self).items()}


@dataclasses.dataclass
class Ranked:
    question: Question
    pages: List[str]  # page slugs, best first (at most 10)
    confidence: float  # the top hit's score; -1 when GuidanceDesk declines before searching


_MODEL_RULE = object()  # rank_all's default: the nearness rule of the index's model (hybrid only)


def rank_all(
    index: GuidanceIndex,
    questions: Sequence[Question],
    mode: str,
    vectors: Optional[np.ndarray] = None,
    outside_margin: Optional[float] = OUTSIDE_MARGIN,
    nearness: Any = _MODEL_RULE,
    answer_threshold: Optional[float] = None,
    request_threshold: Optional[float] = REQUEST_THRESHOLD,
) -> List[Ranked]:
    """Each question's pages, best first, and its confidence; a question GuidanceDesk declines
    before or beside retrieval (a personal request; one outside the guidance, unless
    ``outside_margin`` is None) gets -1. ``nearness``: the softer outside rule's (weight,
    threshold), None for none; it declines only answers that would pass ``answer_threshold``
    (default: the model's threshold for ``mode``), as GuidanceDesk does. ``request_threshold``: the
    request classifier's (``_requests.py``), None to switch it off."""
    if vectors is None and mode != "bm25":
        vectors = index.embedder.encode([q.text for q in questions])
    if nearness is _MODEL_RULE:
        nearness = nearness_rule(index.embedder) if mode == "hybrid" else None
    if nearness is not None and answer_threshold is None:
        from ._answer import thresholds_for

        answer_threshold = thresholds_for(index.embedder)[mode]
    out = []
    for i, q in enumerate(questions):
        if is_personal_request(q.text) or (  # GuidanceDesk declines these before retrieval
            outside_margin is not None and elsewhere_topic(q.text, index.outside)
        ):
            out.append(Ranked(q, [], -1.0))
            continue
        if vectors is not None and declined_shape(index.request_classifier, q.text, vectors[i], request_threshold):
            out.append(Ranked(q, [], -1.0))  # a request the guidance cannot meet (_requests.py)
            continue
        topic = None
        if vectors is not None and outside_margin is not None:
            topic, outside = index.nearest_outside(vectors[i])
            inside = index.nearest_inside(vectors[i]) if topic is not None else 0.0
            if topic is not None and outside_wins(outside, inside, outside_margin):
                out.append(Ranked(q, [], -1.0))
                continue
        hits = index.search(q.text, mode=mode, k=30, vector=None if vectors is None else vectors[i])
        pages = [h.passage.slug for h in top_pages(hits, 10)]
        best = hits[0].score if hits else 0.0
        if (
            topic is not None
            and nearness is not None
            and answer_threshold is not None
            and best >= answer_threshold
            and too_near_outside(best, outside, inside, nearness)
        ):
            best = -1.0
        out.append(Ranked(q, pages, best))
    return out


def score(ranked: Sequence[Ranked], mode: str, threshold: float) -> Scores:
    answerable = [r for r in ranked if r.question.slug]
    unanswerable = [r for r in ranked if not r.question.slug]
    hit1 = hit3 = rr = declined_ok = 0.0
    for r in answerable:
        confident = r.confidence >= threshold
        position = r.pages.index(r.question.slug) + 1 if r.question.slug in r.pages else None
        hit1 += bool(confident and position == 1)
        hit3 += bool(confident and position and position <= 3)
        rr += (1.0 / position) if (confident and position) else 0.0
        declined_ok += not confident
    declined_bad = sum(1 for r in unanswerable if r.confidence < threshold)
    n, m = max(len(answerable), 1), max(len(unanswerable), 1)
    return Scores(
        mode,
        threshold,
        len(answerable),
        len(unanswerable),
        hit1 / n,
        hit3 / n,
        rr / n,
        declined_bad / m,
        declined_ok / n,
    )


TUNE_SPLIT = "tune"  # the only split anything is chosen on
# the rule for a threshold: decline as many must-not-answer questions as possible while wrongly
# declining at most this share of the tuning split's answerable ones (the target for held-out)
WRONGLY_DECLINED_AT_MOST = 0.03


def choose_threshold(
    ranked: Sequence[Ranked], mode: str, wrongly_declined_at_most: float = WRONGLY_DECLINED_AT_MOST
) -> float:
    """The threshold that declines the most must-not-answer questions while wrongly declining at
    most the given share of answerable ones (chosen on the tune split only)."""
    best = 0.0
    top = max((r.confidence for r in ranked), default=1.0)
    for t in np.linspace(0.0, top, 400):
        s = score(ranked, mode, float(t))
        if s.declined_answerable <= wrongly_declined_at_most:
            best = float(t)
    return round(best, 3)


def outside_grid(
    index: GuidanceIndex,
    questions: Sequence[Question],
    margins: Sequence[Optional[float]] = (None, 0.2, 0.16, 0.12, 0.1, 0.08, 0.06, 0.04, 0.02, 0.0, -0.02, -0.04),
    mode: str = "hybrid",
) -> List[dict]:
    """For each margin of the outside-the-guidance rule (None: no rule), without the softer rule,
    the threshold chosen by the rule on ``questions`` (the tune split) and the scores at it."""
    vectors = index.embedder.encode([q.text for q in questions])
    rows = []
    for margin in margins:
        ranked = rank_all(index, questions, mode, vectors, outside_margin=margin, nearness=None)
        threshold = choose_threshold(ranked, mode)
        rows.append({"outside_margin": margin, **score(ranked, mode, threshold).as_json()})
    return rows


def nearness_grid(
    index: GuidanceIndex,
    questions: Sequence[Question],
    weights: Sequence[float] = (0.0, 0.25, 0.5, 1.0, 1.5, 2.0, 3.0),
    mode: str = "hybrid",
) -> List[dict]:
    """The softer outside rule (bot/guidance/_outside.py) on ``questions`` (the tune split), at the
    model's answer threshold and the margin in use: for each weight, the highest nearness
    threshold that keeps the answerable questions declined within the 3 % rule, and the scores.
    The weight in use is the one that declines the most must-not-answer questions with hit@1 no
    lower than without the rule (ties: the smaller weight)."""
    from ._answer import thresholds_for

    vectors = index.embedder.encode([q.text for q in questions])
    answer_threshold = thresholds_for(index.embedder)[mode]
    plain = rank_all(index, questions, mode, vectors, nearness=None)
    nearness = []  # outside - inside cosine per question (0 where the rule cannot apply)
    for i, r in enumerate(plain):
        topic, outside = index.nearest_outside(vectors[i])
        nearness.append(outside - index.nearest_inside(vectors[i]) if topic is not None else None)
    rows = []
    for weight in weights:
        chosen = None
        for t in np.round(np.arange(0.8, 2.0, 0.004), 3):
            ranked = [
                Ranked(r.question, r.pages, -1.0)
                if (
                    d is not None
                    and r.confidence >= answer_threshold
                    and too_near_outside(r.confidence, d, 0.0, (weight, float(t)))
                )
                else r
                for r, d in zip(plain, nearness)
            ]
            s = score(ranked, mode, answer_threshold)
            if s.declined_answerable > WRONGLY_DECLINED_AT_MOST:
                break
            chosen = (float(t), s)
        if chosen is not None:
            rows.append({"weight": weight, "nearness_threshold": chosen[0], **chosen[1].as_json()})
    return rows


def request_grid(
    index: GuidanceIndex,
    questions: Sequence[Question],
    thresholds: Sequence[float] = (0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8, 0.85, 0.9, 0.95),
    mode: str = "hybrid",
) -> List[dict]:
    """The request classifier's threshold tried on ``questions`` (the tune split), with every other
    rule as the desk applies it, at the answer threshold in use: must-not-answer and answerable
    questions declined, and hit@1, for each (None: the classifier off)."""
    from ._answer import thresholds_for

    answer_threshold = thresholds_for(index.embedder)[mode]
    vectors = index.embedder.encode([q.text for q in questions])
    rows = []
    for t in (None, *thresholds):
        s = score(rank_all(index, questions, mode, vectors=vectors, request_threshold=t), mode, answer_threshold)
        rows.append(
            {
                "request_threshold": t,
                "declined_unanswerable": round(s.declined_unanswerable, 4),
                "declined_answerable": round(s.declined_answerable, 4),
                "hit_at_1": round(s.hit_at_1, 4),
            }
        )
    return rows


def choose_request_threshold(
    rows: Sequence[dict], wrongly_declined_at_most: float = WRONGLY_DECLINED_AT_MOST
) -> Optional[float]:
    """The grid's rule, the answer threshold's (:func:`choose_threshold`) turned round: the lowest
    threshold, so the most declined, that wrongly declines at most the given share of answerable
    questions (None when none does)."""
    within = [
        r["request_threshold"]
        for r in rows
        if r["request_threshold"] is not None and r["declined_answerable"] <= wrongly_declined_at_most
    ]
    return min(within) if within else None


def misses(ranked: Sequence[Ranked], threshold: float) -> List[tuple]:
    """``(question, expected page, top 3 pages, confidence)`` for answerable questions not answered
    from the right page, and must-not-answer questions that were answered."""
    out = []
    for r in ranked:
        wrong_page = r.question.slug and (not r.pages or r.pages[0] != r.question.slug or r.confidence < threshold)
        answered_wrongly = not r.question.slug and r.confidence >= threshold
        if wrong_page or answered_wrongly:
            out.append((r.question.text, r.question.slug or "(must not answer)", r.pages[:3], round(r.confidence, 3)))
    return out


def evaluate(
    index: GuidanceIndex,
    questions: Sequence[Question],
    thresholds: Optional[Dict[str, float]] = None,
    splits: Sequence[str] = ("tune", "heldout"),
):
    """Per mode: the threshold (given, or chosen on the tune split), and the scores and misses on
    each of ``splits``. Only the splits asked for are searched, so ``splits=("tune",)`` never
    touches the held-out questions."""
    by_split = {name: [q for q in questions if q.split == name] for name in splits}
    tune = by_split.get(TUNE_SPLIT)
    if tune is None and not all((thresholds or {}).get(m) for m in MODES):
        tune = [q for q in questions if q.split == TUNE_SPLIT]  # needed to choose the thresholds
    vectors = {name: index.embedder.encode([q.text for q in qs]) for name, qs in by_split.items()}
    tune_vectors = vectors.get(TUNE_SPLIT)
    if tune is not None and tune_vectors is None:
        tune_vectors = index.embedder.encode([q.text for q in tune])
    results: Dict[str, Dict[str, Any]] = {}
    for mode in MODES:
        ranked = {name: rank_all(index, qs, mode, vectors[name]) for name, qs in by_split.items()}
        threshold = (thresholds or {}).get(mode)
        if not threshold:
            ranked_tune = (
                ranked[TUNE_SPLIT] if TUNE_SPLIT in ranked else rank_all(index, tune or [], mode, tune_vectors)
            )
            threshold = choose_threshold(ranked_tune, mode)
        results[mode] = {"threshold": threshold, "misses": {}}
        for name, r in ranked.items():
            results[mode][name] = score(r, mode, threshold)
            results[mode]["misses"][name] = misses(r, threshold)
    return results


def weight_grid(
    index: GuidanceIndex,
    questions: Sequence[Question],
    page_weights: Sequence[float] = (0.0, 0.15, 0.25, 0.35, 0.5),
    bm25_weights: Sequence[float] = (0.0, 0.2, 0.4, 0.6),
    asked_weights: Sequence[float] = (0.0, 0.2, 0.4, 0.6, 0.8),
) -> List[dict]:
    """Hybrid's weights tried on ``questions`` (the tune split): for each setting, the threshold
    chosen by the rule and the scores at it, best hit@1 first (then hit@3, MRR, must-not declined).
    Each question's parts (passage, page outline, BM25, nearest phrasing) are scored once."""
    from . import _search

    parts: List[Optional[tuple]] = []
    for q in questions:
        if is_personal_request(q.text):
            parts.append(None)
            continue
        vector = index.embedder.encode_one(q.text)
        dense = index.embeddings @ vector
        page = (index.page_embeddings @ vector)[index.page_of_passage]
        lexical = np.minimum(index.bm25.scores(q.text) / _search.BM25_CAP, 1.0)
        asked = index.asked_similarity(vector)
        parts.append((dense, page, lexical, np.zeros_like(dense) if asked is None else asked))
    slugs = np.array([p.slug for p in index.passages])
    rows = []
    for wp in page_weights:
        for wb in bm25_weights:
            for wa in asked_weights:
                ranked = []
                for q, part in zip(questions, parts):
                    if part is None:
                        ranked.append(Ranked(q, [], -1.0))
                        continue
                    dense, page, lexical, asked = part
                    total = dense + wp * page + wb * lexical + wa * asked
                    order = np.argsort(-total)
                    pages: List[str] = []
                    for i in order:
                        if slugs[i] not in pages:
                            pages.append(str(slugs[i]))
                            if len(pages) == 10:
                                break
                    ranked.append(Ranked(q, pages, float(total[order[0]])))
                threshold = choose_threshold(ranked, "hybrid")
                s = score(ranked, "hybrid", threshold)
                answerable = [r for r in ranked if r.question.slug]
                rank_only = sum(1 for r in answerable if r.pages[:1] == [r.question.slug]) / max(len(answerable), 1)
                rows.append(
                    {
                        "page_weight": wp,
                        "bm25_weight": wb,
                        "asked_weight": wa,
                        **s.as_json(),
                        "rank_only_hit_at_1": round(rank_only, 4),
                    }
                )
    rows.sort(key=lambda r: (-r["hit_at_1"], -r["hit_at_3"], -r["mrr_at_10"], -r["declined_unanswerable"]))
    return rows
