"""`mutuals eval retrieval`: how well retrieval finds the right page, on the question set."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np
import yaml

from ._answer import is_personal_request
from ._index import GuidanceIndex
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


def rank_all(index: GuidanceIndex, questions: Sequence[Question], mode: str,
             vectors: Optional[np.ndarray] = None) -> List[Ranked]:
    if vectors is None and mode != "bm25":
        vectors = index.embedder.encode([q.text for q in questions])
    out = []
    for i, q in enumerate(questions):
        if is_personal_request(q.text):  # GuidanceDesk declines these before retrieval
            out.append(Ranked(q, [], -1.0))
            continue
        hits = index.search(q.text, mode=mode, k=30, vector=None if vectors is None else vectors[i])
        pages = [h.passage.slug for h in top_pages(hits, 10)]
        out.append(Ranked(q, pages, hits[0].score if hits else 0.0))
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
    return Scores(mode, threshold, len(answerable), len(unanswerable), hit1 / n, hit3 / n, rr / n,
                  declined_bad / m, declined_ok / n)


def choose_threshold(ranked: Sequence[Ranked], mode: str, wrongly_declined_at_most: float = 0.05) -> float:
    """The threshold that declines the most must-not-answer questions while wrongly declining at
    most the given share of answerable ones (chosen on the dev split only)."""
    best = 0.0
    top = max((r.confidence for r in ranked), default=1.0)
    for t in np.linspace(0.0, top, 400):
        s = score(ranked, mode, float(t))
        if s.declined_answerable <= wrongly_declined_at_most:
            best = float(t)
    return round(best, 3)


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


def evaluate(index: GuidanceIndex, questions: Sequence[Question], thresholds: Optional[Dict[str, float]] = None):
    """Per mode: the threshold chosen on dev, and the scores on dev and on held-out."""
    dev = [q for q in questions if q.split == "dev"]
    heldout = [q for q in questions if q.split == "heldout"]
    dev_vectors = index.embedder.encode([q.text for q in dev])
    held_vectors = index.embedder.encode([q.text for q in heldout])
    results = {}
    for mode in MODES:
        ranked_dev = rank_all(index, dev, mode, dev_vectors)
        ranked_held = rank_all(index, heldout, mode, held_vectors)
        threshold = (thresholds or {}).get(mode) or choose_threshold(ranked_dev, mode)
        results[mode] = {"threshold": threshold, "dev": score(ranked_dev, mode, threshold),
                         "heldout": score(ranked_held, mode, threshold),
                         "misses": {"dev": misses(ranked_dev, threshold), "heldout": misses(ranked_held, threshold)}}
    return results
