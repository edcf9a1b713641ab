"""Real servers for tests (PostgreSQL, Redis), from Debian's packages, on free loopback ports;
each stops itself when its fixture ends."""
from __future__ import annotations

import contextlib
import glob
import os
import shutil
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


@contextlib.contextmanager
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL cluster; yields the SQLAlchemy URL of an empty database."""
    bindir = postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="mutuals-pg-"))
    data, sockets = root / "data", root / "sockets"
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres"); shutil.chown(sockets, "postgres")
    port = free_port()
    subprocess.run(_as_postgres_user([str(bindir / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres",
                                      "--no-sync"]), check=True, capture_output=True)
    subprocess.run(_as_postgres_user([
        str(bindir / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-t", "60", "start", "-o",
        f"-p {port} -c listen_addresses=127.0.0.1 -k {sockets} -c fsync=off"]), check=True, capture_output=True)
    try:
        subprocess.run(_as_postgres_user([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U",
                                          "postgres", "mutuals"]), check=True, capture_output=True)
        yield f"postgresql://postgres@127.0.0.1:{port}/mutuals"
    finally:
        subprocess.run(_as_postgres_user([str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"]),
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@contextlib.contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway Redis on loopback; yields its port as a string URL ``redis://127.0.0.1:PORT``."""
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                import socket

                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            time.sleep(0.1)
        yield f"redis://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)
