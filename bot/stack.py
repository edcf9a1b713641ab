"""Starting and stopping the running assistant: the Rasa server, the action server, the web
server and (with a token) the Telegram front end, each a child process on loopback ports."""
from __future__ import annotations

import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import IO, Dict, List, Optional

from bot.settings import ROOT, Settings


class StackError(RuntimeError):
    """A part of the assistant did not start; the message says which and where its log is."""


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def child_env(settings: Settings) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(settings.as_env())
    env.update({
        "MUTUALS_ACTIONS_URL": settings.actions_url,
        "MUTUALS_TRACKER_STORE": settings.tracker_store,
        "RASA_TELEMETRY_ENABLED": "false",
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
        "TOKENIZERS_PARALLELISM": "false",
        "PYTHONUNBUFFERED": "1",
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")])),
        "TF_CPP_MIN_LOG_LEVEL": "2",
        "TICKET_LOCK_LIFETIME": str(settings.turn_lock_seconds),
    })
    return env


@dataclasses.dataclass
class Part:
    name: str
    command: List[str]
    ready_url: str
    process: Optional[subprocess.Popen] = None
    log_path: Optional[Path] = None
    log: Optional[IO] = None


class Stack:
    """``with Stack(settings) as stack: ...`` starts everything and stops it afterwards."""

    def __init__(self, settings: Settings, log_dir: Optional[Path] = None, echo: bool = False,
                 telegram: Optional[bool] = None, startup_timeout: float = 180.0):
        self.settings = settings.with_secrets()
        self.log_dir = Path(log_dir or self.settings.var_dir / "logs")
        self.echo = echo
        self.startup_timeout = startup_timeout
        self.telegram = bool(self.settings.telegram_bot_token) if telegram is None else telegram
        self.parts = self._parts()

    def _parts(self) -> List[Part]:
        s, py = self.settings, sys.executable
        parts = [
            Part("actions", [py, "-m", "bot.action_server"], f"http://{s.host}:{s.actions_port}/health"),
            Part("rasa", [
                py, "-m", "bot.rasa_server", "run", "--model", str(s.model_file),
                "--enable-api", f"--auth-token={s.rasa_token}", "--interface", s.host, "--port", str(s.rasa_port),
                "--credentials", str(ROOT / "credentials.yml"), "--endpoints", str(ROOT / "endpoints.yml"),
                "--response-timeout", str(s.response_timeout_seconds),
            ], f"{s.rasa_url}/webhooks/rest/"),
            Part("web", [py, "-m", "bot.web"], f"http://{s.host}:{s.web_port}/healthz"),
        ]
        if self.telegram:
            parts.append(Part("telegram", [py, "-m", "bot.telegram"], ""))
        return parts

    # ---------------------------------------------------------------------------------

    def start(self) -> "Stack":
        if not self.settings.model_file.exists():
            raise StackError(f"no trained model at {self.settings.model_file}: run 'mutuals setup' first")
        from bot.databases import DatabaseUnreachable, require

        try:
            require(self.settings.tracker_store, "conversation (MUTUALS_TRACKER_STORE_URL)")
            require(self.settings.handoff_store, "handoff case (MUTUALS_HANDOFF_STORE_URL)")
        except DatabaseUnreachable as exc:
            raise StackError(str(exc)) from None
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = child_env(self.settings)
        try:
            for part in self.parts:
                part.log_path = self.log_dir / f"{part.name}.log"
                part.log = None if self.echo else open(part.log_path, "ab")
                part.process = subprocess.Popen(
                    part.command, cwd=ROOT, env=env, stdout=part.log, stderr=subprocess.STDOUT,
                    start_new_session=True)
            for part in self.parts:
                self._wait_ready(part)
        except BaseException:
            self.stop()
            raise
        return self

    def _wait_ready(self, part: Part) -> None:
        if not part.ready_url:
            return
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if part.process.poll() is not None:
                raise StackError(f"the {part.name} server stopped while starting (exit {part.process.returncode});"
                                 f" see {part.log_path}")
            try:
                with urllib.request.urlopen(part.ready_url, timeout=2) as response:
                    if response.status == 200:
                        return
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.3)
        raise StackError(f"the {part.name} server was not ready within {self.startup_timeout:.0f} s; "
                         f"see {part.log_path}")

    def stop(self, timeout: float = 15.0) -> None:
        for part in reversed(self.parts):
            if part.process and part.process.poll() is None:
                try:
                    os.killpg(part.process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for part in self.parts:
            if part.process:
                try:
                    part.process.wait(timeout)
                except subprocess.TimeoutExpired:
                    try:
                        os.killpg(part.process.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                    part.process.wait()
            if part.log:
                part.log.close()
                part.log = None

    def restart(self, name: str) -> None:
        """Stop one part and start it again on the same port (tests of restarts mid-conversation)."""
        part = self.part(name)
        if part.process and part.process.poll() is None:
            os.killpg(part.process.pid, signal.SIGTERM)
            part.process.wait(30)
        part.process = subprocess.Popen(part.command, cwd=ROOT, env=child_env(self.settings), stdout=part.log,
                                        stderr=subprocess.STDOUT, start_new_session=True)
        self._wait_ready(part)

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def wait(self) -> int:
        """Until a part stops or Ctrl-C: the exit code to leave with."""
        try:
            while True:
                for part in self.parts:
                    if part.process.poll() is not None:
                        print(f"\nThe {part.name} server stopped (exit {part.process.returncode}); stopping the rest.",
                              file=sys.stderr)
                        return 1
                time.sleep(0.5)
        except KeyboardInterrupt:
            print("\nStopping…")
            return 0
        finally:
            self.stop()
