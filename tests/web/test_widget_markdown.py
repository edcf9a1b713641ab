"""The widget's tiny markdown renderer, run in the browser (no assistant needed)."""
from __future__ import annotations

import pytest

from bot.settings import ROOT
from widget_page import make_driver, other_site  # noqa: F401  (a fixture)

pytestmark = pytest.mark.slow

WIDGET = ROOT / "bot" / "web" / "static" / "widget"
NEW_TAB = '<span class="mw-vh"> (opens in a new tab)</span>'


def link(href: str, text: str) -> str:
    return f'<a href="{href}" target="_blank" rel="noopener">{text}{NEW_TAB}</a>'


CASES = [
    ("Hello **world**", "<p>Hello <strong>world</strong></p>"),
    ("one\ntwo\n\nthree", "<p>one two</p><p>three</p>"),
    ("*stress* and `code`", "<p><em>stress</em> and <code>code</code></p>"),
    ("Steps:\n- first\n- **second**\n  goes on\n\nAfter",
     "<p>Steps:</p><ul><li>first</li><li><strong>second</strong> goes on</li></ul><p>After</p>"),
    ("3. c\n4. d", '<ol start="3"><li>c</li><li>d</li></ol>'),
    ("- a\n  - a1\n  - a2\n- b", "<ul><li>a<ul><li>a1</li><li>a2</li></ul></li><li>b</li></ul>"),
    ("## A heading\nText", '<p class="mw-heading"><strong>A heading</strong></p><p>Text</p>'),
    ("See [the page](https://example.org/guidance/x#y).",
     "<p>See " + link("https://example.org/guidance/x#y", "the page") + ".</p>"),
    ("[**Bold** link](http://h.test/a)", "<p>" + link("http://h.test/a", "<strong>Bold</strong> link") + "</p>"),
    ("[relative](/guidance/asset-locks)", "<p>" + link("http://base.test/guidance/asset-locks", "relative") + "</p>"),
    # only http(s) links: the words stay, the link goes
    ("[click](javascript:alert(1))", "<p>click</p>"),
    ("[Act](https://w.test/Act_(2014)) then", "<p>" + link("https://w.test/Act_(2014)", "Act") + " then</p>"),
    ("[x](data:text/html,hi) [y](vbscript:z)", "<p>x y</p>"),
    ("[unclosed](http://a", "<p>[unclosed](http://a</p>"),
    # markup is text
    ("<img src=x onerror=alert(1)><script>alert(2)</script>",
     "<p>&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;</p>"),
    ('**<b onclick="x()">hi</b>**', "<p><strong>&lt;b onclick=\"x()\"&gt;hi&lt;/b&gt;</strong></p>"),
    (r"\*not em\* and 2 * 3 * 4", "<p>*not em* and 2 * 3 * 4</p>"),
    ("", ""),
]


@pytest.fixture(scope="module")
def page(other_site, tmp_path_factory):
    other_site.copy(WIDGET / "widget.js")
    other_site.copy(WIDGET / "widget.css")
    url = other_site.add("markdown.html", '<!doctype html><html><head><meta charset="utf-8"></head><body>'
                         '<script src="widget.js" data-server="http://127.0.0.1:9"></script></body></html>')
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
    text = "**Heading**\n\nBody text.\n\nSource: [Co-operative societies](http://w.test/guidance/co-operative-society#x)"
    got = page.execute_script("return MutualsWidget.splitSource(arguments[0], 'http://base.test/')", text)
    assert got == {"body": "**Heading**\n\nBody text.", "title": "Co-operative societies",
                   "href": "http://w.test/guidance/co-operative-society#x"}
    for not_source in ["Source: [x](javascript:alert(1))", "Body. Source: [x](http://a.test/) inline",
                       "Mid-paragraph\nSource: [x](http://a.test/)"]:
        assert page.execute_script("return MutualsWidget.splitSource(arguments[0])", not_source) is None


def test_accent_colour_is_made_accessible(page):
    for colour in ["#ffcc00", "#ffffff", "#7fbfff", "#0b5c4a", "not a colour"]:
        ratio = page.execute_script(
            "return MutualsWidget.contrast(MutualsWidget.accessibleAccent(arguments[0]), '#ffffff')", colour)
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
