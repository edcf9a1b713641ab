"""The insights dashboard in Chromium, with a month of generated conversations (bot/bench/_insights.py's
generator, 3,000 of them): a supervisor signs in through the console's form, the page shows every
chart with its table, axe-core finds nothing on it (tables open), the CSV link downloads the same
totals, and an adviser's page has only their cases. ``MUTUALS_INSIGHTS_SCREENSHOT=1`` refreshes
docs/insights-dashboard.png (the figures) and docs/insights-charts.png (the charts)."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import sys
import threading
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "web"))
from axe_check import violations  # noqa: E402
from widget_page import browser_factory, wait_for  # noqa: E402,F401  (browser_factory is a fixture)

pytestmark = pytest.mark.slow
PASSWORD = "a long enough password"
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "insights-dashboard.png"
CHARTS_SCREENSHOT = SCREENSHOT.with_name("insights-charts.png")


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory):
    """A web server (the project's app) on a free loopback port, over stores with a month in them."""
    from aiohttp import web

    from bot.bench._insights import load
    from bot.console import hash_password
    from bot.handoff import HandoffStore
    from bot.insights._figures import Period
    from bot.settings import Settings
    from bot.stack import free_port
    from bot.web.app import create_app

    folder = tmp_path_factory.mktemp("dashboard")
    tracker, handoff = f"sqlite:///{folder / 'trackers.db'}", f"sqlite:///{folder / 'handoffs.db'}"
    period = Period.last_days(30)
    load(tracker, handoff, 3000, 600, 30, period.start)
    store = HandoffStore(handoff)
    store.add_adviser("Rae Supervisor", "rae@advisers.example.org", "supervisor", hash_password(PASSWORD))
    store.add_adviser("Jo Adviser", "jo@advisers.example.org", "adviser", hash_password(PASSWORD))
    store.dispose()
    port = free_port()
    settings = Settings.from_env(env={}, var_dir=folder, tracker_store_url=tracker, handoff_store_url=handoff,
                                 web_port=port, public_url=f"http://127.0.0.1:{port}")
    loop = asyncio.new_event_loop()
    runner = web.AppRunner(create_app(settings), access_log=None)
    loop.run_until_complete(runner.setup())
    loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", period
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(30)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)


def sign_in(driver, url, email):
    driver.get(f"{url}/console/login")
    driver.find_element(By.ID, "email").send_keys(email)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.CSS_SELECTOR, "form.login button[type=submit]").click()
    wait_for(lambda: driver.current_url.rstrip("/").endswith("/console"), message="signed in")


def test_a_supervisor_sees_the_whole_service_with_charts_and_tables(dashboard, browser_factory):
    url, period = dashboard
    driver = browser_factory(1280, 1000)
    sign_in(driver, url, "rae@advisers.example.org")
    driver.get(f"{url}/console/insights")
    wait_for(lambda: len(driver.find_elements(By.CSS_SELECTOR, "svg.chart")) == 6, message="the charts")
    assert "The whole service" in driver.find_element(By.CSS_SELECTOR, "p.scope").text
    row = driver.find_element(By.CSS_SELECTOR, "#figures tr[data-key=questions]")
    questions = int(row.find_elements(By.CSS_SELECTOR, "td.num")[0].text)
    assert questions > 3000
    parts = sum(int(driver.find_element(By.CSS_SELECTOR, f"#figures tr[data-key={k}] td.num").text)
                for k in ("answered", "clarified", "declined", "other"))
    assert parts == questions  # the parts add up on the page as well
    for chart in driver.find_elements(By.CSS_SELECTOR, "svg.chart"):
        described = chart.get_attribute("aria-describedby")
        assert driver.find_element(By.ID, described).tag_name == "caption"  # its table
        assert chart.find_elements(By.CSS_SELECTOR, "rect")

    # the same totals in the CSV the page links to (with the browser's session cookie)
    link = driver.find_element(By.CSS_SELECTOR, "a.export").get_attribute("href")
    cookie = driver.get_cookie("mutuals_console")["value"]
    request = urllib.request.Request(link, headers={"Cookie": f"mutuals_console={cookie}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        lines = response.read().decode().splitlines()
    total = dict(zip(lines[0].split(","), lines[-1].split(",")))
    assert int(total["questions"]) == questions

    if os.environ.get("MUTUALS_INSIGHTS_SCREENSHOT"):
        driver.set_window_size(1280, 2000)
        driver.execute_script("window.scrollTo(0, 0)")
        driver.save_screenshot(str(SCREENSHOT))
        driver.execute_script("document.getElementById('questions-by-day-heading').scrollIntoView()")
        driver.save_screenshot(str(CHARTS_SCREENSHOT))
    for summary in driver.find_elements(By.CSS_SELECTOR, "details summary"):
        summary.click()
    assert violations(driver) == []

    # another period through the form
    since = driver.find_element(By.ID, "since")
    driver.execute_script("arguments[0].value = arguments[1]", since, (period.until - dt.timedelta(days=6)).isoformat())
    driver.find_element(By.CSS_SELECTOR, "form.period button[type=submit]").click()
    wait_for(lambda: "(7 days" in driver.find_element(By.CSS_SELECTOR, "p.scope").text, message="the 7 days")


def test_an_adviser_sees_only_their_own_cases(dashboard, browser_factory):
    url, _ = dashboard
    driver = browser_factory(1024, 900)
    sign_in(driver, url, "jo@advisers.example.org")
    driver.get(f"{url}/console/insights")
    wait_for(lambda: driver.find_elements(By.CSS_SELECTOR, "svg.chart"), message="the charts")
    assert "Your cases only" in driver.find_element(By.CSS_SELECTOR, "p.scope").text
    assert driver.find_elements(By.CSS_SELECTOR, "#figures tr[data-key=questions]") == []
    handed = driver.find_element(By.CSS_SELECTOR, "#figures tr[data-key=handed_over] td.num").text
    assert handed == "0"  # Jo took none of the generated cases (the bench's adviser did)
    assert violations(driver) == []
