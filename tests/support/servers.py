"""Real servers for tests (PostgreSQL, Redis), from Debian's packages, on free loopback ports;
each stops itself when its fixture ends."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Iterator, List

from bot.stack import free_port


def _as_postgres_user(command: List[str]) -> List[str]:
    return ["runuser", "-u", "postgres", "--"] + command if os.geteuid() == 0 else command


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        raise RuntimeError("PostgreSQL is not installed: scripts/test-system-packages.sh installs it")
    return Path(found[-1]).parent


class RedisProcess:
    """Debian's redis-server on a loopback port of its own, which a test may stop and start again
    on the same port (``redis_server`` below picks a new port each time)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> "RedisProcess":
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return self
            time.sleep(0.05)
        raise RuntimeError(f"redis-server did not start on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(10)
            self.process = None


class PostgresServer:
    """A throwaway PostgreSQL cluster on a free loopback port, which a test may stop and start."""

    def __init__(self):
        self.bindir = postgres_bin()
        self.root = Path(tempfile.mkdtemp(prefix="mutuals-pg-"))
        self.data, self.sockets = self.root / "data", self.root / "sockets"
        self.sockets.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
            shutil.chown(self.sockets, "postgres")
        self.port = free_port()
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/mutuals"

    def _run(self, tool: str, *args: str) -> None:
        subprocess.run(
            _as_postgres_user([str(self.bindir / tool), *args]), check=True, capture_output=True, timeout=120
        )

    def start(self) -> None:
        self._run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-l",
            str(self.root / "log"),
            "-w",
            "-t",
            "60",
            "start",
            "-o",
            f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.sockets} -c fsync=off",
        )

    def stop(self, mode: str = "fast") -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", mode, "stop")

    def __enter__(self) -> "PostgresServer":
        self._run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self._run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "mutuals")
        return self

    def __exit__(self, *exc) -> None:
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields the SQLAlchemy URL of an empty database."""
    with PostgresServer() as server:
        yield server.url


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway Redis on loopback; yields its port as a string URL ``redis://127.0.0.1:PORT``."""
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
