"""The editors' loop on the running stack, on a copy of knowledge/: three differently worded
questions the guidance cannot answer form one group on the gap page; a supervisor adds one as a
phrasing of the right section through the console; asked again, without restarting anything, it is
answered from that section with its source."""

from __future__ import annotations

import re
import shutil
import time
import urllib.parse
import urllib.request

import pytest

from tests.support.assistant_stack import log_text, say_rest, stack_settings
from bot.console import COOKIE
from bot.handoff import HandoffStore
from bot.insights._misses import MissStore
from bot.settings import ROOT
from bot.stack import Stack

pytestmark = pytest.mark.slow
SLUG = "when-a-contract-ends-or-the-organisation-fails"
SECTION = f"{SLUG}#what-happens-to-a-mutual-s-assets-and-members-when-it-closes"
QUESTIONS = [
    "can our bowls club members divvy up the clubhouse money when we disband",
    "when the club disbands can we divvy up the cash between us",
    "we're disbanding, can the committee divvy up what's in the club account",
]


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def fetch(url, cookie, form=None):
    data = urllib.parse.urlencode(form).encode() if form is not None else None
    request = urllib.request.Request(url, data=data, headers={"Cookie": cookie})
    try:
        with urllib.request.build_opener(NoRedirect).open(request, timeout=60) as response:
            return response.status, response.read().decode(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace"), dict(exc.headers)


def text_of(replies):
    return "\n".join(r.get("text") or "" for r in replies)


def test_a_gap_becomes_a_phrasing_and_is_answered_without_a_restart(tmp_path):
    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge)
    settings = stack_settings(tmp_path / "var", knowledge_dir=knowledge)
    with Stack(settings, log_dir=tmp_path / "var" / "logs") as stack:
        s = stack.settings
        for n, question in enumerate(QUESTIONS):
            said = text_of(say_rest(stack, f"gap-person-{n}", question))
            assert "/guidance/" not in said and "not sure" in said, said

        store = HandoffStore(s.handoff_store)
        sue = store.add_adviser("Sue Supervisor", "sue.gaps@example.org", "supervisor", "not-a-real-hash")
        token, csrf = store.start_session(sue)
        cookie = f"{COOKIE}={token}"
        status, page, _ = fetch(f"{s.web_url}/console/gaps", cookie)
        assert status == 200, page
        groups = re.split(r'<section class="gap"', page)[1:]
        together = [g for g in groups if all(q.replace("'", "&#39;") in g for q in QUESTIONS)]
        assert len(together) == 1, page
        group_id = int(re.search(r'id="gap-(\d+)-title"', together[0]).group(1))
        misses = MissStore(engine=store.engine)
        asked = [m for m in misses.misses() if m.question == QUESTIONS[0]]
        assert asked and asked[0].kind == "declined" and asked[0].group_id == group_id and asked[0].answer

        actions_pid = stack.part("actions").process.pid
        status, body, headers = fetch(
            f"{s.web_url}/console/gaps/{group_id}/phrasing",
            cookie,
            {"csrf": csrf, "miss_id": asked[0].id, "section": SECTION},
        )
        assert status == 303 and "done=phrasing" in headers.get("Location", ""), body
        assert QUESTIONS[0] in (knowledge / "phrasings" / f"{SLUG}.yml").read_text()
        assert QUESTIONS[0] in (knowledge / "questions" / "approved-gaps.yml").read_text()
        assert QUESTIONS[0] not in (ROOT / "knowledge" / "phrasings" / f"{SLUG}.yml").read_text()

        deadline, n, said = time.monotonic() + 120, 0, ""
        while time.monotonic() < deadline:
            n += 1
            said = text_of(say_rest(stack, f"gap-again-{n}", QUESTIONS[0]))
            if f"/guidance/{SECTION}" in said:
                break
            time.sleep(2)
        assert "Source: [When a contract ends or the organisation fails]" in said and f"/guidance/{SECTION})" in said, (
            said
        )
        assert stack.part("actions").process.pid == actions_pid  # not restarted
        assert "guidance reloaded" in log_text(stack)
        store.dispose()
