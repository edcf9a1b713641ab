"""Shared fixtures. The expensive things (the embedding model, the guidance index, the running
stack) are made once per test session."""
from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot.settings import ROOT, Settings  # noqa: E402
from bot.stack import Stack, free_port  # noqa: E402


@pytest.fixture(scope="session")
def embedder():
    from bot.guidance import shared_embedder

    return shared_embedder()


@pytest.fixture(scope="session")
def guidance_index(embedder, tmp_path_factory):
    from bot.guidance import GuidanceIndex

    return GuidanceIndex.build(ROOT / "knowledge" / "pages", tmp_path_factory.mktemp("index"), embedder)


@pytest.fixture(scope="session")
def desk(guidance_index):
    from bot.guidance import GuidanceDesk

    return GuidanceDesk(guidance_index, "http://guidance.test")


def stack_settings(var_dir: Path, **overrides) -> Settings:
    """Settings for a stack of our own: free loopback ports, state in ``var_dir``, the trained model."""
    base = Settings.from_env()
    values = dict(
        host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(), web_port=free_port(),
        var_dir=var_dir, models_dir=base.models_dir, telegram_bot_token="",
    )
    values.update(overrides)
    return Settings.from_env(env={}, **values)


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory):
    """The whole assistant (Rasa, actions, web) on free loopback ports, once per session."""
    var_dir = tmp_path_factory.mktemp("var")
    settings = stack_settings(var_dir)
    if not settings.model_file.exists():
        pytest.fail(f"no trained model at {settings.model_file}: the test command runs 'mutuals setup' first")
    with Stack(settings, log_dir=var_dir / "logs") as stack:
        yield stack


def post_json(url: str, body: Any, headers: Dict[str, str] = None, timeout: float = 30) -> tuple:
    """``(status, parsed JSON or text)`` of a POST; HTTP errors are returned, not raised."""
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    data = data.encode() if isinstance(data, str) else data
    request = urllib.request.Request(url, data=data, method="POST",
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            raw = response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read(), exc.code
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode(errors="replace")


def say_rest(stack: Stack, sender: str, message: str) -> List[Dict[str, Any]]:
    status, replies = post_json(f"{stack.settings.rasa_url}/webhooks/rest/webhook",
                                {"sender": sender, "message": message})
    assert status == 200, replies
    return replies
