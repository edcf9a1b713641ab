"""Rasa's HTTP API is never open: every route but Rasa's hello and version needs the token the
stack generates, and the Rasa and action servers listen on loopback only."""

from __future__ import annotations

import urllib.error
import urllib.request
from pathlib import Path

import pytest

from bot.settings import Settings

pytestmark = pytest.mark.slow

# every route rasa/server.py (3.6) registers, with a body where it wants one
API_ROUTES = [
    ("GET", "/status"),
    ("GET", "/domain"),
    ("GET", "/conversations/someone/tracker"),
    ("POST", "/conversations/someone/tracker/events"),
    ("PUT", "/conversations/someone/tracker/events"),
    ("GET", "/conversations/someone/story"),
    ("POST", "/conversations/someone/execute"),
    ("POST", "/conversations/someone/trigger_intent"),
    ("POST", "/conversations/someone/predict"),
    ("POST", "/conversations/someone/messages"),
    ("POST", "/model/train"),
    ("POST", "/model/test/stories"),
    ("POST", "/model/test/intents"),
    ("POST", "/model/predict"),
    ("POST", "/model/parse"),
    ("PUT", "/model"),
    ("DELETE", "/model"),
]
PUBLIC_IN_RASA = ["/", "/version"]  # Rasa's hello and its version number; nothing else


def call(method: str, url: str, body: bytes = b"{}") -> int:
    request = urllib.request.Request(
        url,
        data=None if method in ("GET", "DELETE") else body,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.parametrize("method,path", API_ROUTES)
def test_every_rasa_api_route_refuses_without_the_token(running_stack, method, path):
    base = running_stack.settings.rasa_url
    assert call(method, base + path) == 401
    assert call(method, base + path + "?token=wrong") == 401
    assert call(method, base + path, b'{"text": "hi"}') == 401


def test_with_the_token_the_api_answers(running_stack):
    s = running_stack.settings
    assert call("GET", f"{s.rasa_url}/status?token={s.rasa_token}") == 200
    assert call("GET", f"{s.rasa_url}/conversations/nobody-yet/tracker?token={s.rasa_token}") == 200


@pytest.mark.parametrize("path", PUBLIC_IN_RASA)
def test_only_rasas_hello_and_version_are_public(running_stack, path):
    assert call("GET", running_stack.settings.rasa_url + path) == 200


def test_the_token_is_generated_long_and_kept_private(running_stack):
    s = running_stack.settings
    path = Path(s.var_dir) / "secrets" / "rasa_token"
    assert len(s.rasa_token) >= 32 and path.read_text().strip() == s.rasa_token
    assert path.stat().st_mode & 0o077 == 0 and path.parent.stat().st_mode & 0o077 == 0
    rasa = running_stack.part("rasa").command
    assert f"--auth-token={s.rasa_token}" in rasa and "--enable-api" in rasa  # "=": a token may start with "-"
    assert "--cors" not in rasa, "no CORS on Rasa: browsers on other sites cannot read its answers"


def listening_addresses(port: int):
    from bot.bench._stack import listening_sockets

    return {address for address, _ in listening_sockets(port)}


def test_defaults_and_the_running_servers_listen_on_loopback_only(running_stack):
    assert Settings.from_env(env={}).host == "127.0.0.1"
    s = running_stack.settings
    loopback = {"0100007F", "00000000000000000000000001000000"}  # 127.0.0.1, ::1
    for name, port in (("rasa", s.rasa_port), ("actions", s.actions_port), ("web", s.web_port)):
        addresses = listening_addresses(port)
        assert addresses and addresses <= loopback, f"the {name} server listens on {addresses}"
