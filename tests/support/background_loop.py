"""An asyncio loop in a thread of its own, so synchronous tests (and hypothesis) can drive async
servers and clients: ``loop.run(coroutine)`` waits for the result."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Awaitable


class BackgroundLoop:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Awaitable[Any], timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()
