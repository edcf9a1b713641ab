"""BM25.scores (bot/guidance/_search.py: each term's weights precomputed as arrays) gives the
scores of the plain Okapi BM25 formula, computed here term by term in Python:

    score(D, Q) = sum over distinct terms q of Q of  idf(q) * f(q, D) * (k1 + 1) / (f(q, D) + k1 * (1 - b + b * |D| / avgdl))
    idf(q) = ln(1 + (N - n(q) + 0.5) / (n(q) + 0.5))

on the guidance pages' own paragraphs and on a small corpus with repeated and missing words."""

from __future__ import annotations

import math
import re
from collections import Counter
from typing import List, Sequence

import numpy as np
import pytest

from bot.guidance import BM25, tokens
from bot.settings import ROOT


def plain_bm25(documents: Sequence[str], query: str, k1: float = 1.5, b: float = 0.75) -> List[float]:
    docs = [tokens(d) for d in documents]
    n = len(docs)
    avgdl = sum(len(d) for d in docs) / n
    terms = set(tokens(query))
    n_q = {term: sum(1 for doc in docs if term in doc) for term in terms}
    scores = []
    for doc in docs:
        counts, score = Counter(doc), 0.0
        for term in terms:
            f = counts[term]
            if not f:
                continue
            idf = math.log(1 + (n - n_q[term] + 0.5) / (n_q[term] + 0.5))
            score += idf * f * (k1 + 1) / (f + k1 * (1 - b + b * len(doc) / avgdl))
        scores.append(score)
    return scores


def guidance_paragraphs() -> List[str]:
    """Paragraphs of the pages as written (not through the page parser): a real spread of lengths."""
    paragraphs = []
    for path in sorted((ROOT / "knowledge" / "pages").glob("*.md"))[:30]:
        body = path.read_text(encoding="utf-8").split("\n---", 2)[-1]
        paragraphs += [p.strip() for p in re.split(r"\n\s*\n", body) if len(p.strip()) > 40]
    return paragraphs


SMALL = [
    "pensions pensions pensions for council staff",
    "registering a co-operative society",
    "tupe transfers",
    "a co-operative co-operative owned by its members, pensions too",
    "",
    "the board of a community interest company and its asset lock",
]
QUESTIONS = [
    "How do I register a co-operative?",
    "pensions",
    "pensions pensions pensions",
    "TUPE transfers of council staff pensions",
    "asset lock",
    "nothing matches zzz qqq",
    "",
    "a",
]


@pytest.mark.parametrize("query", QUESTIONS)
def test_scores_are_the_plain_formula_on_a_small_corpus(query):
    assert np.allclose(BM25(SMALL).scores(query), plain_bm25(SMALL, query), rtol=1e-5, atol=1e-5)


def test_scores_are_the_plain_formula_on_the_guidance():
    corpus = guidance_paragraphs()
    assert len(corpus) > 250
    index = BM25(corpus)
    queries = QUESTIONS + [" ".join(p.split()[:12]) for p in corpus[::25]]  # openings of real paragraphs
    for query in queries:
        expected = np.array(plain_bm25(corpus, query))
        assert np.allclose(index.scores(query), expected, rtol=1e-5, atol=1e-4), query
    assert max(index.scores(queries[-1])) > 5  # the queries do reach documents


def test_other_parameters_follow_the_formula_too():
    for k1, b in ((1.2, 0.5), (2.0, 1.0), (0.5, 0.0)):
        assert np.allclose(
            BM25(SMALL, k1=k1, b=b).scores("co-operative pensions"),
            plain_bm25(SMALL, "co-operative pensions", k1=k1, b=b),
            rtol=1e-5,
            atol=1e-5,
        )
