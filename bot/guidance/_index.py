"""The retrieval index: passages, their embeddings and a BM25 table, built from knowledge/."""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from ._embedder import MODEL_NAME, Embedder, shared_embedder
from ._pages import Guidance, Passage, aliases_of, load_pages
from ._search import BM25, Hit, rank

INDEX_VERSION = 3  # bump when the passage split or the embedded text changes


def knowledge_fingerprint(pages_dir: Path) -> str:
    digest = hashlib.sha256(f"{INDEX_VERSION}:{MODEL_NAME}".encode())
    for path in sorted(Path(pages_dir).glob("*.md")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def page_outline(page: Guidance) -> str:
    """What a page is about, for the page-level half of the hybrid score."""
    return f"{page.title}. {page.summary} " + " ".join(p.heading for p in page.passages)


class GuidanceIndex:
    """The pages, their passages and the vectors to search them, held in memory."""

    def __init__(self, pages: Sequence[Guidance], embeddings: np.ndarray, page_embeddings: np.ndarray,
                 embedder: Optional[Embedder] = None):
        self.pages: Dict[str, Guidance] = {p.slug: p for p in pages}
        self.aliases: Dict[str, str] = aliases_of(pages)  # old slug -> the page it was merged into
        self.passages: List[Passage] = [x for p in pages for x in p.passages]
        if len(self.passages) != len(embeddings) or len(pages) != len(page_embeddings):
            raise ValueError("the index is out of date: pages, passages and embeddings differ in number")
        self.embeddings = np.ascontiguousarray(embeddings, dtype=np.float32)
        self.page_embeddings = np.ascontiguousarray(page_embeddings, dtype=np.float32)
        order = {p.slug: i for i, p in enumerate(pages)}
        self.page_of_passage = np.array([order[x.slug] for x in self.passages], dtype=np.int64)
        self.bm25 = BM25([p.search_text for p in self.passages])
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        if self._embedder is None:
            self._embedder = shared_embedder()
        return self._embedder

    def search(self, query: str, mode: str = "hybrid", k: int = 10,
               vector: Optional[np.ndarray] = None) -> List[Hit]:
        """The best ``k`` passages for ``query`` (``vector``: its embedding, if already made)."""
        if vector is None and mode != "bm25":
            vector = self.embedder.encode_one(query)
        page_similarity = (self.page_embeddings @ vector)[self.page_of_passage] if mode == "hybrid" else None
        return rank(self.passages, query, vector, self.embeddings, page_similarity, self.bm25, mode=mode, k=k)

    def first_passage(self, slug: str) -> Optional[Passage]:
        page = self.pages.get(slug) or self.pages.get(self.aliases.get(slug, ""))
        return page.passages[0] if page and page.passages else None

    # building and loading ------------------------------------------------------------

    @classmethod
    def build(cls, pages_dir: Path, index_dir: Path, embedder: Optional[Embedder] = None,
              progress: bool = False) -> "GuidanceIndex":
        """Embed every passage and write the index to ``index_dir``."""
        embedder = embedder or shared_embedder()
        fingerprint = knowledge_fingerprint(pages_dir)
        pages = load_pages(pages_dir)
        passages = [x for p in pages for x in p.passages]
        started = time.perf_counter()
        embeddings = embedder.encode([p.search_text for p in passages], progress=progress)
        page_embeddings = embedder.encode([page_outline(p) for p in pages])
        index_dir = Path(index_dir)
        index_dir.mkdir(parents=True, exist_ok=True)
        np.save(index_dir / "embeddings.npy", embeddings)
        np.save(index_dir / "page_embeddings.npy", page_embeddings)
        (index_dir / "passages.json").write_text(
            json.dumps([p.id for p in passages], indent=0), encoding="utf-8")
        (index_dir / "meta.json").write_text(json.dumps({
            "fingerprint": fingerprint, "model": MODEL_NAME, "passages": len(passages),
            "pages": len(pages), "build_seconds": round(time.perf_counter() - started, 3),
        }, indent=2), encoding="utf-8")
        return cls(pages, embeddings, page_embeddings, embedder)

    @staticmethod
    def is_current(pages_dir: Path, index_dir: Path) -> bool:
        meta = Path(index_dir) / "meta.json"
        try:
            return json.loads(meta.read_text())["fingerprint"] == knowledge_fingerprint(pages_dir)
        except (OSError, ValueError, KeyError):
            return False

    @classmethod
    def load(cls, pages_dir: Path, index_dir: Path, embedder: Optional[Embedder] = None) -> "GuidanceIndex":
        """Load the index written by :meth:`build`; rebuild it if ``knowledge/`` changed since."""
        if not cls.is_current(pages_dir, index_dir):
            return cls.build(pages_dir, index_dir, embedder)
        pages = load_pages(pages_dir)
        embeddings = np.load(Path(index_dir) / "embeddings.npy")
        page_embeddings = np.load(Path(index_dir) / "page_embeddings.npy")
        return cls(pages, embeddings, page_embeddings, embedder)
