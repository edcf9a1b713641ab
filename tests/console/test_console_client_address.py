"""The address the console's sign-in throttling counts failures against: behind our own reverse
proxies (MUTUALS_TRUST_PROXY) the one the outermost proxy saw, never what the client wrote into
X-Forwarded-For itself, read exactly as the public channels read it (bot/addresses.py)."""

from __future__ import annotations

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from bot.addresses import client_address
from bot.console._routes import _client
from bot.settings import Settings
from bot.web.rendering import SETTINGS_KEY


def request_from(peer: str, forwarded: str, trust_proxy: int) -> web.Request:
    app = web.Application()
    app[SETTINGS_KEY] = Settings.from_env(env={}, trust_proxy=trust_proxy)
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    transport = type(
        "Transport",
        (),
        {"get_extra_info": lambda self, name, default=None: (peer, 40000) if name == "peername" else default},
    )()
    return make_mocked_request("POST", "/console/login", headers=headers, app=app, transport=transport)


@pytest.mark.parametrize(
    "peer, forwarded, trust_proxy, address",
    [
        ("127.0.0.1", "6.6.6.6, 203.0.113.7", 1, "203.0.113.7"),  # the client claimed 6.6.6.6; our proxy saw .7
        ("127.0.0.1", "6.6.6.6, 203.0.113.7", 2, "6.6.6.6"),  # two proxies of ours: the first saw 6.6.6.6
        ("127.0.0.1", "203.0.113.7", 3, "203.0.113.7"),  # fewer hops than proxies: the first there is
        ("127.0.0.1", "", 1, "127.0.0.1"),  # no header: the peer
        ("198.51.100.9", "6.6.6.6", 0, "198.51.100.9"),  # no proxy of ours: the header is the client's word only
    ],
)
def test_sign_in_failures_count_against_the_address_our_proxy_saw(peer, forwarded, trust_proxy, address):
    request = request_from(peer, forwarded, trust_proxy)
    assert _client(request) == address
    assert client_address(peer, request.headers, trust_proxy) == address  # the channels' reading
