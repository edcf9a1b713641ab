"""Headless Chromium for the browser tests (Debian's, through /usr/bin/chromedriver), a static
site on another origin, and the chat widget as a test sees it in the browser (a small page
object). The fixtures built on them (browser_factory, browser, other_site) are in tests/conftest.py."""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
import time
from pathlib import Path
from typing import Callable, List, Optional

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bot.stack import free_port

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def make_driver(user_data_dir: Path, width: int = 1024, height: int = 768):
    if not (os.path.exists(CHROMIUM) and os.path.exists(CHROMEDRIVER)):
        pytest.fail(
            "the browser tests need Debian's chromium and chromium-driver "
            "(scripts/test-system-packages.sh installs them)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={user_data_dir}")
    options.add_argument(f"--window-size={width},{height}")
    options.add_argument("--lang=en-GB")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(30)
    return driver


def wait_for(condition: Callable[[], object], timeout: float = 30.0, message: str = "", interval: float = 0.1):
    """Poll ``condition`` until it returns something truthy; that value, or a failed test."""
    deadline = time.monotonic() + timeout
    last_error: Optional[BaseException] = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # stale elements and the like: try again
            last_error = exc
        time.sleep(interval)
    pytest.fail(
        f"timed out after {timeout}s waiting for {message or condition}"
        + (f" (last error: {last_error!r})" if last_error else "")
    )


class Browsers:
    """``browsers(width=, height=)``: a fresh Chromium with a profile of its own under ``folder``;
    ``quit_all()`` closes every one it started and removes their profiles."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.drivers: List = []

    def __call__(self, width: int = 1024, height: int = 768):
        profile = self.folder / f"profile-{len(self.drivers)}"
        profile.mkdir()
        driver = make_driver(profile, width, height)
        self.drivers.append(driver)
        return driver

    def quit_all(self) -> None:
        for driver in self.drivers:
            try:
                driver.quit()
            except Exception:
                pass
        for profile in self.folder.glob("profile-*"):
            shutil.rmtree(profile, ignore_errors=True)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:
        pass


class OtherSite:
    """A static site on its own loopback port (another origin than the web server and Rasa), with
    no CSP, serving ``root``: ``add(name, html)`` and ``copy(source, name)`` return the file's URL."""

    def __init__(self, root: Path):
        self.root = root
        port = free_port()
        handler = functools.partial(_QuietHandler, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
        self.url = f"http://127.0.0.1:{port}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, name: str, html: str) -> str:
        (self.root / name).write_text(html)
        return f"{self.url}/{name}"

    def copy(self, source: Path, name: str = "") -> str:
        target = self.root / (name or source.name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return f"{self.url}/{name or source.name}"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "widget.png"
LAUNCHER = "#mutuals-widget-launcher"
PANEL = "#mutuals-widget-panel"
INPUT = "#mutuals-widget-input"
LOG = ".mw-log"


class Chat:
    def __init__(self, driver, timeout: float = 60.0):
        self.driver = driver
        self.timeout = timeout

    def find(self, css: str):
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> List:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    # -------------------------------------------------------------- state
    def launcher_shown(self) -> bool:
        found = self.find_all(LAUNCHER)
        return bool(found) and found[0].is_displayed()

    def is_open(self) -> bool:
        found = self.find_all(PANEL)
        return bool(found) and found[0].is_displayed()

    def connection(self) -> str:
        return self.find(".mw-root").get_attribute("data-connection") or ""

    def status(self) -> str:
        node = self.find(".mw-status")
        return node.text if node.is_displayed() else ""

    def wait_online(self) -> None:
        wait_for(lambda: self.connection() == "online", self.timeout, "the widget to connect to the Rasa server")

    def active_id(self) -> str:
        return self.driver.execute_script("return document.activeElement && document.activeElement.id") or ""

    def bot_messages(self) -> List:
        return self.find_all(f"{LOG} .mw-msg.mw-bot:not(.mw-welcome), {LOG} .mw-msg.mw-adviser")

    def user_texts(self) -> List[str]:
        return [m.text.strip() for m in self.find_all(f"{LOG} .mw-msg.mw-user .mw-body")]

    def typing(self) -> bool:
        return self.find(".mw-typing").is_displayed()

    # -------------------------------------------------------------- actions
    def open(self) -> None:
        wait_for(lambda: self.launcher_shown() or self.is_open(), 20, "the widget to show")
        if not self.is_open():
            self.find(LAUNCHER).click()
        wait_for(self.is_open, 10, "the panel to open")
        self.wait_online()

    def wait_reply(self, before: int):
        """The newest bot message once one more than ``before`` arrived and typing stopped."""
        wait_for(lambda: len(self.bot_messages()) > before and not self.typing(), self.timeout, "the assistant's reply")
        return self.bot_messages()[-1]

    def ask(self, text: str):
        before = len(self.bot_messages())
        box = self.find(INPUT)
        box.send_keys(text)
        box.send_keys(Keys.ENTER)
        return self.wait_reply(before)


_CONTRAST_JS = r"""
function rgb(s) { var m = s.match(/[\d.]+/g).map(Number); return {c: m.slice(0, 3), a: m.length > 3 ? m[3] : 1}; }
function lum(c) { c = c.map(function (v) { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
  return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2]; }
function background(el) {
  for (; el && el.nodeType === 1; el = el.parentElement) {
    var b = rgb(getComputedStyle(el).backgroundColor); if (b.a > 0.5) return b.c;
  } return [255, 255, 255];
}
var out = [];
arguments[0].forEach(function (sel) {
  document.querySelectorAll(sel).forEach(function (el) {
    if (!el.getClientRects().length) return;
    var fg = rgb(getComputedStyle(el).color).c, bg = background(el);
    var a = lum(fg), b = lum(bg);
    out.push([sel, Math.round(100 * (Math.max(a, b) + 0.05) / (Math.min(a, b) + 0.05)) / 100]);
  });
});
return out;
"""


def contrast_ratios(driver, selectors) -> list:
    """``[selector, WCAG contrast ratio]`` for every visible element each selector matches, with the
    background taken from the nearest ancestor that paints one."""
    return [tuple(pair) for pair in driver.execute_script(_CONTRAST_JS, list(selectors))]


def no_alert(driver) -> bool:
    """Whether no JavaScript alert is open (an injected script would have opened one)."""
    from selenium.common.exceptions import NoAlertPresentException

    try:
        driver.switch_to.alert
    except NoAlertPresentException:
        return True
    return False
