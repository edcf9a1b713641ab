"""The chat at 400 % zoom and on a small phone, in a real Chromium against the running assistant.

400 % zoom of a 1280 × 1024 window is a 320 × 256 CSS-pixel viewport drawn with four device pixels to
each CSS pixel: Chromium's device-metrics override gives exactly that (the same layout, media queries
and ``devicePixelRatio`` as its zoom). The small phone is 320 × 256 at one device pixel (a phone held
sideways with the keyboard up). At both: Tab never lands on anything hidden or under the launcher,
nothing scrolls sideways, and the conversation gets most of the panel, so a question and its whole
answer are read by scrolling the log alone.

``MUTUALS_WIDGET_SCREENSHOT=1`` refreshes docs/widget-zoom-400.png."""

from __future__ import annotations

import os
import time

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.support.widget_page import LAUNCHER, SCREENSHOT, Chat, wait_for

pytestmark = pytest.mark.slow

# a question one page answers (not "staff" alone, which may be NHS or council staff and is asked back)
QUESTION = "Can council staff keep the LGPS if we spin out as a mutual?"
SIZES = {
    "zoom-400": dict(window=(1280, 1024), width=320, height=256, deviceScaleFactor=4, mobile=False),
    "phone-320x256": dict(window=(500, 600), width=320, height=256, deviceScaleFactor=1, mobile=True),
}

# where the focused element is: visible at all (some area inside the viewport, not hidden), and how
# much of it the launcher leaves uncovered (sampled: elementFromPoint is the element or inside it)
FOCUSED = r"""
var el = document.activeElement;
if (!el || el === document.body) return null;
var r = el.getBoundingClientRect(), vw = innerWidth, vh = innerHeight, style = getComputedStyle(el);
var left = Math.max(r.left, 0), right = Math.min(r.right, vw), top = Math.max(r.top, 0), bottom = Math.min(r.bottom, vh);
var seen = 0, points = 0;
for (var i = 0; i < 5; i++) for (var j = 0; j < 5; j++) {
  var x = left + (right - left) * (i + .5) / 5, y = top + (bottom - top) * (j + .5) / 5;
  if (right <= left || bottom <= top) break;
  points++;
  var hit = document.elementFromPoint(x, y);
  if (hit && (hit === el || el.contains(hit))) seen++;
}
return {id: el.id, tag: el.tagName, text: (el.textContent || el.value || '').trim().slice(0, 40),
        inWidget: !!el.closest('.mw-root'), area: (right - left) * (bottom - top),
        hidden: style.visibility === 'hidden' || !!el.closest('[hidden], [aria-hidden=true]'), seen: seen, points: points};
"""


def emulate(driver, size: dict) -> None:
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {k: size[k] for k in ("width", "height", "deviceScaleFactor", "mobile")}
    )


def tab_through(driver, stop, limit: int = 60) -> list:
    """Press Tab until ``stop(info)`` or ``limit``; every focused element, each checked on the way."""
    seen = []
    for _ in range(limit):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        info = driver.execute_script(FOCUSED)
        if info is None:
            continue
        for _ in range(10):  # the widget moves the page from under its launcher in the next frame
            if info["seen"] or info["hidden"] or not info["area"]:
                break
            time.sleep(0.1)
            info = driver.execute_script(FOCUSED)
        where = f"{info['tag']}#{info['id']} {info['text']!r}"
        assert not info["hidden"] and info["area"] > 0, f"Tab landed on a hidden control: {where}"
        assert info["seen"] > 0, f"the focused {where} is entirely covered (by the launcher?)"
        seen.append(info)
        if stop(info):
            break
    return seen


def no_sideways_scroll(driver) -> bool:
    return driver.execute_script("return document.documentElement.scrollWidth <= window.innerWidth")


@pytest.mark.parametrize("name", sorted(SIZES))
def test_usable_at_400_percent_zoom_and_on_a_small_phone(running_stack, browser_factory, tmp_path, name):
    size = SIZES[name]
    driver = browser_factory(*size["window"])
    emulate(driver, size)
    chat = Chat(driver)
    driver.get(running_stack.settings.web_url + "/")
    assert driver.execute_script("return [innerWidth, innerHeight, devicePixelRatio]") == [
        size["width"],
        size["height"],
        size["deviceScaleFactor"],
    ]
    wait_for(chat.launcher_shown, 20, "the launcher")
    assert no_sideways_scroll(driver)

    # the page with the launcher over it: Tab through all of it, nothing focused is hidden or covered
    driver.find_element(By.TAG_NAME, "body").click()
    on_page = tab_through(driver, lambda info: info["id"] == "mutuals-widget-launcher")
    assert on_page[-1]["id"] == "mutuals-widget-launcher", "Tab never reached the launcher"
    assert any(i["text"] == "Your data" for i in on_page)  # the last link, under where the launcher sits
    assert no_sideways_scroll(driver)

    # open it and ask: the conversation has most of the panel
    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(chat.is_open, 10, "the panel to open")
    chat.wait_online()
    answer = chat.ask(QUESTION)
    layout = driver.execute_script("""
        function box(s) { var r = document.querySelector(s).getBoundingClientRect();
                          return {left: r.left, right: r.right, top: r.top, bottom: r.bottom, height: r.height}; }
        var log = document.querySelector('.mw-log');
        return {vh: innerHeight, vw: innerWidth, panel: box('#mutuals-widget-panel'), log: box('.mw-log'),
                input: box('#mutuals-widget-input'), send: box('.mw-send'), close: box('.mw-close'),
                logScrollWidth: log.scrollWidth, logClientWidth: log.clientWidth, logOverflow: getComputedStyle(log).overflowY};""")
    vw, vh = layout["vw"], layout["vh"]
    for part in ("panel", "log", "input", "send", "close"):
        r = layout[part]
        assert r["left"] >= 0 and r["right"] <= vw + 0.5 and r["top"] >= 0 and r["bottom"] <= vh + 0.5, (part, r)
    assert layout["log"]["height"] >= 0.6 * vh, f"the conversation has {layout['log']['height']} of {vh} px"
    assert layout["logScrollWidth"] <= layout["logClientWidth"], "the conversation scrolls sideways"
    assert layout["logOverflow"] == "auto"
    assert no_sideways_scroll(driver)

    # the question and all of its answer, by scrolling the log alone: each line comes into view
    question = [m for m in chat.find_all(".mw-log .mw-msg.mw-user") if QUESTION in m.text][-1]
    reading = driver.execute_script(
        """
        var log = document.querySelector('.mw-log'), q = arguments[0], a = arguments[1];
        var scrollY = window.scrollY, box = log.getBoundingClientRect(), missed = [];
        var top = q.getBoundingClientRect().top - box.top + log.scrollTop;
        var lines = [q].concat(Array.prototype.slice.call(a.querySelectorAll('p:not(.mw-vh), li, button')));
        lines.forEach(function (line) {
          var r = line.getBoundingClientRect(), at = r.top - box.top + log.scrollTop;
          log.scrollTop = at - 4;
          r = line.getBoundingClientRect();
          var fits = r.height <= box.height ? (r.top >= box.top - 1 && r.bottom <= box.bottom + 1) : r.top >= box.top - 1;
          if (!fits || r.left < box.left - 1 || r.right > box.right + 1) missed.push(line.textContent.slice(0, 40));
        });
        return {missed: missed, pageScrolled: window.scrollY !== scrollY, lines: lines.length};""",
        question,
        answer,
    )
    assert reading["lines"] > 2 and reading["missed"] == [], reading
    assert not reading["pageScrolled"]

    # Tab round the open panel: every control it lands on is on screen and uncovered
    chat.find("#mutuals-widget-input").click()
    in_panel = tab_through(driver, lambda info: info["id"] == "mutuals-widget-input", limit=40)
    assert in_panel and all(i["inWidget"] for i in in_panel), [i["text"] for i in in_panel if not i["inWidget"]]
    assert any(i["text"] == "Delete my data" for i in in_panel)
    assert any(i["text"] in ("Yes", "No") for i in in_panel)  # the "Did this help?" buttons

    chat.find("#mutuals-widget-input").click()
    if name == "zoom-400":
        shot = (
            SCREENSHOT.with_name("widget-zoom-400.png")
            if os.environ.get("MUTUALS_WIDGET_SCREENSHOT") == "1"
            else tmp_path / "widget-zoom-400.png"
        )
        driver.execute_script(
            """var l = document.querySelector('.mw-log');  // the question, then the answer
            l.scrollTop += arguments[0].getBoundingClientRect().top - l.getBoundingClientRect().top - 6;""",
            question,
        )
        driver.save_screenshot(str(shot))

    # closed again, the launcher is back where it was, and Escape got there
    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for(lambda: not chat.is_open(), 5, "Escape to close the panel")
    assert chat.active_id() == "mutuals-widget-launcher" and chat.find(LAUNCHER).is_displayed()

    # a guidance page, opened at a section, the same: Tab through it all to the launcher
    driver.get(running_stack.settings.web_url + "/guidance/asset-locks#what-is-an-asset-lock")
    wait_for(chat.launcher_shown, 20, "the launcher on a guidance page")
    driver.find_element(By.TAG_NAME, "h1").click()
    on_guidance = tab_through(driver, lambda info: info["id"] == "mutuals-widget-launcher", limit=80)
    assert on_guidance[-1]["id"] == "mutuals-widget-launcher", [i["text"] for i in on_guidance]
    assert no_sideways_scroll(driver)
