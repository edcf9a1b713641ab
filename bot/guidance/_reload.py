"""Picking up changed guidance in a running action server, without a restart and without dropping a turn.

:class:`KnowledgeWatcher` looks at ``knowledge/pages`` and ``knowledge/phrasings`` every few
seconds (their fingerprint, :func:`knowledge_fingerprint`). When it changes, a new index is built
in the watcher's own thread while the old one keeps answering; vectors of every text the old index
already embedded are reused (:class:`ReusingEmbedder`), so only what is new is embedded (a phrasing
added: well under a second, against minutes for a full build). Then the process's desk is replaced
in one assignment (``use_desk``): a turn in progress finishes on the desk it started with, the next
one gets the new. A build that fails (a page that does not parse) is logged and the old index kept.
"""

from __future__ import annotations

import copy
import logging
import threading
from pathlib import Path
from typing import Callable, Dict, Optional, Sequence, cast

import numpy as np

from ._embedder import Embedder
from ._focus import split_units
from ._index import GuidanceIndex, knowledge_fingerprint, model_id_of, page_outline

logger = logging.getLogger(__name__)


class ReusingEmbedder:
    """Wraps an embedder: texts it has a vector for already are not embedded again."""

    def __init__(self, inner, known: Dict[str, np.ndarray]):
        self.inner = inner
        self.known = known
        self.embedded = 0  # texts actually sent to the model

    def __getattr__(self, name):
        return getattr(self.inner, name)

    def encode_one(self, text: str) -> np.ndarray:
        return self.known[text] if text in self.known else self.inner.encode_one(text)

    def encode(self, texts: Sequence[str], *args, **kwargs) -> np.ndarray:
        texts = list(texts)
        missing = sorted({t for t in texts if t not in self.known})
        if missing:
            self.embedded += len(missing)
            for text, vector in zip(missing, self.inner.encode(missing, *args, **kwargs)):
                self.known[text] = vector
        if not texts:
            return self.inner.encode(texts, *args, **kwargs)
        return np.stack([self.known[t] for t in texts])


def known_vectors(index: GuidanceIndex) -> Dict[str, np.ndarray]:
    """Every text ``index`` holds a vector of, with that vector."""
    known: Dict[str, np.ndarray] = {}
    for passage, vector in zip(index.passages, index.embeddings):
        known[passage.search_text] = vector
    for page, vector in zip(index.pages.values(), index.page_embeddings):
        known[page_outline(page)] = vector
    if index.phrasing_embeddings is not None:  # rows grouped by passage, each passage's in file order
        texts = [t for x in index.passages for t in index.phrasings.get(x.id, ())]
        if len(texts) == len(index.phrasing_embeddings):
            known.update(zip(texts, index.phrasing_embeddings))
    if index.unit_embeddings is not None:
        units = [u.text for x in index.passages for u in split_units(x.text)]
        if len(units) == len(index.unit_embeddings):
            known.update(zip(units, index.unit_embeddings))
    return known


def rebuilt_desk(desk, pages_dir: Path, index_dir: Path):
    """A copy of ``desk`` (same settings) on an index of the guidance as it is now."""
    inner = desk.index.embedder
    embedder = ReusingEmbedder(inner, known_vectors(desk.index))
    index = GuidanceIndex.build(pages_dir, index_dir, cast(Embedder, embedder))  # it stands in for one
    index._embedder = inner  # questions are embedded by the model itself
    fresh = copy.copy(desk)
    fresh.index = index
    logger.info(
        "guidance reloaded: %d pages, %d passages, %d text(s) embedded anew",
        len(index.pages),
        len(index.passages),
        embedder.embedded,
    )
    return fresh


class KnowledgeWatcher:
    """``KnowledgeWatcher(get_desk, use_desk, pages_dir, index_dir).start()``."""

    def __init__(
        self, get_desk: Callable, use_desk: Callable, pages_dir: Path, index_dir: Path, every_seconds: float = 2.0
    ):
        self.get_desk, self.use_desk = get_desk, use_desk
        self.pages_dir, self.index_dir = Path(pages_dir), Path(index_dir)
        self.every_seconds = every_seconds
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self._lock = threading.Lock()
        self.fingerprint = self._fingerprint()
        self.reloads = 0

    def _fingerprint(self) -> Optional[str]:
        try:
            return knowledge_fingerprint(self.pages_dir, model_id_of(self.get_desk().index.embedder))
        except OSError:  # a file being replaced: look again next time
            return None

    def check(self) -> bool:
        """Rebuild and swap when the guidance changed since last time; whether it did."""
        with self._lock:
            now = self._fingerprint()
            if now is None or now == self.fingerprint:
                return False
            try:
                fresh = rebuilt_desk(self.get_desk(), self.pages_dir, self.index_dir)
            except Exception:
                logger.exception("the guidance changed but could not be loaded; still answering from the old")
                self.fingerprint = now  # not again until it changes once more
                return False
            self.use_desk(fresh)
            self.fingerprint = now
            self.reloads += 1
            return True

    def _run(self) -> None:
        while not self._stop.wait(self.every_seconds):
            try:
                self.check()
            except Exception:
                logger.exception("checking the guidance for changes failed")

    def start(self) -> "KnowledgeWatcher":
        self._thread = threading.Thread(target=self._run, name="knowledge-watcher", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()


class LiveDesk:
    """Stands for the process's current desk (routes made once keep answering from the newest)."""

    def __init__(self, get_desk: Callable):
        self._get_desk = get_desk

    def __getattr__(self, name):
        return getattr(self._get_desk(), name)


__all__ = ["KnowledgeWatcher", "LiveDesk", "ReusingEmbedder", "known_vectors", "rebuilt_desk"]
