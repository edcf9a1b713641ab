"""The case store, the same code against SQLite and a real PostgreSQL server."""
import csv
import io

import pytest

from bot.console import hash_password, verify_password
from bot.handoff import AdviserHours, HandoffError, HandoffStore
from servers import postgres_server


class Clock:
    def __init__(self):
        self.now = 1_800_000_000.0

    def __call__(self):
        return self.now


@pytest.fixture(scope="module")
def postgres_url():
    with postgres_server() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    clock = Clock()
    if request.param == "sqlite":
        s = HandoffStore(f"sqlite:///{tmp_path / 'cases.db'}", clock=clock)
    else:
        url = request.getfixturevalue("postgres_url")
        s = HandoffStore(url, clock=clock)
        from bot.handoff._store import metadata
        metadata.drop_all(s.engine)
        metadata.create_all(s.engine)
    s.test_clock = clock
    yield s
    s.dispose()


def people(store):
    ann = store.add_adviser("Ann Adviser", "ann@example.org", "adviser", "h1")
    bob = store.add_adviser("Bob Adviser", "bob@example.org", "adviser", "h2")
    sue = store.add_adviser("Sue Supervisor", "sue@example.org", "supervisor", "h3")
    return ann, bob, sue


def test_a_case_goes_from_waiting_to_claimed_to_closed_with_an_audit_trail(store):
    ann, bob, sue = people(store)
    case = store.open_case("conv-1", "socketio", "How do we keep our pensions?", "Sam", "sam@example.org")
    assert case.status == "waiting" and store.queue_position(case) == 1
    assert store.open_case("conv-1", "socketio", "again") == case  # one open case per conversation
    store.test_clock.now += 60
    second = store.open_case("conv-2", "telegram", "TUPE?", chat_id="42")
    assert store.queue_position(second) == 2
    assert [c.id for c in store.cases("waiting")] == [case.id, second.id]

    claimed = store.claim(case.id, ann)
    assert claimed.status == "assigned" and claimed.adviser_id == ann.id
    with pytest.raises(HandoffError, match="no longer waiting"):
        store.claim(case.id, bob)
    assert [c.id for c in store.cases("mine", ann)] == [case.id]
    assert [c.id for c in store.cases("others", bob)] == [case.id]
    with pytest.raises(HandoffError, match="another adviser"):
        store.record_reply(case.id, bob)
    store.record_reply(case.id, ann)
    store.add_note(case.id, ann, "Referred to the LGPS page")
    closed = store.close(case.id, ann, "answered", ["Pensions", "lgps", "pensions"])
    assert closed.status == "closed" and closed.tags == "lgps,pensions"
    assert store.open_case_for("conv-1") is None
    assert [a["action"] for a in store.audit_trail(case.id)] == ["opened", "claimed", "replied", "noted", "closed"]
    assert store.notes(case.id)[0]["adviser"] == "Ann Adviser"
    assert store.rate("conv-1", 4).rating == 4
    with pytest.raises(HandoffError):
        store.rate("conv-1", 9)


def test_only_a_supervisor_reassigns_and_exports(store):
    ann, bob, sue = people(store)
    case = store.open_case("conv-3", "rest", "=HYPERLINK(\"http://evil\")")
    store.claim(case.id, ann)
    with pytest.raises(HandoffError, match="supervisor"):
        store.assign(case.id, bob, by=ann)
    assert store.assign(case.id, bob, by=sue).adviser_id == bob.id
    store.close(case.id, bob, "referred", [])
    rows = list(csv.reader(io.StringIO(store.export_closed_csv())))
    assert rows[0][0] == "case" and rows[1][4] == "Bob Adviser" and rows[1][5] == "referred"
    assert rows[1][-1].startswith("'=")  # a spreadsheet will not run it as a formula


def test_bad_requests_are_refused_with_a_reason(store):
    ann, _, _ = people(store)
    with pytest.raises(HandoffError, match="already exists"):
        store.add_adviser("Ann again", "ANN@example.org", "adviser", "h")
    with pytest.raises(HandoffError, match="role"):
        store.add_adviser("X", "x@example.org", "boss", "h")
    with pytest.raises(HandoffError, match="no case"):
        store.case(999)
    case = store.open_case("conv-4", "rest", "q")
    with pytest.raises(HandoffError, match="outcome"):
        store.close(case.id, ann, "done", [])
    with pytest.raises(HandoffError, match="note needs"):
        store.add_note(case.id, ann, "   ")


def test_sessions_expire_and_are_stored_only_as_hashes(store):
    ann, _, _ = people(store)
    token, csrf = store.start_session(ann)
    session = store.session(token)
    assert session.adviser.id == ann.id and session.csrf_token == csrf
    assert store.session("not-a-token") is None
    store.test_clock.now += store.session_seconds + 1
    assert store.session(token) is None
    token2, _ = store.start_session(ann)
    store.end_session(token2)
    assert store.session(token2) is None


def test_login_failures_are_counted_per_key_within_a_window(store):
    assert store.record_login_failure("ip:1") == 1
    assert store.record_login_failure("ip:1") == 2
    store.test_clock.now += 16 * 60
    assert store.login_failures("ip:1") == 0
    store.record_login_failure("ip:1")
    store.clear_login_failures("ip:1")
    assert store.login_failures("ip:1") == 0


def test_erasure_and_retention_remove_cases_and_notes(store):
    ann, _, _ = people(store)
    old = store.open_case("old", "rest", "q1", email="old@example.org")
    store.add_note(old.id, ann, "note")
    store.close(old.id, ann, "answered", [])
    store.test_clock.now += 200 * 86400
    keep = store.open_case("new", "rest", "q2")
    assert store.delete_closed_before(store.test_clock.now - 180 * 86400) == 1
    assert store.open_case_for("new") == keep
    assert store.notes(old.id) == [] and store.audit_trail(old.id) == []
    assert store.delete_conversation("new") == 1 and store.cases("waiting") == []


def test_a_case_store_survives_a_restart(tmp_path):
    url = f"sqlite:///{tmp_path / 'cases.db'}"
    first = HandoffStore(url)
    case = first.open_case("conv", "socketio", "still here?")
    first.dispose()
    again = HandoffStore(url)
    assert again.open_case_for("conv") == case


def test_passwords_are_hashed_with_argon2_and_short_ones_refused():
    hashed = hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$") and verify_password(hashed, "correct horse battery")
    assert not verify_password(hashed, "wrong horse battery")
    with pytest.raises(ValueError, match="12"):
        hash_password("short")


def test_adviser_hours():
    import datetime as dt
    hours = AdviserHours("Mon-Fri 09:00-17:00", "Europe/London")
    monday_noon = dt.datetime(2026, 11, 30, 12, 0, tzinfo=dt.timezone.utc)
    saturday = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.timezone.utc)
    assert hours.is_open(monday_noon) and not hours.is_open(saturday)
    assert hours.next_opening(saturday).strftime("%a %H:%M") == "Mon 09:00"
    with pytest.raises(ValueError):
        AdviserHours("weekdays")
