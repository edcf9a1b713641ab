"""Fuzzing the knowledge-gap page's forms (bot/console/_insights_gaps.py): whatever a signed-in
supervisor's browser (or anyone else) posts, the answer is the page again, a redirect back or a
clear 4xx, never a crash; without the session's CSRF token nothing in knowledge/ changes; and
whatever is written there still reads as YAML with the section's phrasings intact."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import pytest
import yaml
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.support.fuzz_inputs import TEXT
from tests.support.console_desk import cookie

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
GROUP_IDS = st.sampled_from(["1", "2", "0", "-1", "999999", "abc", "1e9", "%00", "99999999999999999999999"])
ACTIONS = st.sampled_from(["phrasing", "draft", "dismiss"])
FIELDS = st.dictionaries(
    st.sampled_from(["miss_id", "section", "reason", "to", "title", "extra"]), TEXT | st.integers().map(str), max_size=4
)


def knowledge_digest(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.fixture
def post(web):
    """``post(path, form, session)`` -> (status, text), through one server for every example."""
    loop = asyncio.new_event_loop()
    client = TestClient(TestServer(web.app, loop=loop), loop=loop)
    loop.run_until_complete(client.start_server())

    def send(path: str, form: dict, session=None):
        async def go():
            headers = cookie(session) if session else {}
            async with client.post(path, data=form, headers=headers, allow_redirects=False) as r:
                return r.status, await r.text()

        return loop.run_until_complete(go())

    yield send
    loop.run_until_complete(client.close())
    loop.close()


@pytest.mark.slow
def test_gap_forms_without_the_csrf_token_change_nothing_and_never_crash(web, post):
    before = knowledge_digest(web.knowledge)

    @FUZZ
    @given(
        action=ACTIONS,
        group=GROUP_IDS,
        fields=FIELDS,
        who=st.sampled_from(["sue", "ann", None]),
        csrf=st.sampled_from(["missing", "wrong", "other's"]),
    )
    def check(action, group, fields, who, csrf):
        form = dict(fields)
        if csrf == "wrong":
            form["csrf"] = "not-the-token"
        elif csrf == "other's":
            form["csrf"] = (web.ann if who == "sue" else web.sue)[1]
        path = "/console/gaps/move" if action == "move" else f"/console/gaps/{group}/{action}"
        status, text = post(path, form, getattr(web, who) if who else None)
        assert status in (303, 400, 403, 404, 413), (status, text[:300])
        assert status == 303 if who is None else status != 303  # signed out: to the sign-in page
        assert text or status == 303

    check()
    assert knowledge_digest(web.knowledge) == before


@pytest.mark.slow
def test_gap_forms_with_any_fields_from_a_supervisor_answer_clearly_and_keep_knowledge_readable(web, post):
    @FUZZ
    @given(action=ACTIONS | st.just("move"), group=GROUP_IDS, fields=FIELDS)
    def check(action, group, fields):
        form = dict(fields, csrf=web.sue[1])
        path = "/console/gaps/move" if action == "move" else f"/console/gaps/{group}/{action}"
        status, text = post(path, form, web.sue)
        assert status in (200, 303, 400, 404, 409, 413), (status, text[:300])
        if status >= 400:
            assert text.strip(), status  # a reason, not an empty page
        for phrasings in (web.knowledge / "phrasings").glob("*.yml"):
            assert isinstance(yaml.safe_load(phrasings.read_text(encoding="utf-8")), (dict, list)), phrasings.name

    check()
