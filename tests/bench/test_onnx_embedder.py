"""The ONNX embedding gives the same vectors as the sentence-transformers (torch) reference, and
the action server's code path runs without importing torch."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from bot.settings import ROOT

SENTENCES = [
    "hello",
    "How do I register a co-operative?",
    "isnt this just privatisation by the back door? how is a mutual any different to handing the service to serco",
    "TUPE protects staff pensions when a service spins out of the NHS. " * 40,  # longer than 256 tokens
    "Co-operative & community benefit societies — what's the FCA's role?",
]


@pytest.fixture(scope="module")
def onnx_export(tmp_path_factory):
    from bot.guidance._embedder import export_onnx, onnx_dir, onnx_is_current

    made_by_setup = onnx_dir(ROOT / "var")
    if onnx_is_current(made_by_setup):
        return made_by_setup
    target = tmp_path_factory.mktemp("onnx")
    assert export_onnx(target)
    return target


@pytest.mark.slow
def test_onnx_vectors_equal_the_torch_reference(onnx_export):
    from bot.guidance._embedder import Embedder, OnnxEmbedder

    onnx, torch_ = OnnxEmbedder(onnx_export), Embedder()
    assert onnx.dimensions == torch_.dimensions == 384
    fast, reference = onnx.encode(SENTENCES, batch_size=2), torch_.encode(SENTENCES)
    assert fast.shape == reference.shape and fast.dtype == np.float32
    cosines = (fast * reference).sum(axis=1)
    assert cosines.min() >= 0.9999, cosines
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    # a big batch (run on every core, in the second session) gives the same vectors
    many = onnx.encode(SENTENCES * 3)
    assert (many * np.vstack([reference] * 3)).sum(axis=1).min() >= 0.9999
    # one at a time (no padding) is the same as in a batch (padding)
    single = np.stack([onnx.encode_one(s) for s in SENTENCES])
    assert (single * reference).sum(axis=1).min() >= 0.9999


@pytest.mark.slow
def test_export_is_skipped_when_current(onnx_export):
    from bot.guidance._embedder import export_onnx

    assert export_onnx(onnx_export) is False


@pytest.mark.slow
def test_action_server_code_path_needs_no_torch(onnx_export, tmp_path):
    code = (
        "import sys, json\n"
        "from actions.actions import guidance_desk\n"
        "desk = guidance_desk()\n"
        "answer = desk.answer('How do I register a co-operative?')\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'backend': desk.index.embedder.backend,"
        " 'answered': answer.answered}))\n"
    )
    import shutil

    var = tmp_path / "var"
    shutil.copytree(ROOT / "var" / "index", var / "index") if (ROOT / "var" / "index").exists() else None
    env = {
        "PATH": "/usr/bin:/bin",
        "PYTHONPATH": str(ROOT),
        "HF_HUB_OFFLINE": "1",
        "MUTUALS_VAR_DIR": str(var),
        "MUTUALS_ONNX_DIR": str(onnx_export),
        "TOKENIZERS_PARALLELISM": "false",
    }
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result == {"torch": False, "backend": "onnx", "answered": True}
