"""Fine-tuning all-MiniLM-L6-v2 on this guidance, at set-up (`mutuals tune`, part of `mutuals setup`).

The base model knows English but not this domain: "bencom", "TUPE", "admitted body", "PSR" and
"CIC34" are rare words to it, and "the council's pension" and "the LGPS" are far apart. The
guidance itself says what goes with what, so the model is taught from three kinds of pair, each
(a query, the text that answers it):

- a phrasing (``knowledge/phrasings/``: how people ask what a section answers) and its section's
  search text (page title, heading and words: what the index embeds);
- a section's heading and the same search text;
- a page's title and its outline (title, summary and headings: the page-level vector).

Never the evaluation questions (``knowledge/questions/``): nothing here reads them, and a test
checks that changing them does not change what is trained on.

The loss is sentence-transformers' ``MultipleNegativesRankingLoss``: in each batch, every query
must come closer to its own text than to the other pairs' texts. A batch never holds two pairs
from the same section, nor a page's title pair with one of its sections' pairs, so no pair's
right answer is used as another's wrong one. The loop is a plain torch loop over the
sentence-transformers model and loss (the library's trainer needs ``datasets`` and
``accelerate``, which this environment does not install); the seed, the batch order and the
torch threads are fixed, so the same inputs give the same model.

The model is written to ``var/embedding/tuned/`` with ``tuning.json`` (the fingerprint of its
inputs: the pairs, the base model's files, the settings below and the library versions), and
made again only when that fingerprint changes. It is exported to ONNX like the base model
(``bot/guidance/_embedder.py``); ``MUTUALS_EMBEDDING_MODEL=base`` uses the untuned model instead.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Sequence, Tuple

TUNING_VERSION = 1  # bump when the pairs or the loop below change
logger = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class TuningSettings:
    """What the training does. Chosen on the tune split (docs/retrieval.md) to fit in well under
    five minutes on two cores."""

    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 5e-5
    warmup_share: float = 0.1
    weight_decay: float = 0.01
    # tokens of each text while training (the saved model keeps the base model's 256, as the ONNX
    # export does): a section's first 64 tokens carry its title, heading and opening sentence, and
    # a step's cost grows with its longest text (3.7 CPU-seconds at 64, 7.8 at 128, batch 32)
    max_seq_length: int = 64
    scale: float = 20.0  # MultipleNegativesRankingLoss's (the library default)
    seed: int = 13
    threads: int = 2  # torch's; only the time (and the last bits of rounding) depend on it, so not fingerprinted


@dataclasses.dataclass(frozen=True)
class Pair:
    query: str
    text: str
    section: str  # the passage id (slug#anchor) the text belongs to; the page's slug for a title pair
    page: str
    kind: str  # phrasing | heading | title


def training_pairs(pages_dir: Path) -> List[Pair]:
    """Every (query, text) pair the model learns from, in a fixed order. Reads ``pages/`` and
    ``phrasings/`` only."""
    from ._index import page_outline
    from ._pages import load_pages
    from ._phrasings import load_phrasings, phrasings_dir

    pages = load_pages(pages_dir)
    phrasings = load_phrasings(phrasings_dir(pages_dir), pages)
    pairs: List[Pair] = []
    for page in pages:
        pairs.append(Pair(page.title, page_outline(page), page.slug, page.slug, "title"))
        for passage in page.passages:
            if passage.heading and passage.heading != page.title:
                pairs.append(Pair(passage.heading, passage.search_text, passage.id, page.slug, "heading"))
            for text in phrasings.get(passage.id, ()):
                pairs.append(Pair(text, passage.search_text, passage.id, page.slug, "phrasing"))
    return pairs


def tuning_fingerprint(pairs: Sequence[Pair], settings: TuningSettings, base_path: Optional[str] = None) -> str:
    """Changes when anything the tuned model depends on does."""
    from importlib.metadata import version  # not importing torch: a check that finds nothing to do stays fast

    from ._embedder import model_fingerprint

    digest = hashlib.sha256(
        json.dumps(
            {
                "version": TUNING_VERSION,
                "settings": {k: v for k, v in dataclasses.asdict(settings).items() if k != "threads"},
                "base": model_fingerprint(base_path),
                "torch": version("torch"),
                "sentence_transformers": version("sentence-transformers"),
            },
            sort_keys=True,
        ).encode()
    )
    for pair in pairs:
        digest.update(json.dumps([pair.query, pair.text, pair.section, pair.kind]).encode())
    return digest.hexdigest()


def batches(pairs: Sequence[Pair], batch_size: int, rng) -> List[List[int]]:
    """One epoch's batches (indices into ``pairs``), shuffled by ``rng``: no two pairs of the same
    section in a batch, and no page's title pair beside one of its sections' pairs (either would
    make one pair's right text another's in-batch negative)."""
    order = list(rng.permutation(len(pairs)))
    out: List[List[int]] = []
    while order:
        batch: List[int] = []
        sections, title_pages, section_pages = set(), set(), set()
        rest = []
        for i in order:
            p = pairs[i]
            if len(batch) >= batch_size:
                rest.append(i)
                continue
            clash = (
                (p.section in sections or p.page in title_pages)
                if p.kind != "title"
                else (p.page in title_pages or p.page in section_pages)
            )
            if clash:
                rest.append(i)
                continue
            batch.append(i)
            if p.kind == "title":
                title_pages.add(p.page)
            else:
                sections.add(p.section)
                section_pages.add(p.page)
        if len(batch) < 2 and out:  # what is left all clashes (one section's pairs): a batch of one
            break  # teaches nothing under this loss, so they sit this epoch out
        out.append(batch)
        order = rest
    return out


def train(
    pairs: Sequence[Pair],
    target: Path,
    settings: TuningSettings = TuningSettings(),
    base_path: Optional[str] = None,
    fingerprint: Optional[str] = None,
    log: Callable[[str], None] = logger.info,
) -> Dict[str, object]:
    """Fine-tune the base model on ``pairs`` and save it to ``target`` (replacing what was there,
    only once the new model is complete). Returns what ``tuning.json`` records."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    import numpy as np
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.losses import MultipleNegativesRankingLoss

    from ._embedder import MODEL_NAME, model_path

    transformers.logging.set_verbosity_error()
    transformers.logging.disable_progress_bar()
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    if len(pairs) < 2:
        raise ValueError("tuning needs at least two pairs")
    started = time.perf_counter()
    threads_before = torch.get_num_threads()
    torch.set_num_threads(settings.threads)
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    try:
        model = SentenceTransformer(base_path or model_path(), device="cpu")
        base_seq_length = model.max_seq_length
        model.max_seq_length = settings.max_seq_length
        loss = MultipleNegativesRankingLoss(model, scale=settings.scale)
        plan = [batches(pairs, settings.batch_size, rng) for _ in range(settings.epochs)]
        steps = sum(len(epoch) for epoch in plan)
        warmup = max(1, int(steps * settings.warmup_share))
        decay: list = []
        no_decay: list = []
        for name, parameter in model.named_parameters():
            (no_decay if "bias" in name or "LayerNorm" in name else decay).append(parameter)
        optimiser = torch.optim.AdamW(
            [{"params": decay, "weight_decay": settings.weight_decay}, {"params": no_decay, "weight_decay": 0.0}],
            lr=settings.learning_rate,
        )
        schedule = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda s: (s + 1) / warmup if s < warmup else max(0.0, (steps - s) / max(1, steps - warmup))
        )
        tokenize = getattr(model, "preprocess", None) or model.tokenize  # 5.x renamed it
        model.train()
        step, losses = 0, []
        for epoch, epoch_batches in enumerate(plan, start=1):
            epoch_losses = []
            for batch in epoch_batches:
                features = [tokenize([pairs[i].query for i in batch]), tokenize([pairs[i].text for i in batch])]
                value = loss(features, None)
                optimiser.zero_grad()
                value.backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimiser.step()
                schedule.step()
                step += 1
                epoch_losses.append(value.item())
                if step % 10 == 0:
                    log(f"step {step}/{steps} ({time.perf_counter() - started:.0f} s)")
            losses.append(round(float(np.mean(epoch_losses)), 4))
            log(
                f"epoch {epoch}/{settings.epochs}: {len(epoch_batches)} batches, mean loss {losses[-1]} "
                f"({time.perf_counter() - started:.0f} s)"
            )
        model.eval()
        model.max_seq_length = base_seq_length  # what it embeds with: the base model's, like the ONNX export
        target = Path(target)
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        model.save(str(partial))
        seconds = round(time.perf_counter() - started, 1)
        meta = {
            "model": f"{MODEL_NAME}-tuned",
            "base": MODEL_NAME,
            "fingerprint": fingerprint or "",
            "pairs": len(pairs),
            "kinds": {k: sum(1 for p in pairs if p.kind == k) for k in ("phrasing", "heading", "title")},
            "steps": steps,
            "epoch_losses": losses,
            "train_seconds": seconds,
            "settings": dataclasses.asdict(settings),
            "torch": torch.__version__,
        }
        (partial / "tuning.json").write_text(json.dumps(meta, indent=2))
        shutil.rmtree(target, ignore_errors=True)
        partial.replace(target)
        return meta
    finally:
        torch.set_num_threads(threads_before)


def tuned_meta(target: Path) -> Optional[dict]:
    """``tuning.json`` of a complete tuned model in ``target``, else ``None``."""
    try:
        meta = json.loads((Path(target) / "tuning.json").read_text())
    except (OSError, ValueError):
        return None
    if not (Path(target) / "model.safetensors").exists() and not (Path(target) / "pytorch_model.bin").exists():
        return None
    return meta


def is_current(target: Path, fingerprint: str) -> bool:
    meta = tuned_meta(target)
    return bool(meta and meta.get("fingerprint") == fingerprint)


def ensure_tuned(
    pages_dir: Path,
    target: Path,
    settings: TuningSettings = TuningSettings(),
    force: bool = False,
    log: Callable[[str], None] = logger.info,
    announce: Optional[Callable[[], None]] = None,
) -> Tuple[bool, dict]:
    """Tune when the pairs, the base model or the settings changed since the model in ``target``
    was made; ``(True, meta)`` if it trained, ``(False, meta)`` if the model was current."""
    pairs = training_pairs(pages_dir)
    fingerprint = tuning_fingerprint(pairs, settings)
    if not force and is_current(target, fingerprint):
        return False, tuned_meta(target) or {}
    if announce:
        announce()
    return True, train(pairs, target, settings, fingerprint=fingerprint, log=log)
