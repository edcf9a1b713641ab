"""`mutuals` in a terminal: help with no arguments, and replies as plain readable text."""

import subprocess
import sys

from bot.terminal_text import plain_text


def test_mutuals_with_no_arguments_prints_its_help_and_succeeds():
    done = subprocess.run([sys.executable, "-m", "bot.cli"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("usage: mutuals") and "ask" in done.stdout and "eval" in done.stdout


def test_markdown_is_stripped_and_links_become_numbered_footnotes():
    text = plain_text(
        "**Limits**\n\nNo one may hold more than £100,000 ([section 24](https://leg.example/24)).\n\n"
        "- one member\n- one vote\n\nSource: [Community shares](https://a.example/guidance/cs)"
    )
    assert text == (
        "Limits\n\nNo one may hold more than £100,000 (section 24 [1]).\n\n• one member\n• one vote\n\n"
        "Source: Community shares [2]\n\n[1] https://leg.example/24\n[2] https://a.example/guidance/cs"
    )


def test_the_same_link_twice_gets_one_footnote_and_buttons_are_numbered_options():
    text = plain_text(
        "See [this](https://a.example/x) and [that](https://a.example/x).",
        [("Tell me more", "/tell_me_more"), ("Talk to an adviser", "/request_human")],
    )
    assert text == (
        "See this [1] and that [1].\n\n[1] https://a.example/x\n\nYou can reply with:\n"
        "  1. Tell me more\n  2. Talk to an adviser"
    )
