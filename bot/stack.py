"""Starting, watching and stopping the running assistant: the Rasa server, the action server, the
web server and (with a token) the Telegram front end, each a child process on loopback ports.

- Before anything starts, :meth:`Stack.start` says in one sentence if another copy runs from the
  same ``var/`` folder (a lock file) or if a port a part needs is taken.
- :meth:`Stack.wait` watches the parts: one that stops is started again after a growing pause
  (1, 2, 4 … 30 s), logged to the terminal and ``var/logs/stack.log``, while the others keep
  serving; it gives up, saying why, after :data:`GIVE_UP_AFTER` failures of one part within
  :data:`FAILURE_WINDOW_SECONDS`.
- :func:`stop_on_signals` turns SIGTERM and SIGHUP into the same clean stop as Ctrl-C.
"""

from __future__ import annotations

import contextlib
import dataclasses
import errno
import fcntl
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import IO, Dict, Iterator, List, Optional

from bot.settings import ROOT, Settings

RESTART_DELAYS = (1.0, 2.0, 4.0, 8.0, 15.0, 30.0)  # seconds before the 1st, 2nd, … restart in a row
FAILURE_WINDOW_SECONDS = 120.0
GIVE_UP_AFTER = 5  # failures of one part within the window


class StackError(RuntimeError):
    """A part of the assistant did not start; the message says which and where its log is."""


class Stopping(KeyboardInterrupt):
    """SIGTERM or SIGHUP arrived: stop as Ctrl-C would."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


_signals = {"stopping": False}  # set once a stop begins: further signals are ignored


@contextlib.contextmanager
def stop_on_signals() -> Iterator[None]:
    """Within this block SIGTERM and SIGHUP raise :class:`Stopping` (a ``KeyboardInterrupt``) as Ctrl-C
    raises ``KeyboardInterrupt``, once: a signal that comes while stopping is ignored, so the stop itself
    is never cut short. Main thread only."""
    _signals["stopping"] = False

    def handler(signum, frame):
        if _signals["stopping"]:
            return
        _signals["stopping"] = True
        raise KeyboardInterrupt if signum == signal.SIGINT else Stopping(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on, for a server the tests, the bench or a cluster start.

    Chosen below the kernel's range for the local ports of outgoing connections
    (``ip_local_port_range``, 32768-60999 by default): a port from that range (what binding port 0
    gives) can be taken as the source port of any connection made before the server binds it, and
    Sanic then logs "Unable to start server" and exits 0 (seen once in CI, on a loaded machine,
    for the action server of a test with PostgreSQL). Falls back to port 0 when that range leaves
    nothing below it."""
    import random

    low = _outgoing_ports_start()
    rng = random.SystemRandom()
    for _ in range(100) if low > 12000 else ():
        port = rng.randrange(10000, low)
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError:
                continue
            return port
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def _outgoing_ports_start() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default; elsewhere a harmless guess


def port_taken(host: str, port: int) -> bool:
    """Whether something already listens on ``host:port`` (a server's own SO_REUSEADDR bind would fail)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as exc:
            return exc.errno == errno.EADDRINUSE
    return False


def child_env(settings: Settings) -> Dict[str, str]:
    env = dict(os.environ)
    env.update(settings.as_env())
    env.update(
        {
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
        }
    )
    return env


def rasa_command(settings: Settings, port: int) -> List[str]:
    """How every Rasa server of the project is started (one machine's stack, each server of a
    cluster): ``bot.rasa_server`` (Rasa with the project's patches) serving the trained model."""
    return [
        sys.executable,
        "-m",
        "bot.rasa_server",
        "run",
        "--model",
        str(settings.model_file),
        "--enable-api",
        f"--auth-token={settings.rasa_token}",
        "--interface",
        settings.host,
        "--port",
        str(port),
        "--credentials",
        str(ROOT / "credentials.yml"),
        "--endpoints",
        str(ROOT / "endpoints.yml"),
        "--response-timeout",
        str(settings.response_timeout_seconds),
    ]


def actions_command(settings: Settings, port: Optional[int] = None) -> List[str]:
    """How every action server is started; without ``port``, on the settings' host and port."""
    command = [sys.executable, "-m", "bot.action_server"]
    return command if port is None else command + ["--host", settings.host, "--port", str(port)]


@dataclasses.dataclass
class Part:
    name: str
    command: List[str]
    ready_url: str
    process: Optional[subprocess.Popen] = None
    log_path: Optional[Path] = None
    log: Optional[IO] = None
    port: Optional[int] = None  # the port it listens on (checked free before starting)
    setting: str = ""  # the variable that chooses that port
    # watching (Stack.wait)
    failures: List[float] = dataclasses.field(default_factory=list)  # when it stopped unexpectedly
    restart_at: Optional[float] = None  # dead: when to start it again
    starting_since: Optional[float] = None  # started again: not yet ready


def _exit_description(code: Optional[int]) -> str:
    if code is not None and code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit {code}"


def _say(text: str, file=None) -> None:
    """Print, but never fail: after SIGHUP the terminal may be gone."""
    try:
        print(text, file=file or sys.stderr, flush=True)
    except (OSError, ValueError):
        pass


class Stack:
    """``with Stack(settings) as stack: ...`` starts everything and stops it afterwards."""

    def __init__(
        self,
        settings: Settings,
        log_dir: Optional[Path] = None,
        echo: bool = False,
        telegram: Optional[bool] = None,
        startup_timeout: float = 180.0,
        die_with_parent: bool = False,
    ):
        self.settings = settings.with_secrets()
        self.log_dir = Path(log_dir or self.settings.var_dir / "logs")
        self.echo = echo
        self.startup_timeout = startup_timeout
        self.telegram = bool(self.settings.telegram_bot_token) if telegram is None else telegram
        # the kernel stops each part if this process dies without stopping them (even by SIGKILL); only for a
        # stack whose parts are started and restarted from the main thread (a part dies with the thread that
        # started it)
        self.die_with_parent = die_with_parent
        self.parts = self._parts()
        self._lock: Optional[IO] = None

    def _parts(self) -> List[Part]:
        s, py = self.settings, sys.executable
        parts = [
            Part(
                "actions",
                actions_command(s),
                f"http://{s.host}:{s.actions_port}/health",
                port=s.actions_port,
                setting="MUTUALS_ACTIONS_PORT",
            ),
            Part(
                "rasa",
                rasa_command(s, s.rasa_port),
                f"{s.rasa_url}/webhooks/rest/",
                port=s.rasa_port,
                setting="MUTUALS_RASA_PORT",
            ),
            Part(
                "web",
                [py, "-m", "bot.web"],
                f"http://{s.host}:{s.web_port}/healthz",
                port=s.web_port,
                setting="MUTUALS_WEB_PORT",
            ),
        ]
        if self.telegram:
            webhook = bool(s.telegram_webhook_url)
            parts.append(
                Part(
                    "telegram",
                    [py, "-m", "bot.telegram"],
                    "",
                    port=s.telegram_webhook_port if webhook else None,
                    setting="TELEGRAM_WEBHOOK_PORT",
                )
            )
        return parts

    def _port_of(self, part: Part) -> Optional[int]:
        if part.port:
            return part.port
        url = urllib.parse.urlsplit(part.ready_url) if part.ready_url else None
        return url.port if url and url.hostname == self.settings.host else None  # a Cluster's parts

    # ---------------------------------------------------------------------------------

    def _take_lock(self) -> None:
        """One running copy per var/ folder: a second would share its databases and secrets."""
        var_dir = self.settings.var_dir
        var_dir.mkdir(parents=True, exist_ok=True)
        lock = open(var_dir / "run.lock", "a+")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.seek(0)
            holder = lock.read().strip() or "unknown"
            lock.close()
            raise StackError(
                f"Mutuals Assistant is already running from {var_dir} (process {holder}); "
                "stop that copy first, or give this one its own MUTUALS_VAR_DIR and ports"
            ) from None
        lock.seek(0)
        lock.truncate()
        lock.write(str(os.getpid()))
        lock.flush()
        self._lock = lock

    def _release_lock(self) -> None:
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.truncate(0)
            self._lock.close()  # closing releases the flock
            self._lock = None

    def _check_ports(self) -> None:
        host = self.settings.host
        for part in self.parts:
            port = self._port_of(part)
            if port and port_taken(host, port):
                change = f"set {part.setting} to another port" if part.setting else "choose other ports"
                raise StackError(
                    f"port {port} on {host}, which the {part.name} server needs, is already in use: "
                    f"stop whatever is using it, or {change}"
                )

    def start(self) -> "Stack":
        self._take_lock()
        try:
            self._check_ports()
            if not self.settings.model_file.exists():
                raise StackError(f"no trained model at {self.settings.model_file}: run 'mutuals setup' first")
            from bot.databases import DatabaseUnreachable, require

            try:
                require(self.settings.tracker_store, "conversation (MUTUALS_TRACKER_STORE_URL)")
                require(self.settings.handoff_store, "handoff case (MUTUALS_HANDOFF_STORE_URL)")
            except DatabaseUnreachable as exc:
                raise StackError(str(exc)) from None
            self.log_dir.mkdir(parents=True, exist_ok=True)
            for part in self.parts:
                self._spawn(part)
            for part in self.parts:
                self._wait_ready(part)
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, part: Part) -> None:
        part.log_path = self.log_dir / f"{part.name}.log"
        if part.log is None and not self.echo:
            part.log = open(part.log_path, "ab")
        part.process = subprocess.Popen(
            part.command,
            cwd=ROOT,
            env=child_env(self.settings),
            stdout=part.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_pdeathsig() if self.die_with_parent else None,
        )

    def _is_ready(self, part: Part) -> bool:
        if not part.ready_url:
            return True
        try:
            with urllib.request.urlopen(part.ready_url, timeout=2) as response:
                return response.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def _wait_ready(self, part: Part) -> None:
        if not part.ready_url:
            return
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if part.process.poll() is not None:
                raise StackError(
                    f"the {part.name} server stopped while starting "
                    f"({_exit_description(part.process.returncode)}); see {part.log_path}"
                )
            if self._is_ready(part):
                return
            time.sleep(0.3)
        raise StackError(
            f"the {part.name} server was not ready within {self.startup_timeout:.0f} s; see {part.log_path}"
        )

    @staticmethod
    def _signal_group(part: Part, sig: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(part.process.pid, sig)  # the part's own session: sanic's or torch's children too

    def stop(self, timeout: float = 15.0) -> None:
        _signals["stopping"] = True
        stopping = [p for p in self.parts if p.process and p.process.poll() is None]
        for part in reversed(stopping):
            self._signal_group(part, signal.SIGTERM)
        for part in stopping:
            try:
                part.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self._signal_group(part, signal.SIGKILL)
                part.process.wait()
            self._signal_group(part, signal.SIGKILL)  # any child that outlived its leader
        for part in self.parts:
            if part.log:
                part.log.close()
                part.log = None
        self._release_lock()

    def restart(self, name: str) -> None:
        """Stop one part and start it again on the same port (tests of restarts mid-conversation)."""
        part = self.part(name)
        if part.process and part.process.poll() is None:
            os.killpg(part.process.pid, signal.SIGTERM)
            part.process.wait(30)
        self._spawn(part)
        self._wait_ready(part)

    def part(self, name: str) -> Part:
        return next(p for p in self.parts if p.name == name)

    def __enter__(self) -> "Stack":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ---- watching ---------------------------------------------------------------------

    def log_event(self, text: str) -> None:
        """A line for whoever runs the stack (stderr) and for later (``stack.log`` beside the parts' logs)."""
        line = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}"
        _say(line)
        with contextlib.suppress(OSError):
            with open(self.log_dir / "stack.log", "a", encoding="utf-8") as log:
                log.write(line + "\n")

    def check_parts(self, now: Optional[float] = None) -> None:
        """One look at every part: restart what stopped, when its pause is over. Raises
        :class:`StackError` when one part failed :data:`GIVE_UP_AFTER` times within the window."""
        now = time.monotonic() if now is None else now
        for part in self.parts:
            if part.restart_at is not None:
                if now >= part.restart_at:
                    part.restart_at = None
                    self._spawn(part)
                    part.starting_since = now
                continue
            code = part.process.poll()
            if code is None and part.starting_since is not None:
                if self._is_ready(part):
                    self.log_event(
                        f"The {part.name} server is back (ready {now - part.starting_since:.1f} s after its restart)."
                    )
                    part.starting_since = None
                elif now - part.starting_since > self.startup_timeout:
                    self._signal_group(part, signal.SIGKILL)
                    part.process.wait()
                    self._failed(part, f"not ready within {self.startup_timeout:.0f} s of its restart", now)
                continue
            if code is not None:
                self._signal_group(part, signal.SIGKILL)  # whatever it left behind holds no port
                self._failed(part, _exit_description(code), now)

    def _failed(self, part: Part, why: str, now: float) -> None:
        part.starting_since = None
        part.failures = [t for t in part.failures if now - t < FAILURE_WINDOW_SECONDS] + [now]
        if len(part.failures) >= GIVE_UP_AFTER:
            raise StackError(
                f"the {part.name} server stopped {len(part.failures)} times within "
                f"{FAILURE_WINDOW_SECONDS:.0f} s (last: {why}), so the assistant is stopping; "
                f"see {part.log_path}"
            )
        delay = RESTART_DELAYS[min(len(part.failures), len(RESTART_DELAYS)) - 1]
        part.restart_at = now + delay
        self.log_event(
            f"The {part.name} server stopped ({why}); starting it again in {delay:g} s "
            f"(failure {len(part.failures)} within {FAILURE_WINDOW_SECONDS:.0f} s; the assistant stops "
            f"at {GIVE_UP_AFTER}); the other parts keep serving. Its log: {part.log_path}"
        )

    def wait(self) -> int:
        """Watch the parts until Ctrl-C (or SIGTERM/SIGHUP under :func:`stop_on_signals`), restarting
        any that stops; the exit code to leave with. Everything is stopped on the way out."""
        try:
            while True:
                self.check_parts()
                time.sleep(0.5)
        except StackError as exc:
            self.log_event(f"Giving up: {exc}.")
            return 1
        except KeyboardInterrupt as exc:
            why = f" ({exc.args[0]})" if isinstance(exc, Stopping) else ""
            _say(f"\nStopping{why}…", file=sys.stdout)
            return 0
        finally:
            self.stop()


def _pdeathsig():
    """A ``preexec_fn`` asking the kernel to send the child SIGTERM when its parent dies (Linux)."""
    import ctypes

    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up here, not in the forked child
    PR_SET_PDEATHSIG = 1

    def in_child() -> None:
        prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))

    return in_child
