"""The web chat widget in a real headless Chromium against the running assistant.

``MUTUALS_WIDGET_SCREENSHOT=1`` makes the conversation test refresh docs/widget.png."""

from __future__ import annotations

import os
import re

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from bot.stack import free_port
from tests.support.widget_page import INPUT, LAUNCHER, LOG, SCREENSHOT, Chat, contrast_ratios, no_alert, wait_for

pytestmark = pytest.mark.slow

XSS = "<img src=x onerror=alert(1)><script>alert(2)</script>"


def csp_or_script_errors(driver) -> list:
    """Console errors that mean the widget broke a rule or crashed (the favicon may 404)."""
    return [
        entry["message"]
        for entry in driver.get_log("browser")
        if entry["level"] == "SEVERE" and "favicon" not in entry["message"]
    ]


def test_conversation_end_to_end(running_stack, browser_factory, tmp_path):
    settings = running_stack.settings
    driver = browser_factory(1000, 900)
    chat = Chat(driver)
    driver.get(settings.web_url + "/")
    script = driver.find_element(By.CSS_SELECTOR, "script[src$='/static/widget/widget.js']")
    assert script.get_attribute("data-server") == settings.rasa_url  # another origin than the page

    chat.open()
    assert "public service mutuals" in chat.find(f"{LOG} .mw-welcome").text

    # a guidance answer, with its source as a link of its own
    answer = chat.ask("How do I register a co-operative?")
    source = answer.find_element(By.CSS_SELECTOR, ".mw-source a")
    assert "/guidance/" in source.get_attribute("href")
    assert source.get_attribute("target") == "_blank"
    assert "noopener" in source.get_attribute("rel")
    assert "Source:" in answer.find_element(By.CSS_SELECTOR, ".mw-source").text
    assert "](" not in answer.text and "**" not in answer.text  # markdown was rendered
    assert len(answer.find_element(By.CSS_SELECTOR, ".mw-body").text) > 80

    # quick replies: press one; its title is shown as what the person said
    reply = chat.ask("what's the weather tomorrow")
    buttons = reply.find_elements(By.CSS_SELECTOR, ".mw-buttons button")
    titles = [b.text for b in buttons]
    assert titles, f"no quick replies under: {reply.text!r}"
    # the picture in the docs: an answer's source, a question, quick replies
    shot = SCREENSHOT if os.environ.get("MUTUALS_WIDGET_SCREENSHOT") == "1" else tmp_path / "widget.png"
    shot.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(shot))
    adviser = next((b for b in buttons if "adviser" in b.text.lower()), buttons[-1])
    pressed = adviser.text
    before = len(chat.bot_messages())
    adviser.click()
    assert chat.user_texts()[-1] == pressed
    # used quick replies go away (the answer may bring new ones: the adviser intake's own)
    assert pressed not in [b.text for b in chat.find_all(f"{LOG} .mw-buttons button")]
    assert chat.active_id() == "mutuals-widget-input"
    after_button = chat.wait_reply(before)
    assert after_button.text

    # a reload continues the conversation, with the history shown
    said = chat.user_texts()
    driver.refresh()
    wait_for(lambda: chat.launcher_shown() or chat.is_open(), 20, "the widget after a reload")
    chat.open()
    wait_for(lambda: chat.user_texts() == said, 20, f"the history {said}")
    assert "/request_human" not in driver.find_element(By.CSS_SELECTOR, LOG).text
    history_source = chat.find_all(f"{LOG} .mw-source a")
    assert history_source and "/guidance/" in history_source[0].get_attribute("href")

    # so does a new tab (the session id is kept in localStorage)
    first_tab = driver.current_window_handle
    driver.switch_to.new_window("tab")
    driver.get(settings.web_url + "/")
    Chat(driver).open()
    wait_for(lambda: Chat(driver).user_texts() == said, 20, "the history in a new tab")
    driver.close()
    driver.switch_to.window(first_tab)

    # markup in a message is shown as text: nothing is created, nothing runs
    before = len(chat.bot_messages())
    box = chat.find(INPUT)
    box.send_keys(XSS)
    box.send_keys(Keys.ENTER)
    wait_for(lambda: chat.user_texts()[-1] == XSS, 10, "the message shown as typed")
    chat.wait_reply(before)
    log = chat.find(LOG)
    assert not log.find_elements(By.CSS_SELECTOR, "img, script, iframe, object, embed")
    assert no_alert(driver)

    assert not csp_or_script_errors(driver)


def test_keyboard_only(running_stack, browser):
    driver, chat = browser, Chat(browser)
    driver.get(running_stack.settings.web_url + "/")
    wait_for(chat.launcher_shown, 20, "the launcher")
    body = driver.find_element(By.TAG_NAME, "body")
    body.click()
    # Tab through the page to the launcher, as a keyboard user would
    for _ in range(30):
        driver.switch_to.active_element.send_keys(Keys.TAB)
        if chat.active_id() == "mutuals-widget-launcher":
            break
    assert chat.active_id() == "mutuals-widget-launcher"
    launcher = chat.find(LAUNCHER)
    assert launcher.get_attribute("aria-expanded") == "false"

    driver.switch_to.active_element.send_keys(Keys.ENTER)
    wait_for(chat.is_open, 10, "the panel to open")
    assert chat.active_id() == "mutuals-widget-input"  # focus moved into the panel
    assert launcher.get_attribute("aria-expanded") == "true"
    chat.wait_online()

    before = len(chat.bot_messages())
    focused = driver.switch_to.active_element
    focused.send_keys("what's the weather tomorrow")
    focused.send_keys(Keys.ENTER)
    reply = chat.wait_reply(before)
    assert chat.user_texts()[-1] == "what's the weather tomorrow"
    assert chat.find(INPUT).get_attribute("value") == ""
    assert chat.active_id() == "mutuals-widget-input"

    # Shift+Tab from the box reaches the newest quick reply; Enter presses it
    if reply.find_elements(By.CSS_SELECTOR, ".mw-buttons button"):
        driver.switch_to.active_element.send_keys(Keys.SHIFT, Keys.TAB)
        active = driver.switch_to.active_element
        assert "mw-button" in active.get_attribute("class")
        title = active.text
        before = len(chat.bot_messages())
        active.send_keys(Keys.ENTER)
        chat.wait_reply(before)
        assert chat.user_texts()[-1] == title
        assert chat.active_id() == "mutuals-widget-input"

    driver.switch_to.active_element.send_keys(Keys.ESCAPE)
    wait_for(lambda: not chat.is_open(), 5, "Escape to close the panel")
    assert chat.active_id() == "mutuals-widget-launcher"  # focus went back
    assert launcher.get_attribute("aria-expanded") == "false"

    # Space opens it again too, and the close button is reachable and labelled
    driver.switch_to.active_element.send_keys(Keys.SPACE)
    wait_for(chat.is_open, 5, "the panel to open again")
    close = chat.find(".mw-close")
    assert close.get_attribute("aria-label") == "Close chat"
    close.send_keys(Keys.ENTER)
    wait_for(lambda: not chat.is_open(), 5, "the close button to close the panel")
    assert chat.active_id() == "mutuals-widget-launcher"


def test_accessible_names_and_live_log(running_stack, browser):
    driver, chat = browser, Chat(browser)
    driver.get(running_stack.settings.web_url + "/")
    chat.open()
    log = chat.find(LOG)
    assert log.get_attribute("role") == "log"
    assert log.get_attribute("aria-live") == "polite"
    panel = chat.find("#mutuals-widget-panel")
    assert panel.get_attribute("role") == "dialog"
    assert chat.find("#" + panel.get_attribute("aria-labelledby")).text == "Mutuals Assistant"
    label = chat.find("label[for='mutuals-widget-input']")
    assert label.get_attribute("textContent") == "Your question"
    assert chat.find(".mw-send").text == "Send"


def test_text_contrast_is_wcag_aa(running_stack, browser):
    driver, chat = browser, Chat(browser)
    driver.get(running_stack.settings.web_url + "/")
    chat.open()
    chat.ask("How do I register a co-operative?")
    chat.ask("what's the weather tomorrow")
    selectors = [
        ".mw-title",
        ".mw-close",
        ".mw-bot .mw-body p",
        ".mw-bot .mw-body li",
        ".mw-user .mw-body p",
        ".mw-body a",
        ".mw-source",
        ".mw-source a",
        ".mw-button",
        ".mw-send",
        ".mw-input",
        ".mw-note",
    ]
    measured = contrast_ratios(driver, selectors)
    seen = {sel for sel, _ in measured}
    assert {".mw-title", ".mw-source a", ".mw-button", ".mw-user .mw-body p", ".mw-send"} <= seen
    low = [(sel, ratio) for sel, ratio in measured if ratio < 4.5]
    assert not low, low
    chat.find(".mw-close").click()
    launcher = contrast_ratios(driver, [".mw-launcher"])
    assert launcher and min(r for _, r in launcher) >= 4.5


def test_usable_at_375px(running_stack, browser_factory, tmp_path):
    driver = browser_factory(500, 900)  # Chromium's windows are at least 500 wide: emulate a phone
    driver.execute_cdp_cmd(
        "Emulation.setDeviceMetricsOverride", {"width": 375, "height": 667, "deviceScaleFactor": 2, "mobile": True}
    )
    chat = Chat(driver)
    driver.get(running_stack.settings.web_url + "/")
    assert driver.execute_script("return window.innerWidth") == 375
    chat.open()
    chat.ask("How do I register a co-operative?")
    geometry = driver.execute_script("""
        function box(s) { var r = document.querySelector(s).getBoundingClientRect();
                          return {left: r.left, right: r.right, top: r.top, bottom: r.bottom}; }
        return {vw: window.innerWidth, vh: window.innerHeight,
                scroll: document.documentElement.scrollWidth,
                panel: box('#mutuals-widget-panel'), input: box('#mutuals-widget-input'),
                send: box('.mw-send'), close: box('.mw-close'), log: box('.mw-log')};""")
    vw, vh = geometry["vw"], geometry["vh"]
    for name in ("panel", "input", "send", "close", "log"):
        r = geometry[name]
        assert r["left"] >= 0 and r["right"] <= vw + 0.5, (name, r, vw)
        assert r["top"] >= 0 and r["bottom"] <= vh + 0.5, (name, r, vh)
    assert geometry["panel"]["right"] - geometry["panel"]["left"] >= vw - 1  # full width on a phone
    assert geometry["send"]["right"] - geometry["send"]["left"] >= 44  # a finger-sized target
    assert geometry["scroll"] <= vw  # nothing overflows sideways
    # the picture in the docs: the panel filling a phone's screen, an answer with its buttons
    shot = (
        SCREENSHOT.with_name("widget-phone.png")
        if os.environ.get("MUTUALS_WIDGET_SCREENSHOT") == "1"
        else tmp_path / "widget-375.png"
    )
    driver.save_screenshot(str(shot))


def embed_page(web_url: str, server: str, title: str = "Example Council") -> str:
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>{title}</title></head>
<body><h1>{title}</h1><p>Some other organisation's site that embeds the chat.</p>
<script src="{web_url}/static/widget/widget.js" data-server="{server}" data-title="Ask us"
        data-color="#ffcc00" data-welcome="Hi from the embed"></script></body></html>"""


def test_embeds_on_another_site(running_stack, other_site, browser):
    """A page on a third origin (no CSP of ours) embeds the widget; socket.io goes across origins,
    and markup in messages still creates nothing."""
    settings = running_stack.settings
    url = other_site.add("embed.html", embed_page(settings.web_url, settings.rasa_url))
    driver, chat = browser, Chat(browser)
    driver.get(url)
    chat.open()
    assert chat.find(".mw-title").text == "Ask us"
    assert chat.find(f"{LOG} .mw-welcome").text.endswith("Hi from the embed")
    # a light brand colour is darkened until white text on it passes AA
    ratio = driver.execute_script(
        "var s = getComputedStyle(document.querySelector('.mw-root')).getPropertyValue('--mw-accent').trim();"
        "return MutualsWidget.contrast(s, '#ffffff');"
    )
    assert ratio >= 4.5
    answer = chat.ask("What is a community interest company?")
    assert "/guidance/" in answer.find_element(By.CSS_SELECTOR, ".mw-source a").get_attribute("href")
    box = chat.find(INPUT)
    box.send_keys(XSS)
    box.send_keys(Keys.ENTER)
    wait_for(lambda: chat.user_texts()[-1] == XSS, 10, "the message shown as typed")
    assert not chat.find(LOG).find_elements(By.CSS_SELECTOR, "img, script")
    assert no_alert(driver)
    assert driver.execute_script("return document.querySelectorAll('img').length") == 0


def test_unreachable_server(running_stack, other_site, browser):
    dead = f"http://127.0.0.1:{free_port()}"
    url = other_site.add("dead.html", embed_page(running_stack.settings.web_url, dead))
    driver, chat = browser, Chat(browser)
    driver.get(url)
    wait_for(chat.launcher_shown, 20, "the launcher")
    chat.find(LAUNCHER).click()
    wait_for(lambda: chat.connection() == "offline", 30, "the offline state")
    assert "can't reach" in chat.status().lower()
    box = chat.find(INPUT)
    box.send_keys("Is anyone there?")
    box.send_keys(Keys.ENTER)
    assert chat.user_texts() == []  # not shown as sent
    assert box.get_attribute("value") == "Is anyone there?"  # kept to send later
    assert "not sent" in chat.status().lower()


def test_reconnect_shows_missed_messages(running_stack, browser):
    driver, chat = browser, Chat(browser)
    driver.get(running_stack.settings.web_url + "/")
    chat.open()
    chat.ask("What is a public service mutual?")
    # the connection drops and stays down for now
    driver.execute_script("var m = MutualsWidget.instance.socket.io; m.reconnection(false); m.engine.close();")
    wait_for(lambda: chat.connection() == "reconnecting", 10, "the reconnecting state")
    assert "reconnecting" in chat.status().lower()
    # meanwhile the same conversation goes on elsewhere (another tab)
    missed = driver.execute_async_script("""
        var done = arguments[arguments.length - 1], w = MutualsWidget.instance;
        var other = io(w.server, {path: w.path, forceNew: true});
        other.on('connect', function () { other.emit('session_request', {session_id: w.sessionId}); });
        other.on('session_confirm', function (id) {
          other.emit('user_uttered', {session_id: id, message: 'What is an asset lock?'}); });
        other.on('bot_uttered', function (m) { other.close(); done(m.text); });""")
    assert missed
    assert "What is an asset lock?" not in chat.user_texts()
    driver.execute_script("var s = MutualsWidget.instance.socket; s.io.reconnection(true); s.connect();")
    chat.wait_online()
    wait_for(lambda: "What is an asset lock?" in chat.user_texts(), 20, "the missed question")
    last = chat.bot_messages()[-1].text
    first_words = re.sub(r"\s+", " ", missed.split("\n")[0].replace("**", ""))[:30]
    assert first_words in re.sub(r"\s+", " ", last), (first_words, last)
    assert chat.status() == ""
    # nothing was shown twice
    texts = chat.user_texts()
    assert len(texts) == len(set(texts))


def test_a_message_lost_with_the_connection_is_sent_again_and_answered_once(running_stack, browser):
    import json
    import urllib.request

    driver, chat = browser, Chat(browser)
    driver.get(running_stack.settings.web_url + "/")
    chat.open()
    chat.ask("hello")
    # the connection drops just as the next message leaves: the server never gets it
    driver.execute_script("""
        var s = MutualsWidget.instance.socket, emit = s.emit;
        s.emit = function (name) {
          if (name === 'user_uttered') { s.emit = emit; s.io.engine.close(); return s; }
          return emit.apply(s, arguments);
        };""")
    reply = chat.ask("What is an asset lock?")  # the widget reconnects, sees it missing, sends it again
    assert "asset lock" in reply.text.lower()
    assert chat.user_texts().count("What is an asset lock?") == 1
    assert chat.status() == ""
    session_id = driver.execute_script("return MutualsWidget.instance.sessionId;")
    url = (
        f"{running_stack.settings.rasa_url}/conversations/{session_id}/tracker"
        f"?token={running_stack.settings.rasa_token}"
    )
    with urllib.request.urlopen(url, timeout=30) as r:
        said = [e["text"] for e in json.loads(r.read())["events"] if e["event"] == "user"]
    assert said == ["hello", "What is an asset lock?"]  # received once, after the reconnect
