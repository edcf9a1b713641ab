"""Patch (python-socketio 5.9, per server): what ``AsyncServer._handle_eio_connect`` does at the
first connection, ``manager.initialize()`` behind the ``manager_initialized`` flag, done before
the Sanic server starts instead, then waiting until Redis confirms the subscription.

Why: python-socketio subscribes to the Redis message queue at the first connection; whatever
other servers, and this one, publish before the subscription lands is lost, and under load that
was the first ``session_confirm`` or reply of the first widgets to connect. Applied by
bot/channels/socketio.py to the server it builds (``subscribe_before_serving``), only when the
server has a Redis manager.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

NAME = "socketio_queue"
HOW = "does python-socketio's own first-connection step earlier"
ATTRIBUTES: list = []  # nothing global is changed
TARGETS = [
    "socketio.asyncio_server:AsyncServer._handle_eio_connect",
    "socketio.asyncio_pubsub_manager:AsyncPubSubManager.initialize",
    "socketio.asyncio_redis_manager:AsyncRedisManager._redis_connect",
    "socketio.asyncio_redis_manager:AsyncRedisManager._redis_listen_with_retries",
]
logger = logging.getLogger("bot.channels.socketio")


async def subscribe_before_serving(sio: Any, attempts: int = 200, pause: float = 0.05) -> None:
    """Initialise ``sio``'s message queue now and wait (up to ``attempts * pause`` s) until it is
    subscribed; a second call, or the first connection after it, does nothing more."""
    from . import check_versions

    check_versions()
    if sio.manager_initialized:
        return
    sio.manager_initialized = True
    sio.manager.initialize()
    pubsub = getattr(sio.manager, "pubsub", None)
    for _ in range(attempts):  # the listening task sends SUBSCRIBE as soon as it runs
        if pubsub is None or pubsub.subscribed:
            return
        await asyncio.sleep(pause)
    logger.warning("socketio: not yet subscribed to the message queue after %.0f s; carrying on", attempts * pause)
