"""The code's own checks, run with the suite so a regression fails CI: ruff's pyflakes rules and
syntax errors over the whole tree, and mypy on the modules others rely on (both configured in
pyproject.toml: [tool.ruff], [tool.mypy]). `make check` runs them with the fast tests."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def ruff() -> str:
    beside = Path(sys.executable).with_name("ruff")  # installed with the test extras into the venv
    return str(beside) if beside.exists() else shutil.which("ruff") or "ruff"


def test_ruff_finds_no_unused_undefined_or_shadowed_names():
    done = subprocess.run([ruff(), "check", "--no-cache", "--output-format", "concise", "."], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_would_catch_an_undefined_name(tmp_path):
    # the check itself works: the same rules on a file with a mistake fail
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "broken.py").write_text("def answer():\n    return pages\n", encoding="utf-8")
    done = subprocess.run([ruff(), "check", "--no-cache", "--output-format", "concise", "."], cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "F821" in done.stdout, done.stdout + done.stderr


def test_mypy_finds_no_type_errors_in_settings_guidance_and_channels():
    beside = Path(sys.executable).with_name("mypy")
    done = subprocess.run([str(beside) if beside.exists() else "mypy"], cwd=ROOT,  # [tool.mypy] in pyproject.toml
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0 and "Success" in done.stdout, done.stdout + done.stderr
