"""Headless Chromium (Debian's, driven by Selenium through /usr/bin/chromedriver) for the web
chat widget's tests, and a stand-in "other site" that embeds the widget from another origin."""
from __future__ import annotations

import functools
import http.server
import shutil
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from bot.stack import free_port
from widget_page import make_driver


@pytest.fixture
def browser_factory(tmp_path) -> Iterator[Callable]:
    """``browser_factory(width=, height=)``: a fresh Chromium (own profile), quit afterwards."""
    drivers = []

    def factory(width: int = 1024, height: int = 768):
        profile = tmp_path / f"profile-{len(drivers)}"
        profile.mkdir()
        driver = make_driver(profile, width, height)
        drivers.append(driver)
        return driver

    yield factory
    for driver in drivers:
        try:
            driver.quit()
        except Exception:
            pass
    for profile in tmp_path.glob("profile-*"):
        shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture
def browser(browser_factory):
    return browser_factory()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="session")
def other_site(tmp_path_factory):
    """A static site on its own loopback port (another origin than the web server and Rasa),
    with no CSP: ``other_site.add(name, html)`` returns the page's URL."""
    root = tmp_path_factory.mktemp("other-site")
    port = free_port()
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()

    class Site:
        url = f"http://127.0.0.1:{port}"

        def add(self, name: str, html: str) -> str:
            (root / name).write_text(html)
            return f"{self.url}/{name}"

        def copy(self, source: Path, name: str = "") -> str:
            shutil.copyfile(source, root / (name or source.name))
            return f"{self.url}/{name or source.name}"

    yield Site()
    server.shutdown()
    server.server_close()
