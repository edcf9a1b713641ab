"""The widget's tiny markdown renderer, run in the browser (no assistant needed)."""

from __future__ import annotations

import pytest

from bot.settings import ROOT
from tests.support.widget_page import make_driver

pytestmark = pytest.mark.slow

WIDGET = ROOT / "bot" / "web" / "static" / "widget"
NEW_TAB = '<span class="mw-newtab"> (opens in a new tab)</span>'  # shown, not only read out


def link(href: str, text: str) -> str:
    return f'<a href="{href}" target="_blank" rel="noopener">{text}{NEW_TAB}</a>'


CASES = [
    ("Hello **world**", "<p>Hello <strong>world</strong></p>"),
    ("one\ntwo\n\nthree", "<p>one two</p><p>three</p>"),
    ("*stress* and `code`", "<p><em>stress</em> and <code>code</code></p>"),
    (
        "Steps:\n- first\n- **second**\n  goes on\n\nAfter",
        "<p>Steps:</p><ul><li>first</li><li><strong>second</strong> goes on</li></ul><p>After</p>",
    ),
    ("3. c\n4. d", '<ol start="3"><li>c</li><li>d</li></ol>'),
    ("- a\n  - a1\n  - a2\n- b", "<ul><li>a<ul><li>a1</li><li>a2</li></ul></li><li>b</li></ul>"),
    ("## A heading\nText", '<p class="mw-heading"><strong>A heading</strong></p><p>Text</p>'),
    (
        "See [the page](https://example.org/guidance/x#y).",
        "<p>See " + link("https://example.org/guidance/x#y", "the page") + ".</p>",
    ),
    ("[**Bold** link](http://h.test/a)", "<p>" + link("http://h.test/a", "<strong>Bold</strong> link") + "</p>"),
    ("[relative](/guidance/asset-locks)", "<p>" + link("http://base.test/guidance/asset-locks", "relative") + "</p>"),
    # only http(s) links: the words stay, the link goes
    ("[click](javascript:alert(1))", "<p>click</p>"),
    ("[Act](https://w.test/Act_(2014)) then", "<p>" + link("https://w.test/Act_(2014)", "Act") + " then</p>"),
    ("[x](data:text/html,hi) [y](vbscript:z)", "<p>x y</p>"),
    # mail links open the mail program, so no new tab and no note
    ("[write to us](mailto:help@example.org)", '<p><a href="mailto:help@example.org">write to us</a></p>'),
    ("[unclosed](http://a", "<p>[unclosed](http://a</p>"),
    # markup is text
    (
        "<img src=x onerror=alert(1)><script>alert(2)</script>",
        "<p>&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;</p>",
    ),
    ('**<b onclick="x()">hi</b>**', "<p><strong>&lt;b onclick=\"x()\"&gt;hi&lt;/b&gt;</strong></p>"),
    (r"\*not em\* and 2 * 3 * 4", "<p>*not em* and 2 * 3 * 4</p>"),
    ("", ""),
    # bare addresses are links too; the full stop or bracket after one is not part of it
    (
        "See https://www.gov.uk/guidance/tupe.",
        "<p>See " + link("https://www.gov.uk/guidance/tupe", "https://www.gov.uk/guidance/tupe") + ".</p>",
    ),
    ("(at http://a.test/x_(1)) ok", "<p>(at " + link("http://a.test/x_(1)", "http://a.test/x_(1)") + ") ok</p>"),
    (
        "**https://b.test/p?q=1**",
        "<p><strong>" + link("https://b.test/p?q=1", "https://b.test/p?q=1") + "</strong></p>",
    ),
    (
        "[named](https://c.test/) and ftp://d.test/ and xhttps://e.test/",
        "<p>" + link("https://c.test/", "named") + " and ftp://d.test/ and xhttps://e.test/</p>",
    ),
]


@pytest.fixture(scope="module")
def page(other_site, tmp_path_factory):
    other_site.copy(WIDGET / "widget.js")
    other_site.copy(WIDGET / "widget.css")
    other_site.copy(WIDGET.parent / "shared" / "markdown.js", "shared/markdown.js")  # ../shared/ beside widget.js
    url = other_site.add(
        "markdown.html",
        '<!doctype html><html><head><meta charset="utf-8"></head><body>'
        '<script src="widget.js" data-server="http://127.0.0.1:9" data-welcome="Hi"'
        ' data-starters="First question?| Second one |"></script></body></html>',
    )
    driver = make_driver(tmp_path_factory.mktemp("profile"))
    driver.get(url)
    yield driver
    driver.quit()


RENDER = """var box = document.createElement('div');
box.appendChild(MutualsWidget.renderMarkdown(arguments[0], {base: 'http://base.test/'}));
return box.innerHTML;"""


@pytest.mark.parametrize("markdown,html", CASES)
def test_renders(page, markdown, html):
    assert page.execute_script(RENDER, markdown) == html


def test_source_line_is_split_off(page):
    text = (
        "**Heading**\n\nBody text.\n\nSource: [Co-operative societies](http://w.test/guidance/co-operative-society#x)"
    )
    got = page.execute_script("return MutualsWidget.splitSource(arguments[0], 'http://base.test/')", text)
    assert got == {
        "body": "**Heading**\n\nBody text.",
        "title": "Co-operative societies",
        "href": "http://w.test/guidance/co-operative-society#x",
    }
    for not_source in [
        "Source: [x](javascript:alert(1))",
        "Body. Source: [x](http://a.test/) inline",
        "Mid-paragraph\nSource: [x](http://a.test/)",
    ]:
        assert page.execute_script("return MutualsWidget.splitSource(arguments[0])", not_source) is None


def test_accent_colour_is_made_accessible(page):
    for colour in ["#ffcc00", "#ffffff", "#7fbfff", "#0b5c4a", "not a colour"]:
        ratio = page.execute_script(
            "return MutualsWidget.contrast(MutualsWidget.accessibleAccent(arguments[0]), '#ffffff')", colour
        )
        assert ratio >= 4.5, colour
    assert page.execute_script("return MutualsWidget.accessibleAccent('#0b5c4a')") == "#0b5c4a"


def test_nothing_connects_until_opened(page):
    """A visitor who never opens the chat costs the assistant nothing (no stored session)."""
    assert page.execute_script("return MutualsWidget.instance.socket") is None
    assert page.execute_script("return typeof window.io") == "undefined"


def test_adviser_messages_and_handoff_events(page):
    """What the server's bot_uttered may carry beyond the bot's answers (shown without a server)."""
    page.execute_script("MutualsWidget.instance.open(true)")
    found = page.execute_script("""
        var w = MutualsWidget.instance, seen = [];
        w.root.addEventListener('mutuals-widget:event', function (e) { seen.push(e.detail); });
        w.receive({text: '', buttons: [], sender: {kind: 'bot'}, event: {type: 'handoff', status: 'waiting'}});
        var waiting = w.handoff.hidden ? null : w.handoff.textContent;
        w.receive({text: 'Hello, I am **Sam**.', buttons: [], sender: {kind: 'adviser', name: 'Sam <b>x</b>'},
                   event: 'handoff_accepted'});
        var joined = w.handoff.textContent;
        w.receive({text: '', buttons: [], sender: {kind: 'bot'}, event: {mystery: [1, 2]}});
        var bubbles = w.log.querySelectorAll('.mw-msg:not(.mw-welcome)');
        var last = bubbles[bubbles.length - 1];
        return {waiting: waiting, joined: joined, count: bubbles.length, cls: last.className,
                who: last.querySelector('.mw-who').className + '|' + last.querySelector('.mw-who').textContent,
                body: last.querySelector('.mw-body').innerHTML, events: seen.length,
                unknown: w.root.getAttribute('data-handoff')};""")
    assert found["waiting"] == "Waiting for an adviser to join\u2026"
    assert found["joined"] == "Sam <b>x</b> (adviser) has joined the conversation."
    assert found["count"] == 1  # events alone add no bubble
    assert found["cls"] == "mw-msg mw-adviser"
    assert found["who"] == "mw-who|Sam <b>x</b> (adviser)"  # shown, as text
    assert found["body"] == "<p>Hello, I am <strong>Sam</strong>.</p>"
    assert found["events"] == 3
    assert found["unknown"] == "unknown"


def fresh(page) -> None:
    """The demo's widget again, as a visitor who never chatted sees it."""
    page.execute_script("localStorage.clear(); sessionStorage.clear();")
    page.refresh()
    page.execute_script("MutualsWidget.instance.open(false)")


def test_a_bare_address_in_the_persons_message_is_a_link(page):
    fresh(page)
    html = page.execute_script("""var w = MutualsWidget.instance;
        w.append({text: 'is <b>this</b> right? https://x.test/a.', sender: {kind: 'user'}}, false);
        var all = w.log.querySelectorAll('.mw-user .mw-body'); return all[all.length - 1].innerHTML;""")
    assert html == "<p>is &lt;b&gt;this&lt;/b&gt; right? " + link("https://x.test/a", "https://x.test/a") + ".</p>"


ANSWER = "**TUPE** protects staff.\n\nSource: [TUPE](http://base.test/guidance/tupe#who)"


def test_an_answer_from_the_guidance_asks_whether_it_helped(page):
    fresh(page)
    got = page.execute_script(
        """var w = MutualsWidget.instance, sent = [];
        w.ready = function () { return true; };
        w.socket = {emit: function (name, data) { sent.push([name, data.message, data.button_title]); }};
        w.receive({text: arguments[0], buttons: [{title: 'Tell me more', payload: '/tell_me_more'}], sender: {kind: 'bot'}});
        w.receive({text: 'Hello there.', buttons: [], sender: {kind: 'bot'}});
        var boxes = w.log.querySelectorAll('.mw-feedback');
        var names = Array.prototype.map.call(boxes[0].querySelectorAll('button'), function (b) {
          return b.textContent + '=' + b.getAttribute('aria-label'); });
        var label = document.getElementById(boxes[0].getAttribute('aria-labelledby')).textContent;
        boxes[0].querySelectorAll('button')[1].click();
        return {boxes: boxes.length, names: names, label: label, sent: sent,
                left: w.log.querySelectorAll('.mw-feedback').length,
                said: w.log.querySelector('.mw-user:last-child .mw-body').textContent,
                focus: document.activeElement.id};""",
        ANSWER,
    )
    assert got["boxes"] == 1  # on the answer with a guidance source, not on the greeting
    assert got["label"] == "Did this help?"
    assert got["names"] == ["Yes=Yes, this helped", "No=No, this didn't help"]
    assert got["sent"] == [["user_uttered", "/feedback_unhelpful", "No, this didn't help"]]
    assert got["left"] == 0 and got["said"] == "No, this didn't help" and got["focus"] == "mutuals-widget-input"


def test_a_rated_answer_is_not_asked_again_after_a_reload(page):
    fresh(page)
    count = page.execute_script(
        """var w = MutualsWidget.instance;
        w.showHistory([{text: 'q1', sender: {kind: 'user'}}, {text: arguments[0], sender: {kind: 'bot'}},
                       {text: 'Yes, this helped', sender: {kind: 'user'}}, {text: 'Glad.', sender: {kind: 'bot'}},
                       {text: 'q2', sender: {kind: 'user'}}, {text: arguments[0], sender: {kind: 'bot'}}]);
        return w.log.querySelectorAll('.mw-feedback').length;""",
        ANSWER,
    )
    assert count == 1  # only the second answer, which nobody rated yet


def test_a_new_conversation_offers_questions_to_start_with(page):
    fresh(page)
    got = page.execute_script("""var w = MutualsWidget.instance, sent = [];
        var group = w.welcomeNode.querySelector('.mw-buttons');
        var titles = Array.prototype.map.call(group.querySelectorAll('button'), function (b) { return b.textContent; });
        w.ready = function () { return true; };
        w.socket = {emit: function (name, data) { sent.push([data.message, data.button_title]); }};
        group.querySelector('button').click();
        return {label: group.getAttribute('aria-label'), titles: titles, sent: sent,
                left: w.welcomeNode.querySelectorAll('button').length};""")
    assert got["label"] == "Questions to start with"
    assert got["titles"] == ["First question?", "Second one"]
    assert got["sent"] == [["First question?", "First question?"]]  # sent as if typed
    assert got["left"] == 0  # gone once the conversation started


def test_escape_closes_the_delete_question_before_the_panel(page):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys

    fresh(page)
    page.find_element(By.CSS_SELECTOR, ".mw-forget").click()
    assert page.switch_to.active_element.text == "Cancel"
    page.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert not page.find_element(By.CSS_SELECTOR, ".mw-confirm").is_displayed()
    assert page.find_element(By.CSS_SELECTOR, "#mutuals-widget-panel").is_displayed()
    assert page.switch_to.active_element.text == "Delete my data"  # focus back on what opened it
    page.switch_to.active_element.send_keys(Keys.ESCAPE)
    assert not page.find_element(By.CSS_SELECTOR, "#mutuals-widget-panel").is_displayed()


def test_the_unread_marker_survives_a_reload(page):
    from selenium.webdriver.common.by import By

    fresh(page)
    page.execute_script("""var w = MutualsWidget.instance; w.close();
        localStorage.setItem('mutuals-widget:session', 'some-session');
        w.receive({text: 'An adviser replied.', buttons: [], sender: {kind: 'adviser', name: 'Sam'}});""")
    assert page.find_element(By.CSS_SELECTOR, ".mw-unread").is_displayed()
    page.refresh()
    unread = page.find_element(By.CSS_SELECTOR, ".mw-unread")
    assert unread.is_displayed() and unread.text == "(new message)"
    page.execute_script("MutualsWidget.instance.open(false); MutualsWidget.instance.close();")
    page.refresh()
    assert not page.find_element(By.CSS_SELECTOR, ".mw-unread").is_displayed()  # read once opened
    page.execute_script("localStorage.clear()")
