"""Finding the passages that answer a question: dense, BM25 and a hybrid of both."""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from typing import Dict, List, Optional, Sequence

import numpy as np

from ._pages import Passage

MODES = ("dense", "bm25", "rrf", "hybrid")

_STOPWORDS = frozenset(
    """a about an and are as at be been but by can could do does for from had has have how i if in
    into is it its me my of on or our should so than that the their them then there these they this
    to up us was we what when where which who why will with would you your im i'm ive i've whats
    please hi hello thanks any some just get got want wants need needs know tell""".split()
)
_TOKEN = re.compile(r"[a-z0-9]+")


def tokens(text: str) -> List[str]:
    out = []
    for word in _TOKEN.findall(text.lower()):
        if word in _STOPWORDS or len(word) < 2:
            continue
        out.append(_stem(word))
    return out


def _stem(word: str) -> str:
    """A light suffix strip so 'co-operatives' meets 'co-operative' and 'pensions' 'pension'."""
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    if len(word) > 6 and word.endswith("ing"):
        return word[:-3]
    return word


class BM25:
    """Okapi BM25 over passages (k1=1.5, b=0.75)."""

    def __init__(self, documents: Sequence[str], k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        self.docs = [Counter(tokens(d)) for d in documents]
        self.lengths = np.array([sum(d.values()) for d in self.docs], dtype=np.float32)
        self.avg = float(self.lengths.mean()) if len(self.docs) else 0.0
        df: "Counter[str]" = Counter()
        for d in self.docs:
            df.update(d.keys())
        n = len(self.docs)
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}
        self.postings: Dict[str, List[int]] = {}
        for i, d in enumerate(self.docs):
            for t in d:
                self.postings.setdefault(t, []).append(i)
        # each term's passages and their BM25 weights as arrays: a query is a few array additions
        # (0.7 ms at 100,000 passages, against seconds for a Python loop over the postings)
        self.weights: Dict[str, tuple] = {}
        for term, ids in self.postings.items():
            at = np.asarray(ids, dtype=np.int64)
            tf = np.fromiter((self.docs[i][term] for i in ids), dtype=np.float32, count=len(ids))
            norm = tf + k1 * (1 - b + b * self.lengths[at] / self.avg)
            self.weights[term] = (at, (self.idf[term] * tf * (k1 + 1) / norm).astype(np.float32))

    def scores(self, query: str) -> np.ndarray:
        out = np.zeros(len(self.docs), dtype=np.float32)
        for t in set(tokens(query)):
            found = self.weights.get(t)
            if found is not None:
                out[found[0]] += found[1]  # a passage appears once per term: no np.add.at needed
        return out


@dataclasses.dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float  # the mode's confidence: higher is surer; compare it with that mode's threshold
    rank: int


# Weights of the hybrid score, chosen with the tuned embedding model on the tune questions
# (`mutuals eval retrieval --weights`, docs/retrieval.md; were 0.25, 0.4 and 0.4, chosen on dev):
# cosine(question, passage) + PAGE_WEIGHT * cosine(question, page outline) + BM25_WEIGHT * bm25 (capped)
# + ASKED_WEIGHT * cosine(question, the nearest of the passage's phrasings)
PAGE_WEIGHT = 0.5
BM25_WEIGHT = 0.1
BM25_CAP = 15.0
ASKED_WEIGHT = 1.2


def score_passages(
    passages: Sequence[Passage],
    query: str,
    query_vector: Optional[np.ndarray],
    embeddings: np.ndarray,
    page_similarity: Optional[np.ndarray],
    bm25: BM25,
    mode: str = "hybrid",
    asked_similarity: Optional[np.ndarray] = None,
) -> np.ndarray:
    """Every passage's score for a query in ``mode`` (``rrf``: the dense score, which is what it reports).

    ``page_similarity`` is, for each passage, the cosine between the query and the outline of the
    passage's page (title, summary and headings); ``asked_similarity`` (hybrid, optional) the
    cosine between the query and the nearest of the passage's phrasings (bot/guidance/_phrasings.py).
    """
    if mode not in MODES:
        raise ValueError(f"retrieval mode must be one of {', '.join(MODES)}, not {mode!r}")
    if mode in ("dense", "rrf"):
        return embeddings @ query_vector
    lexical = np.minimum(bm25.scores(query) / BM25_CAP, 1.0)
    if mode == "bm25":
        return lexical
    if query_vector is None or page_similarity is None:
        raise ValueError("the hybrid score needs the query's vector and its pages' similarities")
    score = embeddings @ query_vector + PAGE_WEIGHT * page_similarity + BM25_WEIGHT * lexical
    if asked_similarity is not None:
        score = score + ASKED_WEIGHT * asked_similarity
    return score


def rank(
    passages: Sequence[Passage],
    query: str,
    query_vector: Optional[np.ndarray],
    embeddings: np.ndarray,
    page_similarity: Optional[np.ndarray],
    bm25: BM25,
    mode: str = "hybrid",
    k: int = 10,
    rrf_k: int = 60,
    asked_similarity: Optional[np.ndarray] = None,
) -> List[Hit]:
    """The top ``k`` passages for a query, best first (the scores as :func:`score_passages`)."""
    if mode not in MODES:
        raise ValueError(f"retrieval mode must be one of {', '.join(MODES)}, not {mode!r}")
    if not passages:
        return []
    if mode == "rrf":
        dense = embeddings @ query_vector
        lexical = bm25.scores(query)
        n = len(passages)
        dense_rank = np.empty(n)
        dense_rank[np.argsort(-dense)] = np.arange(n)
        lex_rank = np.empty(n)
        lex_rank[np.argsort(-lexical)] = np.arange(n)
        lex_rank[lexical <= 0] = n  # no shared word: no vote from BM25
        fused = 1.0 / (rrf_k + dense_rank + 1) + 1.0 / (rrf_k + lex_rank + 1)
        order = np.argsort(-fused)[:k]
        return [Hit(passages[i], float(dense[i]), r) for r, i in enumerate(order)]
    score = score_passages(passages, query, query_vector, embeddings, page_similarity, bm25, mode, asked_similarity)
    return best_hits(passages, score, k)


def best_hits(passages: Sequence[Passage], score: np.ndarray, k: int) -> List[Hit]:
    """The ``k`` passages with the highest ``score``, best first."""
    top = np.argpartition(-score, min(k, len(score) - 1))[:k] if len(score) > k else np.arange(len(score))
    order = top[np.argsort(-score[top])]
    return [Hit(passages[i], float(score[i]), r) for r, i in enumerate(order)]


def top_pages(hits: Sequence[Hit], k: int) -> List[Hit]:
    """The best hit of each page, in order, at most ``k`` pages."""
    seen, out = set(), []
    for hit in hits:
        if hit.passage.slug not in seen:
            seen.add(hit.passage.slug)
            out.append(hit)
            if len(out) == k:
                break
    return out
