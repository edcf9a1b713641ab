"""The action server's part of the gap page: ``POST /insights/refresh`` embeds the misses not yet
embedded, with the model and index it already holds, and groups them (bot/insights/_gaps.py).
The web server asks for it when the gap page opens; one refresh runs at a time, off the event loop."""

from __future__ import annotations

import asyncio
import logging

logger = logging.getLogger(__name__)


def add_insights_routes(app, get_desk, store_url: str) -> None:
    from sanic import response

    from ._gaps import refresh
    from ._record import miss_store

    lock = asyncio.Lock()

    @app.post("/insights/refresh")
    async def insights_refresh(request):
        async with lock:
            try:
                done = await asyncio.to_thread(refresh, miss_store(store_url), get_desk())
            except Exception as exc:
                logger.exception("insights: grouping the missed questions failed")
                return response.json({"error": exc.__class__.__name__}, status=500)
        return response.json(done)
