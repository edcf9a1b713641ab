"""An aiohttp app served on a loopback port from a thread of its own, for browser tests that need
only the web server (or a stand-in for Rasa's HTTP API), not the whole stack."""

from __future__ import annotations

import asyncio
import threading

from aiohttp import web

from bot.settings import Settings


class AppServer:
    """``with AppServer(app, port):`` serves ``app`` on 127.0.0.1:``port`` until the block ends."""

    def __init__(self, app: web.Application, port: int):
        self.app, self.port = app, port
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.runner = web.AppRunner(self.app)
        self.loop.run_until_complete(self.runner.setup())
        self.loop.run_until_complete(web.TCPSite(self.runner, "127.0.0.1", self.port).start())
        self.ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self.runner.cleanup())

    def __enter__(self) -> "AppServer":
        self.thread.start()
        assert self.ready.wait(30), f"the app did not start on port {self.port}"
        return self

    def __exit__(self, *exc) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(30)


class WebServer(AppServer):
    """bot.web's app (the public pages, the widget's files and the console) for ``settings``."""

    def __init__(self, settings: Settings):
        from bot.web.app import create_app

        self.settings = settings
        super().__init__(create_app(settings), settings.web_port)
