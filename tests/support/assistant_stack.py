"""Talking to a stack of our own from tests: its settings, and the REST channel."""

from __future__ import annotations

import json
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Dict, List

from bot.settings import Settings
from bot.stack import Stack, free_port


def stack_settings(var_dir: Path, **overrides) -> Settings:
    """Settings for a stack of our own: free loopback ports, state in ``var_dir``, the trained model."""
    base = Settings.from_env()
    values = dict(
        host="127.0.0.1",
        rasa_port=free_port(),
        actions_port=free_port(),
        web_port=free_port(),
        var_dir=var_dir,
        models_dir=base.models_dir,
        telegram_bot_token="",
        # every test talks from 127.0.0.1: no per-address limits (tests/security sets its own)
        messages_per_minute_per_address=0,
        socketio_connections_per_address=0,
        # advisers always at work, so a handoff test knows which reply to expect (the closed hours are
        # tested on the action: tests/dialogue/test_handoff_actions.py)
        adviser_hours="Mon-Sun 00:00-24:00",
    )
    values.update(overrides)
    settings = Settings.from_env(env={}, **values)
    seed_index(base, settings)
    return settings


def seed_index(source: Settings, target: Settings) -> None:
    """Give a new stack the index `mutuals setup` built, when it is current for the same guidance
    and model, instead of making its action server embed every passage again at start."""
    from bot.guidance import GuidanceIndex

    pages = target.knowledge_dir / "pages"
    built = source.index_dir
    if target.index_dir.exists() or built == target.index_dir or not GuidanceIndex.is_current(pages, built):
        return
    shutil.copytree(built, target.index_dir)


def post_json(url: str, body: Any, headers: Dict[str, str] = None, timeout: float = 30) -> tuple:
    """``(status, parsed JSON or text)`` of a POST; HTTP errors are returned, not raised."""
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    data = data.encode() if isinstance(data, str) else data
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json", **(headers or {})}
    )
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
    status, replies = post_json(
        f"{stack.settings.rasa_url}/webhooks/rest/webhook", {"sender": sender, "message": message}
    )
    assert status == 200, replies
    return replies


def stored_rows(url: str) -> str:
    """Every row of every table of a database, as one string to search."""
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    out = []
    with engine.connect() as db:
        for table in sa.inspect(engine).get_table_names():
            out += [str(tuple(r)) for r in db.execute(sa.text(f'SELECT * FROM "{table}"'))]
    engine.dispose()
    return "\n".join(out)


def log_text(stack: Stack) -> str:
    """Everything the stack's servers have logged so far."""
    time.sleep(0.5)  # let the servers flush
    return "\n".join(p.read_text(errors="replace") for p in Path(stack.log_dir).glob("*.log"))
