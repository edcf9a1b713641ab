"""An adviser sees the assistant's and advisers' messages as the person saw them: the same messages
rendered by the widget (on the web server's own page) and on the console's case page (its
transcript read from a stand-in for Rasa's tracker API) give the same HTML, in Chromium. Only the
web server runs, so this is cheap."""

from __future__ import annotations

import re

import pytest
from aiohttp import web
from selenium.webdriver.common.by import By

from bot.console import COOKIE, hash_password
from bot.handoff import HandoffStore
from bot.settings import Settings
from bot.stack import free_port
from tests.support.web_server import AppServer, WebServer
from tests.support.widget_page import no_alert, wait_for

pytestmark = pytest.mark.slow

CONVERSATION = "b" * 32
ADA = {"kind": "adviser", "name": "Ada Lovelace"}
BOT = {"kind": "bot", "name": "Mutuals Assistant"}
MESSAGES = [
    (BOT, "**Bold** first, then *stress* and `code`."),
    (BOT, "Steps:\n- register the society\n- **write the rules**\n  - with an asset lock\n\n3. third\n4. fourth"),
    (
        BOT,
        "See [the guidance](/guidance/asset-locks), [GOV.UK](https://www.gov.uk/set-up-business) "
        "or [write to us](mailto:help@example.org).",
    ),
    (BOT, "Bare address: https://www.gov.uk/guidance/tupe. And (http://a.test/x_(1)) too."),
    (
        BOT,
        "<script>alert(1)</script><img src=x onerror=alert(2)> [click](javascript:alert(3)) "
        "[data](data:text/html,hi) **<b onclick=\"x()\">bold</b>**",
    ),
    (BOT, "**TUPE** protects staff.\n\nSource: [TUPE](/guidance/tupe#who)"),
    (ADA, "Hello, I'm **Ada**: see https://example.org/a_(b)."),
]


def rasa_stand_in() -> web.Application:
    """Rasa's tracker endpoint, answering with MESSAGES as the conversation's bot events."""
    events = [{"event": "user", "text": "I want to talk to a human", "timestamp": 1_800_000_000.0, "parse_data": {}}]
    for n, (sender, text) in enumerate(MESSAGES):
        events.append(
            {"event": "bot", "text": text, "timestamp": 1_800_000_001.0 + n, "data": {"custom": {"sender": sender}}}
        )

    async def tracker(request: web.Request) -> web.Response:
        if request.match_info["conversation"] != CONVERSATION:
            return web.json_response({"events": []})
        return web.json_response({"sender_id": CONVERSATION, "events": events})

    app = web.Application()
    app.router.add_get("/conversations/{conversation}/tracker", tracker)
    return app


WIDGET_BODIES = """var w = MutualsWidget.instance, out = [];
arguments[0].forEach(function (m) {
  w.receive({text: m[1], buttons: [], sender: m[0]});
  var all = w.log.querySelectorAll('.mw-msg:not(.mw-welcome) .mw-body');
  out.push(all[all.length - 1].innerHTML);
});
return out;"""


def test_the_console_shows_each_message_with_the_html_the_widget_gave_the_person(tmp_path, browser_factory):
    settings = Settings.from_env(env={}, var_dir=tmp_path, web_port=free_port(), rasa_port=free_port())
    store = HandoffStore(settings.handoff_store)
    alex = store.add_adviser("Alex Adviser", "alex@example.org", "adviser", hash_password("a long test password"))
    cookie, _ = store.start_session(alex)
    case = store.open_case(CONVERSATION, "socketio", "Can our staff keep their pension?", person_name="Sam")
    try:
        with AppServer(rasa_stand_in(), settings.rasa_port), WebServer(settings):
            driver = browser_factory(1280, 900)
            # the person's side: the widget on the web server's home page
            driver.get(f"{settings.web_url}/")
            wait_for(
                lambda: driver.execute_script("return !!(window.MutualsWidget && MutualsWidget.instance)"),
                message="the widget",
            )
            in_widget = driver.execute_script(WIDGET_BODIES, [[s, t] for s, t in MESSAGES])

            # the adviser's side: the case page's transcript
            driver.get(f"{settings.web_url}/console/login")
            driver.add_cookie({"name": COOKIE, "value": cookie, "path": "/"})
            driver.get(f"{settings.web_url}/console/cases/{case.id}")
            css = "#transcript li.msg-bot .text, #transcript li.msg-adviser .text"
            wait_for(
                lambda: len(driver.find_elements(By.CSS_SELECTOR, css)) == len(MESSAGES),
                message="the messages in the transcript",
            )
            in_console = [e.get_attribute("innerHTML") for e in driver.find_elements(By.CSS_SELECTOR, css)]
            assert no_alert(driver)
            assert driver.find_elements(By.CSS_SELECTOR, "#transcript script, #transcript img") == []
    finally:
        store.dispose()

    assert in_console == in_widget  # message by message, the same HTML

    # and that HTML is the renderer's, not text that merely matches on both sides
    home = f"{settings.web_url}/"
    bold, lists, links, bare, hostile, source, adviser = in_widget
    assert bold == "<p><strong>Bold</strong> first, then <em>stress</em> and <code>code</code>.</p>"
    assert re.fullmatch(
        r"<p>Steps:</p><ul><li>register the society</li><li><strong>write the rules</strong>"
        r"<ul><li>with an asset lock</li></ul></li></ul><ol start=\"3\"><li>third</li><li>fourth</li></ol>",
        lists,
    ), lists
    new_tab = '<span class="mw-newtab"> (opens in a new tab)</span>'
    assert f'<a href="{home}guidance/asset-locks" target="_blank" rel="noopener">the guidance{new_tab}</a>' in links
    assert f'<a href="https://www.gov.uk/set-up-business" target="_blank" rel="noopener">GOV.UK{new_tab}</a>' in links
    assert '<a href="mailto:help@example.org">write to us</a>' in links  # the mail program, not a tab
    assert (
        f'<a href="https://www.gov.uk/guidance/tupe" target="_blank" rel="noopener">https://www.gov.uk/guidance/tupe{new_tab}</a>. '
        in bare
    )
    assert f'>http://a.test/x_(1){new_tab}</a>) too.' in bare
    assert hostile == (
        "<p>&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt; click data "
        "<strong>&lt;b onclick=\"x()\"&gt;bold&lt;/b&gt;</strong></p>"
    )
    assert source == (
        f'<p><strong>TUPE</strong> protects staff.</p><p class="mw-source">Source: '
        f'<a href="{home}guidance/tupe#who" target="_blank" rel="noopener">TUPE{new_tab}</a></p>'
    )
    assert adviser.startswith("<p>Hello, I'm <strong>Ada</strong>: see <a href=\"https://example.org/a_(b)\"")
