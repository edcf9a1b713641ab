"""What `mutuals setup` does: train the Rasa model, fine-tune the embedding model and build the
retrieval index, each only when its inputs changed since the last time."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path
from typing import Iterable

from bot.settings import ROOT, Settings


def say(message: str) -> None:
    print(f"\033[1m==> {message}\033[0m", flush=True)


def training_inputs() -> Iterable[Path]:
    yield ROOT / "config.yml"
    yield ROOT / "domain.yml"
    yield from sorted((ROOT / "nlu_data").rglob("*.yml"))


def fingerprint(paths: Iterable[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        digest.update(str(path.relative_to(ROOT)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def train(settings: Settings, force: bool = False) -> bool:
    """Train when config.yml, domain.yml or nlu_data/ changed; ``True`` if it trained."""
    stamp = settings.models_dir / "mutuals.fingerprint"
    wanted = fingerprint(training_inputs())
    if not force and settings.model_file.exists() and stamp.exists() and stamp.read_text() == wanted:
        say("The Rasa model is up to date")
        return False
    say("Training the Rasa model (about 2 minutes on 2 cores)")
    settings.models_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="2")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "bot.rasa_server",
            "train",
            "--data",
            str(ROOT / "nlu_data"),
            "--config",
            str(ROOT / "config.yml"),
            "--domain",
            str(ROOT / "domain.yml"),
            "--out",
            str(settings.models_dir),
            "--fixed-model-name",
            "mutuals",
            "--force",
        ],
        cwd=ROOT,
        env=env,
        check=True,
    )
    stamp.write_text(wanted)
    return True


def index(settings: Settings, force: bool = False) -> bool:
    """Rebuild the retrieval index when knowledge/ changed; ``True`` if it built."""
    from bot.guidance import GuidanceIndex

    pages = settings.knowledge_dir / "pages"
    if not force and GuidanceIndex.is_current(pages, settings.index_dir):
        say("The guidance index is up to date")
        return False
    say("Building the guidance index")
    built = GuidanceIndex.build(pages, settings.index_dir, progress=sys.stdout.isatty())
    print(f"    {len(built.pages)} pages, {len(built.passages)} passages, {len(built.phrasing_passages)} phrasings")
    return True


def onnx_embedder(settings: Settings, force: bool = False) -> bool:
    """Export the embedding model to ONNX (``var/onnx/``) when it is not there for this model:
    the action server then embeds with onnxruntime, about 3x faster and without torch;
    ``True`` if it exported. Without an export everything still works, on torch."""
    from bot.guidance._embedder import export_onnx, onnx_dir, onnx_is_current

    target = onnx_dir(settings.var_dir)
    if not force and onnx_is_current(target):
        say("The embedding model's ONNX export is up to date")
        return False
    say("Exporting the embedding model to ONNX")
    return export_onnx(target, force=True)


def tuned_embedder(settings: Settings, force: bool = False) -> bool:
    """Fine-tune the embedding model on knowledge/ (``var/embedding/tuned/``, bot/guidance/_tuning.py)
    when its inputs (pages, phrasings, base model, training settings) changed since the last time,
    then export it to ONNX (``var/onnx/all-MiniLM-L6-v2-tuned/``) when that export is not of this
    model; ``True`` if it trained. Nothing to do with ``MUTUALS_EMBEDDING_MODEL=base``."""
    import time

    from bot.guidance._embedder import export_onnx, onnx_dir, onnx_is_current, tuned_dir
    from bot.guidance._tuning import ensure_tuned

    if settings.embedding_model == "base":
        say("MUTUALS_EMBEDDING_MODEL=base: the embedding model is not tuned")
        return False
    target = tuned_dir(settings.var_dir)
    started = time.perf_counter()
    trained, meta = ensure_tuned(
        settings.knowledge_dir / "pages",
        target,
        force=force,
        log=lambda line: print(f"    {line}", flush=True),
        announce=lambda: say("Fine-tuning the embedding model on the guidance (about 3 minutes on 2 cores)"),
    )
    if trained:
        print(f"    {meta['pairs']} pairs, {meta['steps']} steps: trained in {meta['train_seconds']} s")
    else:
        say("The tuned embedding model is up to date")
    export = onnx_dir(settings.var_dir, tuned=True)
    if trained or not onnx_is_current(export, str(target)):
        say("Exporting the tuned embedding model to ONNX")
        export_onnx(export, str(target), force=True)
    if trained:
        print(f"    fine-tuning and export took {time.perf_counter() - started:.0f} s")
    return trained


def widget_assets(settings: Settings, force: bool = False) -> bool:
    """Vendor the browser's socket.io client for the chat widget, Chart.js for the insights
    dashboard's charts (and axe-core, which the browser tests run on every page): ``npm ci`` when
    package-lock.json changed since the last time or a built file is missing, then copy the built
    files into bot/web/static/vendor/ (served from our own origin, never a CDN); ``True`` if it ran
    npm."""
    import shutil

    lock = ROOT / "package-lock.json"
    vendor = ROOT / "bot" / "web" / "static" / "vendor"
    built = ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
    chart = ROOT / "node_modules" / "chart.js" / "dist" / "chart.umd.min.js"  # the UMD build: window.Chart
    stamp = ROOT / "node_modules" / ".mutuals-lock"
    wanted = fingerprint([ROOT / "package.json", lock])
    ran = False
    if force or not built.exists() or not chart.exists() or not stamp.exists() or stamp.read_text() != wanted:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit(
                "The chat widget and the console need Node.js and npm to fetch socket.io-client and Chart.js "
                "(for example 'apt-get install nodejs npm'), then run this again."
            )
        say("Installing the web widget's browser packages (npm ci)")
        subprocess.run([npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=ROOT, check=True)
        stamp.write_text(wanted)
        ran = True
    else:
        say("The web widget's browser packages are up to date")
    vendor.mkdir(parents=True, exist_ok=True)
    axe = ROOT / "node_modules" / "axe-core" / "axe.min.js"  # a dev dependency: tests/support/axe_check.py
    for source in (built, built.with_name(built.name + ".map"), chart, chart.with_name(chart.name + ".map"), axe):
        target = vendor / source.name
        if source.exists() and (not target.exists() or target.read_bytes() != source.read_bytes()):
            shutil.copyfile(source, target)
    return ran


def setup(settings: Settings) -> None:
    from bot.guidance._check import check_pages

    problems = check_pages(settings.knowledge_dir / "pages")
    if problems:
        raise SystemExit("The guidance in knowledge/ has problems:\n  " + "\n  ".join(problems))
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    settings.with_secrets()
    train(settings)
    onnx_embedder(settings)
    tuned_embedder(settings)
    index(settings)
    widget_assets(settings)
