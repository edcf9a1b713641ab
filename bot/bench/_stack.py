"""A stack of the bench's own (free loopback ports, state in a temporary folder), and reading
the servers' memory from /proc."""

from __future__ import annotations

import dataclasses
import os
import shutil
import time
from pathlib import Path
from typing import Dict, List, Optional

from bot.settings import ROOT, Settings
from bot.stack import Part, Stack, free_port


def bench_settings(var_dir: Path, base: Optional[Settings] = None, **overrides) -> Settings:
    """Settings for a stack of the bench's own: free loopback ports, state in ``var_dir``, the
    trained model, and the current index copied in (so the action server does not rebuild it)."""
    base = base or Settings.from_env()
    values = dict(
        host="127.0.0.1",
        rasa_port=free_port(),
        actions_port=free_port(),
        web_port=free_port(),
        var_dir=Path(var_dir),
        models_dir=base.models_dir,
        knowledge_dir=base.knowledge_dir,
        telegram_bot_token="",
        # every simulated person and widget comes from 127.0.0.1: no per-address limits
        messages_per_minute_per_address=0,
        socketio_connections_per_address=0,
    )
    values.update(overrides)
    settings = dataclasses.replace(base, **values)
    if base.index_dir.exists() and not settings.index_dir.exists():
        shutil.copytree(base.index_dir, settings.index_dir)
    return settings


class TimedStack(Stack):
    """:class:`bot.stack.Stack` that records when each part answered its ready URL, and can run
    Rasa with the in-memory tracker store or the actions with a chosen embedder."""

    def __init__(self, settings: Settings, tracker_store: str = "sql", embedder: str = "auto", **kwargs):
        self.tracker_store_kind = tracker_store
        self.embedder_kind = embedder
        self.ready_seconds: Dict[str, float] = {}
        self._started_at = 0.0
        # the action server embeds with this backend (MUTUALS_EMBEDDER in its environment: bot.stack.child_env)
        super().__init__(dataclasses.replace(settings, embedder=embedder), telegram=False, **kwargs)

    def _parts(self) -> List[Part]:
        parts = super()._parts()
        if self.tracker_store_kind == "memory":
            endpoints = Path(self.log_dir) / "endpoints-memory.yml"
            endpoints.parent.mkdir(parents=True, exist_ok=True)
            text = (ROOT / "endpoints.yml").read_text()
            head, _, rest = text.partition("tracker_store:")
            tail = rest[rest.index("\nlock_store:") :] if "\nlock_store:" in rest else ""
            endpoints.write_text(head + "tracker_store:\n  type: in_memory\n" + tail)
            rasa = next(p for p in parts if p.name == "rasa")
            i = rasa.command.index("--endpoints")
            rasa.command[i + 1] = str(endpoints)
        return parts

    def start(self) -> "TimedStack":
        self._started_at = time.monotonic()
        super().start()
        self.ready_seconds["all"] = time.monotonic() - self._started_at
        return self

    def _wait_ready(self, part: Part) -> None:
        super()._wait_ready(part)
        self.ready_seconds[part.name] = time.monotonic() - self._started_at

    def pids(self) -> Dict[str, int]:
        return {p.name: p.process.pid for p in self.parts if p.process}


def process_tree(pid: int) -> List[int]:
    """``pid`` and its descendants (sanic may fork workers)."""
    out, todo = [], [pid]
    while todo:
        current = todo.pop()
        out.append(current)
        for task in Path(f"/proc/{current}/task").glob("*"):
            try:
                todo.extend(int(c) for c in (task / "children").read_text().split())
            except OSError:
                pass
    return out


def memory(pid: int) -> Dict[str, float]:
    """Peak (VmHWM) and current (VmRSS) resident memory in MB, summed over the process tree."""
    peak = now = 0.0
    for p in process_tree(pid):
        try:
            status = Path(f"/proc/{p}/status").read_text()
        except OSError:
            continue
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                peak += int(line.split()[1]) / 1024
            elif line.startswith("VmRSS:"):
                now += int(line.split()[1]) / 1024
    return {"peak_rss_mb": round(peak, 1), "rss_mb": round(now, 1)}


def listening_sockets(port: int):
    """``(address in /proc's hex form, socket inode)`` of every socket listening on a TCP port of
    this machine, read from /proc/net/tcp and tcp6."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if len(fields) > 9 and fields[3] == "0A":  # 0A: LISTEN
                address, hex_port = fields[1].rsplit(":", 1)
                if int(hex_port, 16) == port:
                    yield address, fields[9]


def pid_listening_on(port: int) -> Optional[int]:
    """The process listening on a TCP port of this machine (to read the memory of a stack the
    bench did not start); ``None`` if it cannot be seen."""
    inodes = {inode for _, inode in listening_sockets(port)}
    if not inodes:
        return None
    wanted = {f"socket:[{i}]" for i in inodes}
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) in wanted:
                    return int(proc.name)
        except OSError:
            continue
    return None
