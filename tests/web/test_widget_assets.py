"""The widget's files and how they get to the browser (fast: no browser, no assistant)."""

from __future__ import annotations

import json
import os
import re
import stat

import pytest

from bot import provision
from bot.settings import ROOT, Settings

STATIC = ROOT / "bot" / "web" / "static"
WIDGET_JS = (STATIC / "widget" / "widget.js").read_text()
WIDGET_CSS = (STATIC / "widget" / "widget.css").read_text()
MARKDOWN_JS = (STATIC / "shared" / "markdown.js").read_text()  # the renderer the widget and the console share
TEMPLATES = ROOT / "bot" / "web" / "templates"
HOME = (TEMPLATES / "home.html").read_text()
CHAT = (TEMPLATES / "_chat.html").read_text()  # the tag every public page includes


def code_only(js: str) -> str:
    """widget.js without its comments (the header shows an example tag with URLs)."""
    return re.sub(r"/\*.*?\*/|(?<![:\"'\\])//[^\n]*", "", js, flags=re.S)


@pytest.mark.parametrize(
    "sink",
    [
        "innerHTML",
        "outerHTML",
        "insertAdjacentHTML",
        "document.write",
        "eval(",
        "new Function",
        "setAttribute(\"on",
        "srcdoc",
        "createContextualFragment",
        "DOMParser",
    ],
)
def test_widget_never_parses_html(sink):
    assert sink not in WIDGET_JS
    assert sink not in MARKDOWN_JS


def test_nothing_loads_from_another_host():
    code = code_only(WIDGET_JS)
    assert not re.search(r"https?://", code), "widget.js loads everything relative to itself"
    assert not re.search(r"https?://|@import", WIDGET_CSS)
    assert "../vendor/socket.io.min.js" in code and '"widget.css"' in code
    assert '"../shared/markdown.js"' in code  # the renderer, from beside itself: still one tag for embedders
    assert not re.search(r"https?://", code_only(MARKDOWN_JS))


def test_the_console_renders_messages_with_the_widgets_renderer():
    case_page = (TEMPLATES / "console" / "case.html").read_text()
    assert '<script src="/static/shared/markdown.js"></script><script src="/static/console/console.js">' in case_page
    console_js = (STATIC / "console" / "console.js").read_text()
    assert "MutualsMarkdown.renderMessage(" in console_js
    assert "function renderInline" in MARKDOWN_JS and "function renderInline" not in WIDGET_JS + console_js  # one copy


def test_demo_page_embeds_with_one_tag_and_no_inline_script():
    assert '{% include "_chat.html" %}' in HOME and "<script" not in HOME.replace("&lt;script", "")
    tags = re.findall(r"<script\b[^>]*>", CHAT)
    assert len(tags) == 1
    tag = tags[0]
    assert 'src="/static/widget/widget.js"' in tag
    for name in ("data-server", "data-title", "data-color", "data-welcome", "data-starters"):
        assert name in tag
    assert not re.search(r"\son[a-z]+\s*=", HOME + CHAT)
    assert re.search(r"<script\b[^>]*></script>", CHAT)  # nothing between the tags


@pytest.mark.parametrize("template", ["home.html", "guidance_list.html", "guidance_page.html"])
def test_the_chat_is_on_every_public_page(template):
    assert '{% include "_chat.html" %}' in (TEMPLATES / template).read_text()


def test_socket_io_client_is_pinned():
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    wanted = package["dependencies"]["socket.io-client"]
    assert re.fullmatch(r"4\.\d+\.\d+", wanted), "an exact 4.x: engine.io protocol v4, as python-socketio 5.9"
    assert lock["packages"]["node_modules/socket.io-client"]["version"] == wanted
    vendored = STATIC / "vendor" / "socket.io.min.js"
    if vendored.exists():  # made by 'mutuals setup'
        assert f"Socket.IO v{wanted}" in vendored.read_text()[:200]


def test_chart_js_is_pinned_and_served_from_our_origin():
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    wanted = package["dependencies"]["chart.js"]
    assert re.fullmatch(r"4\.\d+\.\d+", wanted), "an exact 4.x (Chart.getChart, the UMD build's window.Chart)"
    assert lock["packages"]["node_modules/chart.js"]["version"] == wanted
    page = (TEMPLATES / "console" / "insights.html").read_text()
    assert (
        '<script src="/static/vendor/chart.umd.min.js"></script><script src="/static/console/insights.js"></script>'
        in page
    )
    vendored = STATIC / "vendor" / "chart.umd.min.js"
    if vendored.exists():  # made by 'mutuals setup'
        assert f"Chart.js v{wanted}" in vendored.read_text()[:200]


def test_widget_assets_runs_npm_only_when_the_lock_changes(tmp_path, monkeypatch):
    root = tmp_path / "repo"
    (root / "bot" / "web" / "static").mkdir(parents=True)
    (root / "package.json").write_text('{"dependencies": {"socket.io-client": "4.8.1"}}')
    (root / "package-lock.json").write_text('{"lockfileVersion": 3}')
    calls = tmp_path / "calls"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    npm = bin_dir / "npm"
    npm.write_text(f"""#!/bin/sh
echo "$@" >> {calls}
mkdir -p node_modules/socket.io-client/dist
echo "/*! Socket.IO v4.8.1 $(cat package-lock.json) */" > node_modules/socket.io-client/dist/socket.io.min.js
mkdir -p node_modules/chart.js/dist
echo "/*! Chart.js v4.6.1 */" > node_modules/chart.js/dist/chart.umd.min.js
""")
    npm.chmod(npm.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setattr(provision, "ROOT", root)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    settings = Settings.from_env(env={})
    vendored = root / "bot" / "web" / "static" / "vendor" / "socket.io.min.js"

    assert provision.widget_assets(settings) is True
    assert calls.read_text().split() == ["ci", "--ignore-scripts", "--no-audit", "--no-fund"]
    assert "Socket.IO v4.8.1" in vendored.read_text()
    chart = vendored.with_name("chart.umd.min.js")
    assert "Chart.js v4.6.1" in chart.read_text()  # the dashboard's charts, on a clean machine
    assert provision.widget_assets(settings) is False  # nothing changed: no npm
    assert len(calls.read_text().splitlines()) == 1

    (root / "node_modules" / "chart.js").rename(root / "node_modules" / "chart.js-gone")
    chart.unlink()  # a set-up from before Chart.js: its package is missing, so npm runs again
    assert provision.widget_assets(settings) is True
    assert len(calls.read_text().splitlines()) == 2 and chart.exists()

    vendored.unlink()  # the copy goes missing: copied again without npm
    assert provision.widget_assets(settings) is False
    assert vendored.exists()

    (root / "package-lock.json").write_text('{"lockfileVersion": 3, "changed": true}')
    assert provision.widget_assets(settings) is True
    assert len(calls.read_text().splitlines()) == 3
    assert "changed" in vendored.read_text()


def test_the_tools_that_check_the_scripts_are_pinned_exactly():
    # ESLint and its config's packages (eslint.config.js), axe-core for the browser tests: installed
    # by the same npm ci as the widget's packages, at the versions the lock file names
    package = json.loads((ROOT / "package.json").read_text())
    lock = json.loads((ROOT / "package-lock.json").read_text())
    for name in ("eslint", "@eslint/js", "globals", "axe-core"):
        wanted = package["devDependencies"][name]
        assert re.fullmatch(r"\d+\.\d+\.\d+", wanted), (name, wanted)
        assert lock["packages"][f"node_modules/{name}"]["version"] == wanted, name
