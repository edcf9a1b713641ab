"""Rasa's own checks on the training data and the trained model."""

import os
import subprocess
import sys

import pytest
import yaml

from bot.settings import ROOT, Settings

pytestmark = pytest.mark.slow
ENV = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")


def rasa(*args, timeout=600):
    return subprocess.run(
        [sys.executable, "-m", "bot.rasa_server", *args],
        cwd=ROOT,
        env=ENV,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_training_data_validates_without_errors():
    result = rasa(
        "data",
        "validate",
        "--data",
        "nlu_data",
        "--domain",
        "domain.yml",
        "--config",
        "config.yml",
        "--fail-on-warnings",
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]


def test_every_intent_has_at_least_fifteen_varied_examples():
    nlu = yaml.safe_load((ROOT / "nlu_data" / "nlu.yml").read_text())["nlu"]
    counts = {
        block["intent"]: len({line.strip("- ").lower() for line in block["examples"].splitlines() if line.strip()})
        for block in nlu
        if "intent" in block
    }
    assert all(n >= 15 for n in counts.values()), counts
    assert counts["ask_question"] >= 60 and counts["out_of_scope"] >= 30


def test_the_trained_model_follows_the_test_stories(tmp_path):
    model = Settings.from_env().model_file
    result = rasa(
        "test",
        "core",
        "--model",
        str(model),
        "--stories",
        "tests/test_stories.yml",
        "--out",
        str(tmp_path),
        "--fail-on-prediction-errors",
    )
    failed = (
        (tmp_path / "failed_test_stories.yml").read_text() if (tmp_path / "failed_test_stories.yml").exists() else ""
    )
    assert result.returncode == 0, failed or result.stderr[-3000:]
    assert "None of the test stories failed" in failed
