"""Retrieval alone, in this process: embed one query and search, on the real corpus and on
synthetic corpora of many passages (how it scales), with the project's own search code."""

from __future__ import annotations

import gc
import math
import re
import tempfile
import time
from pathlib import Path
from typing import Callable, Dict, List, Sequence

import numpy as np

from ._load import percentiles


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def timed(fn: Callable, items: Sequence, repeats: int = 1) -> List[float]:
    out = []
    for _ in range(repeats):
        for item in items:
            started = time.perf_counter()
            fn(item)
            out.append((time.perf_counter() - started) * 1000)
    return out


def questions(settings, n: int) -> List[str]:
    from bot.guidance._evaluation import load_questions

    texts = [q.text for q in load_questions(settings.knowledge_dir / "questions")]
    return (texts * (n // max(len(texts), 1) + 1))[:n] if texts else ["How do I register a co-operative?"] * n


def real_corpus(settings, backend: str, n_queries: int, build: bool = True) -> Dict:
    """Load time of the model, then per query: embed, search (given the vector), both, and the
    whole answer as the action builds it; and the index build time."""
    from bot.guidance import GuidanceDesk, GuidanceIndex
    from bot.guidance._embedder import make_embedder

    rss_before = rss_mb()
    started = time.perf_counter()
    embedder = make_embedder(backend)
    load_seconds = time.perf_counter() - started
    index = GuidanceIndex.load(settings.knowledge_dir / "pages", settings.index_dir, embedder)
    desk = GuidanceDesk.for_settings(index, settings)
    qs = questions(settings, n_queries)
    for q in qs[:5]:
        desk.answer(q)  # warm up
    vectors = {q: embedder.encode_one(q) for q in set(qs)}
    out = {
        "backend": embedder.backend,
        "passages": len(index.passages),
        "pages": len(index.pages),
        "queries": len(qs),
        "model_load_seconds": round(load_seconds, 3),
        "process_rss_growth_mb": round(rss_mb() - rss_before, 1),
        "embed_ms": percentiles(timed(embedder.encode_one, qs)),
        "search_ms": percentiles(timed(lambda q: index.search(q, mode=desk.mode, vector=vectors[q]), qs)),
        "embed_and_search_ms": percentiles(timed(lambda q: index.search(q, mode=desk.mode), qs)),
        "answer_ms": percentiles(timed(desk.answer, qs)),
    }
    if build:
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            GuidanceIndex.build(settings.knowledge_dir / "pages", Path(tmp), embedder)
            out["index_build_seconds"] = round(time.perf_counter() - started, 3)
        texts = [p.search_text for p in index.passages]
        started = time.perf_counter()
        embedder.encode(texts)
        out["embed_passages_per_second"] = round(len(texts) / (time.perf_counter() - started), 1)
    return out


def synthetic_corpus(index, n: int, seed: int = 7):
    """``n`` passages like the real ones: texts of three sentences drawn from real passages, and
    vectors near real passages' (a mix of two plus noise, unit length), ten passages a page."""
    rng = np.random.default_rng(seed)
    sentences = [s for p in index.passages for s in re.split(r"(?<=[.?!])\s+", p.search_text) if len(s) > 20]
    picks = rng.integers(0, len(sentences), size=(n, 3))
    texts = [" ".join(sentences[j] for j in row) for row in picks]
    base = index.embeddings
    vectors = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 20000):
        m = min(20000, n - start)
        a, b = rng.integers(0, len(base), m), rng.integers(0, len(base), m)
        v = 0.7 * base[a] + 0.3 * base[b] + rng.normal(0, 0.02, (m, base.shape[1])).astype(np.float32)
        vectors[start : start + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    pages = math.ceil(n / 10)
    page_vectors = vectors[::10][:pages].copy()
    page_of_passage = np.arange(n, dtype=np.int64) // 10
    passages = [index.passages[i % len(index.passages)] for i in range(n)]  # stand-ins for the hits
    return texts, vectors, page_vectors, page_of_passage, passages


def scale(index, embedder, n: int, qs: Sequence[str], embed_rate: float) -> Dict:
    """Build time, memory and query time (embed + hybrid search) at ``n`` passages, with the project's
    BM25 (each term's weights held as arrays: a query is a few array additions)."""
    from bot.guidance import BM25
    from bot.guidance._search import rank

    gc.collect()
    rss0 = rss_mb()
    started = time.perf_counter()
    texts, vectors, page_vectors, page_of_passage, passages = synthetic_corpus(index, n)
    made = time.perf_counter() - started
    rss1 = rss_mb()
    started = time.perf_counter()
    bm25 = BM25(texts)
    bm25_seconds = time.perf_counter() - started
    rss2 = rss_mb()
    vecs = {q: embedder.encode_one(q) for q in set(qs)}

    def search(q, lexical):
        v = embedder.encode_one(q)
        page_similarity = (page_vectors @ v)[page_of_passage]
        return rank(passages, q, v, vectors, page_similarity, lexical, mode="hybrid", k=10)

    def dense_only(q):
        v = vecs[q]
        s = vectors @ v + 0.25 * (page_vectors @ v)[page_of_passage]
        top = np.argpartition(-s, 10)[:10]
        return top[np.argsort(-s[top])]

    out = {
        "passages": n,
        "corpus_made_seconds": round(made, 3),
        "bm25_build_seconds": round(bm25_seconds, 3),
        "embeddings_mb": round(vectors.nbytes / 2**20, 1),
        "rss_growth_mb": {"texts_and_vectors": round(rss1 - rss0, 1), "bm25": round(rss2 - rss1, 1)},
        "embedding_build_seconds_estimate": round(n / embed_rate, 1) if embed_rate else None,
        "dense_search_ms": percentiles(timed(dense_only, qs)),
        "bm25_ms": {"project": percentiles(timed(bm25.scores, qs))},
        "embed_and_search_ms": {"project_bm25": percentiles(timed(lambda q: search(q, bm25), qs))},
    }
    texts = vectors = bm25 = None  # the corpus goes before the next, larger one is made
    gc.collect()
    return out
