"""Fuzzing the adviser console's routes for handing cases over, tags, the search of closed cases
and saved replies (the rest of the console is fuzzed in test_fuzz.py; the fixtures are in conftest.py):
any body or query gets a clear 4xx with a JSON error (or, where a request may be right, a 200),
never a crash, and changes still need the session's CSRF token."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import given, strategies as st

from tests.support.fuzz_inputs import FUZZ, JSON, SCALARS, TEXT, dumps
from tests.support.person_and_adviser import signed_in_adviser

pytestmark = pytest.mark.slow

BAD_IDS = st.sampled_from(["999999", "0", "-1", "abc", "1e9", "%00", "99999999999999999999999"])
BODIES = (
    JSON.map(dumps)
    | st.binary(max_size=100)
    | st.sampled_from(
        [
            b"",
            b"{}",
            b'{"to": null}',
            b'{"to": "1", "note": "n"}',
            b'{"tags": "a,b"}',
            b'{"tags": [1]}',
            b'{"active": "no"}',
            b'{"name": 5}',
        ]
    )
)
TRANSFERS = st.fixed_dictionaries({"to": SCALARS, "note": SCALARS}).map(dumps)


def test_console_desk_routes_with_bad_bodies_answer_4xx(running_stack, adviser, loop):
    from bot.handoff import HandoffStore

    store = HandoffStore(running_stack.settings.handoff_store)
    case = store.open_case(f"fuzz-{uuid.uuid4().hex[:10]}", "rest", "A fuzzed case")  # waiting, nobody has it
    store.dispose()
    base = f"{running_stack.settings.web_url}/console/api"

    async def call(path, body, csrf):
        headers = {"Content-Type": "application/json", "X-CSRF-Token": adviser.csrf if csrf else "nope"}
        async with adviser.http.post(f"{base}{path}", data=body, headers=headers) as r:
            return r.status, await r.text()

    @FUZZ
    @given(
        st.sampled_from(["transfer", "tags", "saved-replies/1/use", "saved-replies/abc/use"]),
        BAD_IDS | st.just(str(case.id)),
        BODIES | TRANSFERS,
        st.booleans(),
    )
    def on_a_case(action, case_id, body, csrf):
        status, text = loop.run(call(f"/cases/{case_id}/{action}", body, csrf))
        allowed = (400, 403, 404, 409, 413) + ((200,) if case_id == str(case.id) and csrf else ())
        assert status in allowed, (status, action, case_id, body[:100], text[:300])
        if status != 200:
            assert isinstance(json.loads(text).get("error"), str)

    @FUZZ
    @given(
        st.sampled_from(
            [
                "/tags",
                "/tags/1",
                "/tags/0",
                "/tags/abc",
                "/tags/99999999999999999999999",
                "/saved-replies",
                "/saved-replies/1",
                "/saved-replies/x",
            ]
        ),
        BODIES,
        st.booleans(),
    )
    def supervisors_only(path, body, csrf):
        status, text = loop.run(call(path, body, csrf))  # this adviser is not a supervisor
        assert status in (400, 403, 404), (status, path, body[:100], text[:300])
        assert isinstance(json.loads(text).get("error"), str)

    on_a_case()
    supervisors_only()
    assert loop.run(adviser.api("GET", "/cases"))["waiting"] is not None


def test_the_search_of_closed_cases_with_any_query(running_stack, adviser, loop):
    from tests.support.person_and_adviser import ConsoleAdviser
    from yarl import URL

    email, password = f"fuzz-search-{uuid.uuid4().hex[:6]}@example.org", "a long enough password"
    ConsoleAdviser.create(running_stack.settings.handoff_store, "Fuzz Searcher", email, password, role="supervisor")
    supervisor = loop.run(signed_in_adviser(running_stack.settings.web_url, email, password))
    url = f"{running_stack.settings.web_url}/console/api/closed-cases"
    # (a value of 100,000 characters gets aiohttp's own 400 for a request line too long, before any
    # route, as in test_fuzz.py's insights fuzzing)
    values = (
        TEXT.filter(lambda t: len(t) <= 2000)
        | st.dates().map(str)
        | st.integers().map(str)
        | st.sampled_from(["2026-13-01", "9999-12-31", "0001-01-01", "%", "_", "\\", "%ff%fe", "%00"])
    )
    queries = st.lists(
        st.tuples(st.sampled_from(["tag", "q", "adviser", "from", "to"]) | st.text(max_size=6), values), max_size=5
    )

    async def get(who, pairs):
        from urllib.parse import quote_from_bytes

        def enc(text):
            return text if text.startswith("%") else quote_from_bytes(text.encode("utf-8", "surrogatepass"), safe="")

        query = "&".join(f"{enc(k)}={enc(v)}" for k, v in pairs)
        async with who.http.get(URL(f"{url}?{query}", encoded=True)) as r:
            return r.status, await r.text()

    @FUZZ
    @given(queries)
    def one(pairs):
        status, text = loop.run(get(supervisor, pairs))
        assert status in (200, 400), (status, pairs, text[:300])
        body = json.loads(text)
        assert isinstance(body["cases"], list) if status == 200 else isinstance(body.get("error"), str)
        status, text = loop.run(get(adviser, pairs))
        assert status == 403 and "supervisor" in json.loads(text)["error"]

    try:
        one()
    finally:
        loop.run(supervisor.close())
