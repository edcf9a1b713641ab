"""Several Rasa servers and action servers at once, each on its own port: what one machine of a
scaled-out deployment runs, and what the scale-out test starts (README "Scaling out").

``Cluster(settings, rasa_ports=[5005, 5006], actions_ports=[5055, 5056])`` is a
:class:`bot.stack.Stack` whose parts are ``rasa-1 … rasa-N``, ``actions-1 … actions-M``, the web
server and (with a token) the Telegram front end. Several Rasa servers must share:

- the tracker store (``MUTUALS_TRACKER_STORE_URL``, PostgreSQL) and the handoff store;
- a Redis lock store (``MUTUALS_LOCK_STORE_URL``), so one conversation runs one turn at a time
  whichever server gets it;
- a Redis message queue for socket.io (``MUTUALS_SOCKETIO_QUEUE_URL``), so a reply or an
  adviser's message reaches a widget whichever server holds its socket.

A load balancer in front sends each widget's socket.io requests to one server (sticky sessions)
and anything else to any; :func:`nginx_config` writes one for nginx. Rasa servers reach the
action servers through ``MUTUALS_ACTION_SERVER_URL`` (a balancer) when it is set, else Rasa
server *i* uses action server *i mod M*. Action servers keep no state between calls.

``python -m bot.cluster --rasa 2 --actions 2`` runs one on consecutive ports from the settings';
``python -m bot.cluster --part rasa`` runs one part in the foreground, as a container does.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path
from typing import List, Optional, Sequence

from bot.settings import ROOT, Settings
from bot.stack import Part, Stack, StackError, actions_command, rasa_command


class Cluster(Stack):
    def __init__(
        self, settings: Settings, rasa_ports: Sequence[int], actions_ports: Sequence[int], web: bool = True, **kwargs
    ):
        if not rasa_ports or not actions_ports:
            raise StackError("a cluster needs at least one Rasa server and one action server")
        self.rasa_ports, self.actions_ports, self.web = list(rasa_ports), list(actions_ports), web
        if len(self.rasa_ports) > 1:
            missing = [
                name
                for name, value in (
                    ("MUTUALS_LOCK_STORE_URL", settings.lock_store_url),
                    ("MUTUALS_SOCKETIO_QUEUE_URL", settings.socketio_queue_url),
                )
                if not value
            ]
            if missing:
                raise StackError(
                    f"several Rasa servers need shared Redis: set {' and '.join(missing)} (redis://host:6379/0)"
                )
            if settings.tracker_store.startswith("sqlite"):
                raise StackError(
                    "several Rasa servers need a tracker store they share: set "
                    "MUTUALS_TRACKER_STORE_URL to a PostgreSQL URL"
                )
        super().__init__(settings, **kwargs)

    def _parts(self) -> List[Part]:
        s, py = self.settings, sys.executable
        parts = []
        for i, port in enumerate(self.actions_ports, 1):
            parts.append(Part(f"actions-{i}", actions_command(s, port), f"http://{s.host}:{port}/health"))
        for i, port in enumerate(self.rasa_ports, 1):
            env = []
            if not s.action_server_url:  # no balancer: spread the Rasa servers over the action servers
                actions_port = self.actions_ports[(i - 1) % len(self.actions_ports)]
                env = ["env", f"MUTUALS_ACTIONS_URL=http://{s.host}:{actions_port}/webhook"]
            parts.append(Part(f"rasa-{i}", env + rasa_command(s, port), f"http://{s.host}:{port}/webhooks/rest/"))
        if self.web:
            parts.append(Part("web", [py, "-m", "bot.web"], f"http://{s.host}:{s.web_port}/healthz"))
        if self.telegram:
            parts.append(Part("telegram", [py, "-m", "bot.telegram"], ""))
        return parts

    def rasa_urls(self) -> List[str]:
        return [f"http://{self.settings.host}:{port}" for port in self.rasa_ports]

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Stop one part abruptly, as a crash would (tests of failover); the rest go on."""
        part = self.part(name)
        if part.process and part.process.poll() is None:
            os.killpg(part.process.pid, sig)
            part.process.wait(30)


def nginx_config(
    prefix: Path,
    listen: str,
    rasa: Sequence[str],
    web: Optional[str] = None,
    internal_listen: Optional[str] = None,
    actions: Sequence[str] = (),
    actions_listen: Optional[str] = None,
    user: Optional[str] = None,
    show_upstream: bool = False,
) -> str:
    """An nginx.conf for a cluster (``nginx -p PREFIX -c PREFIX/nginx.conf``; pid, logs and
    temporary files under ``prefix``).

    ``listen`` is the public address: ``/socket.io/`` goes to the Rasa servers with sticky
    sessions (``ip_hash``: a socket.io session lives on the server that shook hands with it),
    ``/webhooks/rest/`` to the least busy Rasa server (and to another if that one fails
    mid-message: the request id makes it safe), anything else to the web server. The Rasa
    HTTP API and the relay are not public: ``internal_listen`` serves all of Rasa to the web
    server and the Telegram front end, ``actions_listen`` balances the action servers.
    ``show_upstream`` (tests only: it tells the world internal addresses) names the Rasa server
    of each socket.io response in an ``X-Upstream`` header."""

    def servers(addresses: Sequence[str]) -> str:
        return "".join(f"    server {a} max_fails=1 fail_timeout=10s;\n" for a in addresses)

    proxy = (
        "    proxy_http_version 1.1;\n"
        "    proxy_set_header Host $host;\n"
        "    proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;\n"
        "    proxy_set_header X-Forwarded-Proto $scheme;\n"
    )
    keep = '    proxy_set_header Connection "";\n'
    # a message to a server that dies mid-turn is sent to the other: safe, because it carries the
    # same request id to both and a Rasa server answers a repeated id from the stored turn
    # (bot/channels/_message_ids.py); the second server first waits out the dead one's lock
    retry = (
        "    proxy_set_header X-Request-ID $mutuals_request_id;\n"
        "    proxy_next_upstream error timeout non_idempotent;\n"
        "    proxy_next_upstream_tries 2;\n"
        "    proxy_read_timeout 150s;\n"
    )
    out = [
        f"user {user};\n" if user else "",
        "worker_processes auto;\n",
        f"pid {prefix}/nginx.pid;\n",
        f"error_log {prefix}/error.log warn;\n",
        "events { worker_connections 4096; }\n",
        "http {\n",
        "  access_log off;\n",
        "".join(
            f"  {kind}_temp_path {prefix}/{kind}_temp;\n"
            for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
        ),
        "  client_max_body_size 1m;\n  client_body_buffer_size 1m;\n",
        "  map $http_upgrade $connection_upgrade { default upgrade; '' ''; }\n",
        "  map $http_x_request_id $mutuals_request_id { default $http_x_request_id; '' $request_id; }\n",
        "  upstream rasa_sticky {\n    ip_hash;\n" + servers(rasa) + "  }\n",
        "  upstream rasa_any {\n    least_conn;\n"
        + servers(rasa)
        + "    keepalive 32;\n    keepalive_timeout 4s;\n  }\n",
    ]
    if web:
        out.append("  upstream web {\n" + servers([web]) + "    keepalive 8;\n    keepalive_timeout 4s;\n  }\n")
    if actions:
        out.append(
            "  upstream actions {\n    least_conn;\n"
            + servers(actions)
            + "    keepalive 32;\n    keepalive_timeout 4s;\n  }\n"
        )
    out.append(
        f"  server {{\n    listen {listen};\n"
        "    location /socket.io/ {\n      proxy_pass http://rasa_sticky;\n"
        + _indent(proxy)
        + "      proxy_set_header Upgrade $http_upgrade;\n"
        "      proxy_set_header Connection $connection_upgrade;\n"
        "      proxy_buffering off;\n      proxy_read_timeout 120s;\n"
        + ("      add_header X-Upstream $upstream_addr always;\n" if show_upstream else "")
        + "    }\n"
        "    location /webhooks/rest/ {\n      proxy_pass http://rasa_any;\n"
        + _indent(proxy + keep + retry)
        + "    }\n"
        + (
            "    location / {\n      proxy_pass http://web;\n" + _indent(proxy + keep) + "    }\n"
            if web
            else "    location / { return 404; }\n"
        )
        + "  }\n"
    )
    if internal_listen:
        out.append(
            f"  server {{\n    listen {internal_listen};\n"
            "    location /webhooks/ {\n      proxy_pass http://rasa_any;\n" + _indent(proxy + keep + retry) + "    }\n"
            "    location / {\n      proxy_pass http://rasa_any;\n"
            + _indent(proxy + keep)
            + "      proxy_read_timeout 60s;\n    }\n  }\n"
        )
    if actions and actions_listen:
        out.append(
            f"  server {{\n    listen {actions_listen};\n"
            "    location / {\n      proxy_pass http://actions;\n" + _indent(proxy + keep) + "    }\n  }\n"
        )
    out.append("}\n")
    return "".join(out)


def _indent(block: str) -> str:
    return "".join("  " + line + "\n" for line in block.splitlines())


def run_part(settings: Settings, name: str) -> int:
    """Become one part of the assistant (``rasa``, ``actions``, ``web`` or ``telegram``) with the
    environment the stack would give it: what each container of a deployment runs (deploy/)."""
    from bot.stack import child_env

    missing = [
        key
        for key, value in (("MUTUALS_RASA_TOKEN", settings.rasa_token), ("MUTUALS_RELAY_TOKEN", settings.relay_token))
        if not value
    ]
    if missing:  # generated per machine otherwise, and then the parts could not talk to each other
        print(f"Set {' and '.join(missing)}: every part of a deployment must share them.", file=sys.stderr)
        return 2
    parts = {p.name: p for p in Stack(settings, telegram=True).parts}
    if name not in parts:
        print(f"No part called {name!r}: one of {', '.join(parts)}.", file=sys.stderr)
        return 2
    command = parts[name].command
    os.chdir(ROOT)
    os.execve(command[0], command, child_env(settings))
    return 0  # not reached


def main(argv: Optional[Sequence[str]] = None) -> int:
    settings = Settings.from_env()
    parser = argparse.ArgumentParser(prog="python -m bot.cluster", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rasa", type=int, default=2, help="Rasa servers, on MUTUALS_RASA_PORT and up")
    parser.add_argument("--actions", type=int, default=2, help="action servers, on MUTUALS_ACTIONS_PORT and up")
    parser.add_argument("--no-web", action="store_true", help="leave the web server to another machine")
    parser.add_argument(
        "--part",
        choices=["rasa", "actions", "web", "telegram"],
        help="run only this part, in the foreground (one container of a deployment)",
    )
    args = parser.parse_args(argv)
    if args.part:
        return run_part(settings, args.part)
    cluster = Cluster(
        settings,
        [settings.rasa_port + i for i in range(args.rasa)],
        [settings.actions_port + i for i in range(args.actions)],
        web=not args.no_web,
    )
    try:
        cluster.start()
    except StackError as exc:
        print(f"Could not start: {exc}", file=sys.stderr)
        return 1
    print(
        "Running: " + ", ".join(p.name for p in cluster.parts) + f". Logs in {cluster.log_dir}/. Ctrl-C stops.",
        flush=True,
    )
    return cluster.wait()


if __name__ == "__main__":
    sys.exit(main())
