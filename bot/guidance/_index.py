"""The retrieval index: passages, their embeddings and a BM25 table, built from knowledge/."""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ._embedder import MODEL_NAME, Embedder, current_model_id, shared_embedder
from ._pages import Guidance, Passage, aliases_of, load_pages
from ._phrasings import load_phrasings, phrasings_dir
from ._focus import Unit, split_units
from ._outside import OutsideTopic, load_outside, outside_dir
from ._requests import RequestClassifier, RequestExamples, load_requests, train_classifier
from ._search import BM25, Hit, best_hits, rank, score_passages

INDEX_VERSION = 7  # bump when the passage split or the embedded text changes (5: sentence units, 6: outside topics,
# 7: the request examples of knowledge/outside/requests.yml)


def knowledge_fingerprint(pages_dir: Path, model_id: Optional[str] = None) -> str:
    """Changes when a page, a phrasings file, the model (``model_id``: the embedder's, default the
    one this process would load, :func:`current_model_id`) or the index format does."""
    digest = hashlib.sha256(f"{INDEX_VERSION}:{model_id or current_model_id()}".encode())
    for path in (
        sorted(Path(pages_dir).glob("*.md"))
        + sorted(phrasings_dir(pages_dir).glob("*.yml"))
        + sorted(outside_dir(pages_dir).glob("*.yml"))
    ):
        digest.update(f"{path.parent.name}/{path.name}".encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def model_id_of(embedder) -> str:
    """Which model an embedder runs (wrappers without ``model_id`` pass it through ``inner``)."""
    while embedder is not None and not hasattr(embedder, "model_id") and hasattr(embedder, "inner"):
        embedder = embedder.inner
    return getattr(embedder, "model_id", None) or MODEL_NAME


def page_outline(page: Guidance) -> str:
    """What a page is about, for the page-level half of the hybrid score."""
    return f"{page.title}. {page.summary} " + " ".join(p.heading for p in page.passages)


class GuidanceIndex:
    """The pages, their passages and the vectors to search them, held in memory."""

    def __init__(
        self,
        pages: Sequence[Guidance],
        embeddings: np.ndarray,
        page_embeddings: np.ndarray,
        embedder: Optional[Embedder] = None,
        phrasing_embeddings: Optional[np.ndarray] = None,
        phrasing_passages: Optional[Sequence[int]] = None,
        unit_embeddings: Optional[np.ndarray] = None,
        phrasings: Optional[Dict[str, Tuple[str, ...]]] = None,
        outside: Sequence[OutsideTopic] = (),
        outside_embeddings: Optional[np.ndarray] = None,
        requests: RequestExamples = RequestExamples(),
        request_embeddings: Optional[np.ndarray] = None,
    ):
        self.pages: Dict[str, Guidance] = {p.slug: p for p in pages}
        self.aliases: Dict[str, str] = aliases_of(pages)  # old slug -> the page it was merged into
        self.passages: List[Passage] = [x for p in pages for x in p.passages]
        if len(self.passages) != len(embeddings) or len(pages) != len(page_embeddings):
            raise ValueError("the index is out of date: pages, passages and embeddings differ in number")
        self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self.page_embeddings = np.ascontiguousarray(page_embeddings, dtype=np.float32)
        order = {p.slug: i for i, p in enumerate(pages)}
        self._page_order = order
        self.page_of_passage = np.array([order[x.slug] for x in self.passages], dtype=np.int64)
        self.bm25 = BM25([p.search_text for p in self.passages])
        # how people ask what each passage answers: one row per phrasing, and the passage it belongs to
        self.phrasing_embeddings = (
            None
            if phrasing_embeddings is None or not len(phrasing_embeddings)
            else np.ascontiguousarray(phrasing_embeddings, dtype=np.float32)
        )
        self.phrasing_passages = np.asarray(phrasing_passages if phrasing_passages is not None else [], dtype=np.int64)
        if self.phrasing_embeddings is not None:
            if len(self.phrasing_passages) != len(self.phrasing_embeddings) or self.phrasing_passages.max() >= len(
                self.passages
            ):
                raise ValueError("the index is out of date: phrasings and their passages differ")
            # grouped by passage, so each passage's nearest phrasing is one np.maximum.reduceat
            by_passage = np.argsort(self.phrasing_passages, kind="stable")
            self.phrasing_passages = self.phrasing_passages[by_passage]
            self.phrasing_embeddings = np.ascontiguousarray(self.phrasing_embeddings[by_passage])
            first = np.flatnonzero(np.r_[True, self.phrasing_passages[1:] != self.phrasing_passages[:-1]])
            self._phrasing_groups = first
            self._phrasing_owners = self.phrasing_passages[first]
        # each passage's sentences and list items (bot/guidance/_focus.py) and their vectors, in one array
        self.units: List[List[Unit]] = [split_units(p.text) for p in self.passages]
        counts = np.array([len(u) for u in self.units], dtype=np.int64)
        self._unit_starts = np.concatenate([[0], np.cumsum(counts)])
        if unit_embeddings is not None and len(unit_embeddings) != int(self._unit_starts[-1]):
            raise ValueError("the index is out of date: sentences and their embeddings differ in number")
        self.unit_embeddings = (
            None if unit_embeddings is None else np.ascontiguousarray(unit_embeddings, dtype=np.float32)
        )
        self.position = {p.id: i for i, p in enumerate(self.passages)}
        self.phrasings: Dict[str, Tuple[str, ...]] = dict(phrasings or {})  # passage id -> how people ask it
        # topics the guidance does not cover (bot/guidance/_outside.py): one row per phrasing
        self.outside: List[OutsideTopic] = list(outside)
        self._outside_owner = np.array([i for i, t in enumerate(self.outside) for _ in t.asked], dtype=np.int64)
        if outside_embeddings is not None and len(outside_embeddings) != len(self._outside_owner):
            raise ValueError("the index is out of date: outside topics and their embeddings differ in number")
        self.outside_embeddings = (
            None
            if outside_embeddings is None or not len(self._outside_owner)
            else np.ascontiguousarray(outside_embeddings, dtype=np.float32)
        )
        # requests the guidance cannot meet (bot/guidance/_requests.py): one row per example
        self.requests = requests
        if request_embeddings is not None and len(request_embeddings) != len(requests.texts):
            raise ValueError("the index is out of date: request examples and their embeddings differ in number")
        self.request_embeddings = request_embeddings
        self._request_classifier: Optional[RequestClassifier] = None
        self._request_classifier_trained = False
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    def search(self, query: str, mode: str = "hybrid", k: int = 10, vector: Optional[np.ndarray] = None) -> List[Hit]:
        """The best ``k`` passages for ``query`` (``vector``: its embedding, if already made)."""
        if mode == "rrf":
            vector = self.embedder.encode_one(query) if vector is None else vector
            return rank(self.passages, query, vector, self.embeddings, None, self.bm25, mode=mode, k=k)
        return best_hits(self.passages, self.score_all(query, mode, vector), k)

    def score_all(self, query: str, mode: str = "hybrid", vector: Optional[np.ndarray] = None) -> np.ndarray:
        """Every passage's score for ``query``, in passage order (:func:`score_passages`)."""
        if vector is None and mode != "bm25":
            vector = self.embedder.encode_one(query)
        page_similarity = asked_similarity = None
        if mode == "hybrid" and vector is not None:
            page_similarity = (self.page_embeddings @ vector)[self.page_of_passage]
            asked_similarity = self.asked_similarity(vector)
        return score_passages(
            self.passages,
            query,
            vector,
            self.embeddings,
            page_similarity,
            self.bm25,
            mode=mode,
            asked_similarity=asked_similarity,
        )

    def unit_scores(self, passage: Passage, vector: Optional[np.ndarray]) -> Optional[np.ndarray]:
        """The cosine between a question and each sentence of ``passage`` (``None`` without vectors)."""
        if vector is None or self.unit_embeddings is None:
            return None
        i = self.position[passage.id]
        return self.unit_embeddings[self._unit_starts[i] : self._unit_starts[i + 1]] @ vector

    def passage(self, passage_id: str) -> Optional[Passage]:
        """The passage ``slug#anchor`` (or a page's first, for ``slug``; merged pages' old slugs too)."""
        slug, _, anchor = passage_id.partition("#")
        if not anchor:
            return self.first_passage(slug)
        i = self.position.get(f"{self.aliases.get(slug, slug)}#{anchor}")
        return None if i is None else self.passages[i]

    def asked_similarity(self, vector: np.ndarray) -> Optional[np.ndarray]:
        """For each passage, the cosine between the question and the nearest of its phrasings
        (0 for a passage without any); ``None`` when the index has no phrasings."""
        if self.phrasing_embeddings is None:
            return None
        nearest = np.zeros(len(self.passages), dtype=np.float32)
        best = np.maximum.reduceat(self.phrasing_embeddings @ vector, self._phrasing_groups)
        nearest[self._phrasing_owners] = np.maximum(best, 0.0)
        return nearest

    @property
    def request_classifier(self) -> Optional[RequestClassifier]:
        """The model that tells requests the guidance cannot meet from its questions, trained on
        first use (None without requests.yml)."""
        if not self._request_classifier_trained:
            asked = [text for x in self.passages for text in self.phrasings.get(x.id, ())]
            if self.phrasing_embeddings is not None and len(asked) != len(self.phrasing_embeddings):
                asked, phrasing_vectors = [], None  # cannot happen for an index built by build()
            else:
                phrasing_vectors = self.phrasing_embeddings
            self._request_classifier = train_classifier(
                self.requests,
                self.request_embeddings,
                phrasing_vectors,
                asked,
                self.outside_embeddings,
                [a for t in self.outside for a in t.asked],
            )
            self._request_classifier_trained = True
        return self._request_classifier

    def nearest_outside(self, vector: np.ndarray) -> Tuple[Optional[OutsideTopic], float]:
        """The topic outside the guidance nearest a question, and the cosine to its nearest phrasing."""
        if self.outside_embeddings is None or vector is None:
            return None, 0.0
        similarity = self.outside_embeddings @ vector
        row = int(np.argmax(similarity))
        return self.outside[int(self._outside_owner[row])], float(similarity[row])

    def nearest_inside(self, vector: np.ndarray) -> float:
        """The cosine between a question and the nearest passage or phrasing of the guidance."""
        asked = self.asked_similarity(vector)
        dense = float((self.embeddings @ vector).max(initial=0.0))
        return max(dense, float(asked.max(initial=0.0))) if asked is not None else dense

    def on_page(self, slug: str) -> np.ndarray:
        """1.0 for each passage of the page ``slug`` (or the page it was merged into), else 0.0."""
        order = self._page_order.get(self.aliases.get(slug, slug), -1)
        return (self.page_of_passage == order).astype(np.float32)

    def first_passage(self, slug: str) -> Optional[Passage]:
        page = self.pages.get(slug) or self.pages.get(self.aliases.get(slug, ""))
        return page.passages[0] if page and page.passages else None

    # building and loading ------------------------------------------------------------

    @classmethod
    def build(
        cls, pages_dir: Path, index_dir: Path, embedder: Optional[Embedder] = None, progress: bool = False
    ) -> "GuidanceIndex":
        """Embed every passage and write the index to ``index_dir``."""
        embedder = embedder or shared_embedder()
        model_id = model_id_of(embedder)
        fingerprint = knowledge_fingerprint(pages_dir, model_id)
        pages = load_pages(pages_dir)
        passages = [x for p in pages for x in p.passages]
        phrasings = load_phrasings(phrasings_dir(pages_dir), pages)
        asked = [(i, text) for i, x in enumerate(passages) for text in phrasings.get(x.id, ())]
        started = time.perf_counter()
        embeddings = embedder.encode([p.search_text for p in passages], progress=progress)
        page_embeddings = embedder.encode([page_outline(p) for p in pages])
        phrasing_embeddings = (
            embedder.encode([text for _, text in asked])
            if asked
            else np.zeros((0, embeddings.shape[1]), dtype=np.float32)
        )
        phrasing_passages = [i for i, _ in asked]
        units = [u.text for x in passages for u in split_units(x.text)]
        unit_embeddings = embedder.encode(units)
        outside = load_outside(pages_dir)
        outside_embeddings = (
            embedder.encode([a for t in outside for a in t.asked])
            if outside
            else np.zeros((0, embeddings.shape[1]), dtype=np.float32)
        )
        requests = load_requests(pages_dir)
        request_embeddings = (
            embedder.encode(requests.texts) if requests.texts else np.zeros((0, embeddings.shape[1]), dtype=np.float32)
        )
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        np.save(index_dir / "embeddings.npy", embeddings)
        np.save(index_dir / "page_embeddings.npy", page_embeddings)
        np.save(index_dir / "phrasing_embeddings.npy", phrasing_embeddings)
        np.save(index_dir / "unit_embeddings.npy", unit_embeddings)
        np.save(index_dir / "outside_embeddings.npy", outside_embeddings)
        np.save(index_dir / "request_embeddings.npy", request_embeddings)
        (index_dir / "passages.json").write_text(json.dumps([p.id for p in passages], indent=0), encoding="utf-8")
        (index_dir / "phrasing_passages.json").write_text(json.dumps(phrasing_passages), encoding="utf-8")
        (index_dir / "meta.json").write_text(
            json.dumps(
                {
                    "fingerprint": fingerprint,
                    "model": model_id,
                    "passages": len(passages),
                    "pages": len(pages),
                    "phrasings": len(asked),
                    "build_seconds": round(time.perf_counter() - started, 3),
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        return cls(
            pages,
            embeddings,
            page_embeddings,
            embedder,
            phrasing_embeddings,
            phrasing_passages,
            unit_embeddings,
            phrasings,
            outside,
            outside_embeddings,
            requests,
            request_embeddings,
        )

    @staticmethod
    def is_current(pages_dir: Path, index_dir: Path, model_id: Optional[str] = None) -> bool:
        """Whether ``index_dir`` holds the index of these pages, embedded by ``model_id`` (default:
        the model this process would load)."""
        meta = Path(index_dir) / "meta.json"
        try:
            return json.loads(meta.read_text())["fingerprint"] == knowledge_fingerprint(pages_dir, model_id)
        except (OSError, ValueError, KeyError):
            return False

    @classmethod
    def load(cls, pages_dir: Path, index_dir: Path, embedder: Optional[Embedder] = None) -> "GuidanceIndex":
        """Load the index written by :meth:`build`; rebuild it if ``knowledge/`` changed since."""
        if not cls.is_current(pages_dir, index_dir, model_id_of(embedder) if embedder is not None else None):
            return cls.build(pages_dir, index_dir, embedder)
        pages = load_pages(pages_dir)
        embeddings = np.load(Path(index_dir) / "embeddings.npy")
        page_embeddings = np.load(Path(index_dir) / "page_embeddings.npy")
        phrasing_embeddings = np.load(Path(index_dir) / "phrasing_embeddings.npy")
        phrasing_passages = json.loads((Path(index_dir) / "phrasing_passages.json").read_text(encoding="utf-8"))
        unit_embeddings = np.load(Path(index_dir) / "unit_embeddings.npy")
        phrasings = load_phrasings(phrasings_dir(pages_dir), pages)
        outside_embeddings = np.load(Path(index_dir) / "outside_embeddings.npy")
        return cls(
            pages,
            embeddings,
            page_embeddings,
            embedder,
            phrasing_embeddings,
            phrasing_passages,
            unit_embeddings,
            phrasings,
            load_outside(pages_dir),
            outside_embeddings,
            load_requests(pages_dir),
            np.load(Path(index_dir) / "request_embeddings.npy"),
        )
