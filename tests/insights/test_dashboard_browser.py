"""The insights dashboard in Chromium, with a month of generated conversations (bot/bench/_insights.py's
generator, 3,000 of them): a supervisor signs in through the console's form, Chart.js draws every
chart from the figures of the table behind it, axe-core finds nothing on it (tables open), the CSV
link downloads the same totals, and an adviser's page has only their cases. ``MUTUALS_INSIGHTS_SCREENSHOT=1`` refreshes
docs/insights-dashboard.png (the figures) and docs/insights-charts.png (the charts)."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import threading
import urllib.request
from pathlib import Path

import pytest
from selenium.webdriver.common.by import By

from tests.support.axe_check import violations
from tests.support.widget_page import wait_for

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
    settings = Settings.from_env(
        env={},
        var_dir=folder,
        tracker_store_url=tracker,
        handoff_store_url=handoff,
        web_port=port,
        public_url=f"http://127.0.0.1:{port}",
    )
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


# each chart on the page: Chart.js's chart on its canvas (its labels, its series' names and figures,
# how many of its pixels were painted), and the table behind it, read as text although it is closed
CHARTS_JS = """
return Array.from(document.querySelectorAll('section.chart-block')).map(function (block) {
  var canvas = block.querySelector('canvas'), chart = window.Chart && Chart.getChart(canvas);
  var table = block.querySelector('table'), painted = 0;
  if (chart) {
    var pixels = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    for (var i = 3; i < pixels.length; i += 4) { if (pixels[i] > 0) { painted++; } }
  }
  var cells = function (row, selector) {
    return Array.from(row.querySelectorAll(selector)).map(function (c) { return c.textContent.trim(); });
  };
  return {
    id: canvas.id, role: canvas.getAttribute('role'), label: canvas.getAttribute('aria-label'),
    describedby: canvas.getAttribute('aria-describedby'), shown: canvas.getBoundingClientRect().height > 0,
    tableOpen: block.querySelector('details').open,
    chart: chart ? {type: chart.config.type, painted: painted,
                    labels: chart.data.labels.map(function (l) { return [].concat(l).join(' '); }),
                    series: chart.data.datasets.map(function (d) { return d.label; }),
                    data: chart.data.datasets.map(function (d) { return d.data; })} : null,
    table: {labels: Array.from(table.querySelectorAll('tbody tr')).map(function (r) { return cells(r, 'th')[0]; }),
            series: cells(table.querySelector('thead tr'), 'th').slice(1),
            rows: Array.from(table.querySelectorAll('tbody tr')).map(function (r) { return cells(r, 'td'); })}
  };
});
"""


def drawn_charts(driver):
    """The charts once Chart.js has drawn them all (each block's canvas has its chart)."""
    wait_for(
        lambda: (lambda found: found and all(c["chart"] for c in found))(driver.execute_script(CHARTS_JS)),
        message="the charts drawn by Chart.js",
    )
    return driver.execute_script(CHARTS_JS)


def assert_the_tables_are_the_charts(charts):
    for c in charts:
        assert c["role"] == "img" and c["label"].endswith(": a bar chart of the figures in the table below it"), c["id"]
        assert c["describedby"] == c["id"].replace("-chart", "-table-caption")
        assert c["shown"] and not c["tableOpen"], c["id"]  # the chart shown, its table a click away
        chart, table = c["chart"], c["table"]
        assert chart["type"] == "bar" and chart["painted"] > 2000, c["id"]  # bars, axes, labels on the canvas
        assert chart["labels"] == table["labels"] and chart["series"] == table["series"], c["id"]
        columns = [[int(row[j]) for row in table["rows"]] for j in range(len(table["series"]))]
        assert chart["data"] == columns, c["id"]  # the same figures as the table, series by series


def test_a_supervisor_sees_the_whole_service_with_charts_and_tables(dashboard, browser_factory):
    url, period = dashboard
    driver = browser_factory(1280, 1000)
    sign_in(driver, url, "rae@advisers.example.org")
    driver.get(f"{url}/console/insights")
    charts = drawn_charts(driver)
    assert [c["id"] for c in charts] == [
        f"{name}-chart"
        for name in ("questions-by-day", "conversations-by-day", "questions-by-channel", "waits", "outcomes", "ratings")
    ]
    assert_the_tables_are_the_charts(charts)
    assert len(charts[0]["chart"]["labels"]) == 30 and sum(map(sum, charts[0]["chart"]["data"])) > 3000
    assert "The whole service" in driver.find_element(By.CSS_SELECTOR, "p.scope").text
    row = driver.find_element(By.CSS_SELECTOR, "#figures tr[data-key=questions]")
    questions = int(row.find_elements(By.CSS_SELECTOR, "td.num")[0].text)
    assert questions > 3000
    parts = sum(
        int(driver.find_element(By.CSS_SELECTOR, f"#figures tr[data-key={k}] td.num").text)
        for k in ("answered", "clarified", "declined", "other")
    )
    assert parts == questions  # the parts add up on the page as well
    for chart in charts:
        assert driver.find_element(By.ID, chart["describedby"]).tag_name == "caption"  # its table
    # Chart.js ran under the page's policy: scripts from this server only, none inline
    with urllib.request.urlopen(f"{url}/console/login", timeout=30) as response:
        policy = response.headers["Content-Security-Policy"]
    assert "script-src 'self';" in policy and "unsafe" not in policy
    refused = [e["message"] for e in driver.get_log("browser") if "Content Security Policy" in e["message"]]
    assert refused == []  # nor did Chart.js need an inline style
    assert driver.execute_script(
        "return Array.from(document.scripts).every(function (s) {"
        " return s.type === 'application/json' || (s.src && new URL(s.src).origin === location.origin); })"
    )

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
    charts = drawn_charts(driver)
    assert [c["id"] for c in charts] == ["cases-by-day-chart", "waits-chart", "outcomes-chart", "ratings-chart"]
    assert_the_tables_are_the_charts(charts)
    assert "Your cases only" in driver.find_element(By.CSS_SELECTOR, "p.scope").text
    assert driver.find_elements(By.CSS_SELECTOR, "#figures tr[data-key=questions]") == []
    handed = driver.find_element(By.CSS_SELECTOR, "#figures tr[data-key=handed_over] td.num").text
    assert handed == "0"  # Jo took none of the generated cases (the bench's adviser did)
    assert violations(driver) == []
