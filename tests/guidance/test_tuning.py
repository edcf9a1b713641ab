"""The embedding model fine-tuned on the guidance (bot/guidance/_tuning.py): made only when its
inputs change, never from the evaluation questions, loadable offline, the same through ONNX as
through torch, and replaced by the base model (with a warning) when it is missing."""

from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from bot.settings import ROOT

KNOWLEDGE = ROOT / "knowledge"
TINY = dict(epochs=1, batch_size=4, max_seq_length=64, threads=2)
SENTENCES = [
    "can the council give us the library for a pound",
    "what is TUPE",
    "hello",
    "Grants for public service mutuals. Where do we look for grants?",
]


def tiny_knowledge(root: Path, slugs=("grants", "community-asset-transfer")) -> Path:
    """A knowledge directory with two real pages and their phrasings (and no questions/)."""
    for sub in ("pages", "phrasings"):
        (root / sub).mkdir(parents=True)
    for slug in slugs:
        shutil.copy(KNOWLEDGE / "pages" / f"{slug}.md", root / "pages")
        shutil.copy(KNOWLEDGE / "phrasings" / f"{slug}.yml", root / "phrasings")
    return root / "pages"


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A tuned model from three pairs of three different pages (one step): seconds, not minutes."""
    from bot.guidance._tuning import TuningSettings, train, training_pairs

    pairs = training_pairs(KNOWLEDGE / "pages")
    picked, pages = [], set()
    for pair in pairs:
        if pair.kind == "phrasing" and pair.page not in pages:
            picked.append(pair)
            pages.add(pair.page)
        if len(picked) == 3:
            break
    target = tmp_path_factory.mktemp("tuned") / "tuned"
    meta = train(picked, target, TuningSettings(**TINY), fingerprint="tiny")
    assert meta["pairs"] == 3 and meta["steps"] == 1
    return target


def test_the_pairs_come_from_pages_and_phrasings_never_from_the_questions(tmp_path):
    from bot.guidance._evaluation import load_questions
    from bot.guidance._tuning import TuningSettings, training_pairs, tuning_fingerprint

    pairs = training_pairs(KNOWLEDGE / "pages")
    assert {p.kind for p in pairs} == {"phrasing", "heading", "title"}
    asked = {q.text.strip().lower() for q in load_questions(KNOWLEDGE / "questions")}
    assert not [p.query for p in pairs if p.query.strip().lower() in asked]
    # a question file appearing, or changing, changes nothing the model learns from
    pages = tiny_knowledge(tmp_path)
    before = tuning_fingerprint(training_pairs(pages), TuningSettings(**TINY))
    (tmp_path / "questions").mkdir()
    (tmp_path / "questions" / "x.yml").write_text(
        "answerable:\n  - q: where do we look for grants\n    slug: grants\n    split: tune\n"
    )
    assert tuning_fingerprint(training_pairs(pages), TuningSettings(**TINY)) == before
    # while a phrasing, a page or a setting does
    phrasings = tmp_path / "phrasings" / "grants.yml"
    data = yaml.safe_load(phrasings.read_text())
    first = next(iter(data["sections"]))
    data["sections"][first][0] += " please"
    phrasings.write_text(yaml.safe_dump(data))
    assert tuning_fingerprint(training_pairs(pages), TuningSettings(**TINY)) != before
    assert tuning_fingerprint(training_pairs(pages), TuningSettings(**dict(TINY, epochs=2))) != tuning_fingerprint(
        training_pairs(pages), TuningSettings(**TINY)
    )


def test_no_batch_holds_two_pairs_whose_texts_would_be_false_negatives():
    from bot.guidance._tuning import batches, training_pairs

    pairs = training_pairs(KNOWLEDGE / "pages")
    epoch = batches(pairs, 32, np.random.default_rng(0))
    assert max(len(b) for b in epoch) == 32
    assert sum(len(b) for b in epoch) >= len(pairs) - 32  # at most a few same-section leftovers sit out
    for batch in epoch:
        sections = [pairs[i].section for i in batch if pairs[i].kind != "title"]
        assert len(sections) == len(set(sections))
        titled = {pairs[i].page for i in batch if pairs[i].kind == "title"}
        assert not titled & {pairs[i].page for i in batch if pairs[i].kind != "title"}
    # the same seed gives the same order (a deterministic model), another seed another
    assert batches(pairs, 32, np.random.default_rng(0)) == epoch
    assert batches(pairs, 32, np.random.default_rng(1)) != epoch


@pytest.mark.slow
def test_tuning_runs_when_its_inputs_change_and_is_skipped_when_not(tmp_path):
    from bot.guidance._tuning import TuningSettings, ensure_tuned

    pages = tiny_knowledge(tmp_path / "knowledge")
    target = tmp_path / "var" / "embedding" / "tuned"
    settings = TuningSettings(**TINY)
    trained, meta = ensure_tuned(pages, target, settings)
    assert trained and meta["pairs"] > 3 and (target / "model.safetensors").exists()
    weights = (target / "model.safetensors").stat().st_mtime_ns
    trained, again = ensure_tuned(pages, target, settings)
    assert not trained and again["fingerprint"] == meta["fingerprint"]
    assert (target / "model.safetensors").stat().st_mtime_ns == weights  # untouched
    page = pages / "grants.md"
    page.write_text(page.read_text().replace("Good places to start:", "Good places to look first:"))
    trained, changed = ensure_tuned(pages, target, settings)
    assert trained and changed["fingerprint"] != meta["fingerprint"]


@pytest.mark.slow
def test_a_tiny_tuned_model_loads_offline_and_embeds(tiny_model):
    code = (
        "import json, sys\n"
        "from bot.guidance._embedder import Embedder, model_id_of\n"
        f"e = Embedder({str(tiny_model)!r})\n"
        f"v = e.encode({SENTENCES!r})\n"
        "print(json.dumps({'shape': list(v.shape), 'norms': [float(x) for x in (v * v).sum(1)],"
        " 'id': e.model_id, 'kind': e.kind, 'vectors': v.tolist()}))\n"
    )
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "HOME": str(tiny_model.parent),
        "TOKENIZERS_PARALLELISM": "false",
    }  # no cache, no network
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["shape"] == [len(SENTENCES), 384] and np.allclose(result["norms"], 1.0, atol=1e-5)
    assert result["kind"] == "tuned" and result["id"].startswith("all-MiniLM-L6-v2-tuned-")
    from bot.guidance._embedder import Embedder

    base = Embedder().encode(SENTENCES)
    cosines = (np.array(result["vectors"], dtype=np.float32) * base).sum(axis=1)
    assert cosines.min() < 0.99999  # the weights really changed ...
    assert cosines.min() > 0.9  # ... by one small step


@pytest.mark.slow
def test_the_tuned_models_onnx_export_gives_the_torch_vectors(tiny_model, tmp_path):
    from bot.guidance._embedder import Embedder, OnnxEmbedder, export_onnx, model_id_of, onnx_is_current

    target = tmp_path / "onnx"
    assert export_onnx(target, str(tiny_model))
    assert onnx_is_current(target, str(tiny_model)) and not onnx_is_current(target)  # not the base model's
    assert export_onnx(target, str(tiny_model)) is False  # current: not exported again
    onnx, torch_ = OnnxEmbedder(target), Embedder(str(tiny_model))
    assert onnx.model_id == torch_.model_id == model_id_of(str(tiny_model)) and onnx.kind == "tuned"
    texts = SENTENCES + ["TUPE protects staff pensions when a service spins out of the NHS. " * 40]
    cosines = (onnx.encode(texts, batch_size=2) * torch_.encode(texts)).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines


@pytest.mark.slow
def test_the_base_model_stands_in_when_the_tuned_one_is_missing(tiny_model, tmp_path, monkeypatch, caplog):
    from bot.guidance import _embedder
    from bot.guidance._index import knowledge_fingerprint

    monkeypatch.delenv("MUTUALS_ONNX_DIR", raising=False)
    empty = tmp_path / "empty-var"
    monkeypatch.setattr(_embedder, "_var_dirs", lambda: [empty])
    monkeypatch.setattr(_embedder, "_warned_missing_tuned", False)
    monkeypatch.setenv("MUTUALS_EMBEDDING_MODEL", "tuned")
    with caplog.at_level(logging.WARNING, logger="bot.guidance._embedder"):
        choice = _embedder.choose_model()
    assert choice.kind == "base" and choice.model_id == _embedder.MODEL_NAME
    assert "no tuned embedding model" in caplog.text
    embedder = _embedder.make_embedder("torch")
    assert embedder.kind == "base" and embedder.encode(["hello"]).shape == (1, 384)

    # with the tuned model in place it is chosen, unless the setting asks for the base model
    var = tmp_path / "var"
    shutil.copytree(tiny_model, _embedder.tuned_dir(var))
    monkeypatch.setattr(_embedder, "_var_dirs", lambda: [var])
    tuned = _embedder.choose_model()
    assert tuned.kind == "tuned" and tuned.onnx is None  # not exported: torch
    assert _embedder.make_embedder("auto").kind == "tuned"
    monkeypatch.setenv("MUTUALS_EMBEDDING_MODEL", "base")
    assert _embedder.choose_model().kind == "base"
    monkeypatch.setenv("MUTUALS_EMBEDDING_MODEL", "large")
    with pytest.raises(ValueError, match="tuned or base"):
        _embedder.choose_model()
    # an index records which model embedded it: one built with the base model is not current for the tuned
    pages = KNOWLEDGE / "pages"
    assert knowledge_fingerprint(pages, tuned.model_id) != knowledge_fingerprint(pages, _embedder.MODEL_NAME)


def test_the_thresholds_follow_the_model():
    from bot.guidance._answer import THRESHOLDS_FOR, thresholds_for

    class Wrapped:  # e.g. the dialogue evaluation's remembering wrapper
        def __init__(self, inner):
            self.inner = inner

    class Tuned:
        kind = "tuned"

    assert thresholds_for(Tuned()) == THRESHOLDS_FOR["tuned"]
    assert thresholds_for(Wrapped(Tuned())) == THRESHOLDS_FOR["tuned"]
    assert thresholds_for(object()) == THRESHOLDS_FOR["base"]


@pytest.mark.slow
def test_the_suite_embeds_with_the_model_the_product_uses(embedder):
    """The session's embedder (tests/conftest.py) is the one the action server would load: the
    tuned model `mutuals setup` made, when it made one."""
    from bot.guidance._embedder import choose_model

    assert embedder.model_id == choose_model().model_id
    if (
        os.environ.get("MUTUALS_EMBEDDING_MODEL", "tuned") == "tuned"
        and (ROOT / "var" / "embedding" / "tuned" / "tuning.json").exists()
    ):
        assert embedder.kind == "tuned"
