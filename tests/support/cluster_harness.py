"""A scaled-out assistant on one machine for tests: real PostgreSQL and Redis, two Rasa servers
and two action servers (bot.cluster), the web server, and nginx in front of them."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import socket
import subprocess
import time
from pathlib import Path
from typing import Iterator, List

from tests.support.assistant_stack import stack_settings
from bot.cluster import Cluster, nginx_config
from bot.settings import Settings
from bot.stack import free_port
from tests.support.servers import postgres_server, redis_server

NGINX = "/usr/sbin/nginx"


@dataclasses.dataclass
class RunningCluster:
    cluster: Cluster
    settings: Settings
    public_url: str  # nginx: socket.io (sticky), the REST channel, the web server
    internal_url: str  # nginx: all of Rasa (its HTTP API), for the web server
    database_url: str
    redis_url: str
    nginx_dir: Path

    @property
    def rasa_urls(self) -> List[str]:
        return self.cluster.rasa_urls()

    @property
    def rasa_names(self) -> List[str]:
        return [f"rasa-{i}" for i in range(1, len(self.cluster.rasa_ports) + 1)]


def wait_for_port(port: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return
        time.sleep(0.1)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def cluster_limits() -> dict:
    """The channels' limits for the load test: every per-address, per-conversation or per-minute
    limit raised far above what one load-test machine reaches (its 200 conversations come from
    40 loopback addresses), and the one proxy in front (nginx) trusted for the client's address,
    as a deployment behind nginx would have it."""
    import dataclasses as dc

    out = {}
    for field in dc.fields(Settings):
        name = field.name
        if field.type not in ("int", "float", int, float):
            continue
        if any(
            word in name
            for word in ("per_minute", "per_second", "per_address", "per_conversation", "rate_limit", "limit")
        ):
            out[name] = 1_000_000
        if name == "trust_proxy":
            out[name] = 1
    # 200 conversations at once on 2 cores queue turns for many seconds: the test is about losing
    # and doubling nothing, not about the 5 s after which a slow action gets the "trouble" reply
    out["action_timeout_seconds"] = 60.0
    return out


@contextlib.contextmanager
def nginx(prefix: Path, config: str) -> Iterator[subprocess.Popen]:
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "nginx.conf").write_text(config)
    process = subprocess.Popen(
        [NGINX, "-p", str(prefix), "-c", str(prefix / "nginx.conf"), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=open(prefix / "stderr.log", "wb"),
    )
    try:
        yield process
    finally:
        process.terminate()  # TERM: nginx stops at once (QUIT would wait for long polls)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def running_cluster(tmp: Path, rasa_servers: int = 2, action_servers: int = 2) -> Iterator[RunningCluster]:
    with postgres_server() as database, redis_server() as redis:
        rasa_ports = [free_port() for _ in range(rasa_servers)]
        actions_ports = [free_port() for _ in range(action_servers)]
        public, internal, actions_lb = free_port(), free_port(), free_port()
        settings = stack_settings(
            tmp / "var",
            rasa_port=rasa_ports[0],
            tracker_store_url=database,
            handoff_store_url=database,
            lock_store_url=f"{redis}/0",
            socketio_queue_url=f"{redis}/0",
            rasa_server_url=f"http://127.0.0.1:{internal}",
            action_server_url=f"http://127.0.0.1:{actions_lb}",
            public_rasa_url=f"http://127.0.0.1:{public}",
            **cluster_limits(),
        )
        config = nginx_config(
            tmp / "nginx",
            listen=f"127.0.0.1:{public}",
            rasa=[f"127.0.0.1:{p}" for p in rasa_ports],
            web=f"127.0.0.1:{settings.web_port}",
            internal_listen=f"127.0.0.1:{internal}",
            actions=[f"127.0.0.1:{p}" for p in actions_ports],
            actions_listen=f"127.0.0.1:{actions_lb}",
            user="root" if os.geteuid() == 0 else None,
            show_upstream=True,
        )
        with nginx(tmp / "nginx", config):
            wait_for_port(public)
            cluster = Cluster(settings, rasa_ports, actions_ports, log_dir=tmp / "logs", startup_timeout=300)
            with cluster:
                yield RunningCluster(
                    cluster,
                    cluster.settings,
                    f"http://127.0.0.1:{public}",
                    f"http://127.0.0.1:{internal}",
                    database,
                    redis,
                    tmp / "nginx",
                )
