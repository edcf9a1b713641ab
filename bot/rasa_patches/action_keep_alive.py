"""Patch: ``rasa.utils.endpoints.EndpointConfig.session`` and ``rasa.core.run.close_resources``
(both public), wrapped.

Why: Rasa 3.6 opens a new HTTP session, and so a new connection, to the action server for every
custom action. Here ``session()`` hands Rasa's own ``request`` one kept session per event loop and
endpoint, which ``async with`` does not close, whose connections stay open between calls for
``KEEP_ALIVE_SECONDS`` (under the 5 s after which the Rasa SDK's server closes an idle one, so a
kept connection is never one the server is closing). Everything else a request does (headers,
authentication, TLS, timeouts, errors) is Rasa's own code. https endpoints and ones with their
own CA file get Rasa's session as before. ``close_resources`` closes the kept sessions, then
does what Rasa does.
"""

from __future__ import annotations

from ._marks import installed, mark

NAME = "action_keep_alive"
HOW = "wraps"
ATTRIBUTES = ["rasa.utils.endpoints:EndpointConfig.session", "rasa.core.run:close_resources"]
TARGETS = ATTRIBUTES + ["rasa.utils.endpoints:EndpointConfig.request"]
KEEP_ALIVE_SECONDS = 2.0
MAX_KEPT = 16  # endpoints made afresh for each call would otherwise each keep a session


class _Kept:
    """What ``async with config.session() as session`` gets: the kept session, left open after."""

    def __init__(self, session):
        self.session = session

    async def __aenter__(self):
        return self.session

    async def __aexit__(self, *exc_info):
        return None


def install() -> None:
    import asyncio

    import aiohttp
    import rasa.core.run as rasa_run
    import rasa.utils.endpoints as endpoints
    from rasa.utils.endpoints import EndpointConfig

    original = EndpointConfig.session
    if installed(original, NAME):
        return
    sessions = {}  # (loop, id of the EndpointConfig) -> (the config, its session)

    def session(self):
        if self.cafile or not str(self.url or "").startswith("http://"):
            return original(self)
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return original(self)
        key = (loop, id(self))
        entry = sessions.get(key)
        if entry is None or entry[0] is not self or entry[1].closed:
            if len(sessions) >= MAX_KEPT:
                return original(self)
            # the arguments of Rasa's own session(), plus a connector that keeps connections
            auth = (
                aiohttp.BasicAuth(self.basic_auth["username"], self.basic_auth["password"]) if self.basic_auth else None
            )
            kept = aiohttp.ClientSession(
                headers=self.headers,
                auth=auth,
                timeout=aiohttp.ClientTimeout(total=endpoints.DEFAULT_REQUEST_TIMEOUT),
                connector=aiohttp.TCPConnector(limit=0, keepalive_timeout=KEEP_ALIVE_SECONDS),
            )
            entry = sessions[key] = (self, kept)
        return _Kept(entry[1])

    original_close = rasa_run.close_resources

    async def close_resources(app, loop):
        for key in [k for k in sessions if k[0] is loop]:
            await sessions.pop(key)[1].close()
        await original_close(app, loop)

    EndpointConfig.session = mark(session, NAME, original)
    rasa_run.close_resources = mark(close_resources, NAME, original_close)
