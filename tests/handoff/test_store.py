"""The case store, the same code against SQLite and a real PostgreSQL server."""

import csv
import io

import pytest

from bot.console import hash_password, verify_password
from bot.handoff import AdviserHours, HandoffError, HandoffStore
from tests.support.case_store import people


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


def test_what_the_person_writes_in_an_open_case_is_new_until_whoever_has_it_opens_it(store):
    ann, bob, sue = people(store)
    clock = store.test_clock
    assert store.record_person_message("nobody-handed-off") is None  # no case: nothing to count
    case = store.open_case("conv-5", "socketio", "Can we pay our members a dividend?", "Sam")
    assert case.unread_messages == 0 and case.last_person_message_at is None

    # while it waits, two follow-ups; anyone opening a waiting case has seen them
    clock.now += 30
    store.record_person_message("conv-5")
    clock.now += 30
    waiting = store.record_person_message("conv-5")
    assert waiting.unread_messages == 2 and waiting.last_person_message_at == clock.now
    assert store.cases("waiting")[0].unread_messages == 2
    clock.now += 5
    seen = store.mark_seen(waiting, bob)
    assert seen.unread_messages == 0 and seen.adviser_seen_at == clock.now

    # claimed by Ann: a follow-up is new for her; Bob or a supervisor looking in leave it so
    store.claim(case.id, ann)
    clock.now += 60
    snapshot = store.record_person_message("conv-5")
    assert snapshot.unread_messages == 1
    assert store.mark_seen(snapshot, bob).unread_messages == 1
    assert store.mark_seen(snapshot, sue).unread_messages == 1
    assert [c.unread_messages for c in store.cases("mine", ann)] == [1]

    # Ann opens it: seen up to what her page was shown, not a message that came while it loaded
    clock.now += 1
    store.record_person_message("conv-5")
    opened = store.mark_seen(snapshot, ann)
    assert opened.unread_messages == 1 and opened.adviser_seen_at == clock.now
    assert store.mark_seen(store.case(case.id), ann).unread_messages == 0
    assert store.mark_seen(snapshot, ann).unread_messages == 0  # an older page never brings messages back

    # a reply means she has read them too
    store.record_person_message("conv-5")
    assert store.record_reply(case.id, ann).unread_messages == 0
    # a closed case has nothing new, and the person's next messages go to the assistant, not to it
    store.record_person_message("conv-5")
    store.close(case.id, ann, "answered", [])
    assert store.case(case.id).unread_messages == 0
    assert store.record_person_message("conv-5") is None
    assert store.case(case.id).person_messages == 6  # 2 waiting, 4 with Ann, none after it closed


# The schema of cases.db as the release before unread messages made it (sqlite3 .schema).
OLD_SQLITE_SCHEMA = """
CREATE TABLE advisers (id INTEGER NOT NULL, name VARCHAR(120) NOT NULL, email VARCHAR(254) NOT NULL,
    role VARCHAR(20) NOT NULL, password_hash VARCHAR(255) NOT NULL, active BOOLEAN NOT NULL,
    created_at FLOAT NOT NULL, PRIMARY KEY (id), UNIQUE (email));
CREATE TABLE login_failures ("key" VARCHAR(300) NOT NULL, failures INTEGER NOT NULL, last_at FLOAT NOT NULL,
    PRIMARY KEY ("key"));
CREATE TABLE audit (id INTEGER NOT NULL, case_id INTEGER, adviser_id INTEGER, action VARCHAR(40) NOT NULL,
    detail VARCHAR(500) NOT NULL, at FLOAT NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_audit_case_id ON audit (case_id);
CREATE TABLE adviser_sessions (token_hash VARCHAR(64) NOT NULL, adviser_id INTEGER NOT NULL,
    csrf_token VARCHAR(64) NOT NULL, expires_at FLOAT NOT NULL, PRIMARY KEY (token_hash),
    FOREIGN KEY(adviser_id) REFERENCES advisers (id));
CREATE TABLE cases (id INTEGER NOT NULL, conversation_id VARCHAR(128) NOT NULL, channel VARCHAR(40) NOT NULL,
    chat_id VARCHAR(64), status VARCHAR(20) NOT NULL, adviser_id INTEGER, question TEXT NOT NULL,
    person_name VARCHAR(120) NOT NULL, email VARCHAR(254) NOT NULL, topic VARCHAR(120) NOT NULL,
    created_at FLOAT NOT NULL, updated_at FLOAT NOT NULL, claimed_at FLOAT, closed_at FLOAT, outcome VARCHAR(20),
    tags VARCHAR(500) NOT NULL, rating INTEGER, PRIMARY KEY (id), FOREIGN KEY(adviser_id) REFERENCES advisers (id));
CREATE INDEX ix_cases_conversation_id ON cases (conversation_id);
CREATE INDEX ix_cases_status ON cases (status);
CREATE TABLE case_notes (id INTEGER NOT NULL, case_id INTEGER NOT NULL, adviser_id INTEGER NOT NULL,
    text TEXT NOT NULL, created_at FLOAT NOT NULL, PRIMARY KEY (id), FOREIGN KEY(case_id) REFERENCES cases (id),
    FOREIGN KEY(adviser_id) REFERENCES advisers (id));
CREATE INDEX ix_case_notes_case_id ON case_notes (case_id);
INSERT INTO advisers VALUES (1, 'Ann Adviser', 'ann@example.org', 'adviser', 'h1', 1, 1700000000.0);
INSERT INTO cases VALUES (1, 'old-conv', 'telegram', '42', 'assigned', 1, 'Are we still in the queue?', 'Sam', '',
    '', 1700000000.0, 1700000100.0, 1700000050.0, NULL, NULL, '', NULL);
INSERT INTO cases VALUES (2, 'older-conv', 'rest', NULL, 'closed', 1, 'Old question', '', '', '', 1690000000.0,
    1690000100.0, 1690000050.0, 1690000100.0, 'answered', 'pensions', 4);
INSERT INTO case_notes VALUES (1, 1, 1, 'Called back on Tuesday', 1700000060.0);
"""


def test_a_store_from_before_unread_messages_gains_them_and_keeps_its_cases(tmp_path):
    import sqlite3

    path = tmp_path / "handoffs.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLD_SQLITE_SCHEMA)
    store = HandoffStore(f"sqlite:///{path}")
    try:
        old = store.case(1)
        assert (old.conversation_id, old.status, old.adviser_id, old.question) == (
            "old-conv",
            "assigned",
            1,
            "Are we still in the queue?",
        )
        assert old.unread_messages == 0 and old.last_person_message_at is None and old.adviser_seen_at is None
        closed = store.case(2)
        assert (closed.outcome, closed.tags, closed.rating) == ("answered", "pensions", 4)
        assert store.notes(1)[0]["text"] == "Called back on Tuesday"
        assert store.credentials("ann@example.org")[1] == "h1"
        # and it works as a new one does
        assert store.record_person_message("old-conv").unread_messages == 1
        assert [c.unread_messages for c in store.cases("mine", store.adviser(1))] == [1]
    finally:
        store.dispose()
    again = HandoffStore(f"sqlite:///{path}")  # opening it again (already up to date) changes nothing
    try:
        assert again.case(1).unread_messages == 1 and again.case(2).rating == 4
    finally:
        again.dispose()


def test_a_postgresql_store_from_before_unread_messages_gains_them(postgres_url):
    import sqlalchemy as sa

    from bot.handoff._store import ADDED_CASE_COLUMNS, metadata

    engine = sa.create_engine(postgres_url, future=True)
    metadata.drop_all(engine)
    old = sa.MetaData()  # the tables as they were: ``cases`` without the added columns
    for table in metadata.sorted_tables:
        if table.name == "cases":
            sa.Table("cases", old, *[c._copy() for c in table.columns if c.name not in ADDED_CASE_COLUMNS])
        else:
            table.to_metadata(old)
    old.create_all(engine)
    with engine.begin() as db:
        db.execute(
            sa.text(
                "INSERT INTO cases (conversation_id, channel, status, question, person_name, email, topic,"
                " created_at, updated_at, tags) VALUES ('pg-conv', 'socketio', 'waiting', 'Still there?',"
                " 'Sam', '', '', 1700000000, 1700000000, '')"
            )
        )
    engine.dispose()
    stores = [HandoffStore(postgres_url), HandoffStore(postgres_url)]  # a second server starting: no error
    try:
        case = stores[0].open_case_for("pg-conv")
        assert case.question == "Still there?" and case.unread_messages == 0
        assert stores[1].record_person_message("pg-conv").unread_messages == 1
    finally:
        for s in stores:
            s.dispose()


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
    always = AdviserHours("Mon-Sun 00:00-24:00", "Europe/London")  # 24:00: until midnight
    assert all(always.is_open(saturday.replace(hour=h, minute=59)) for h in range(24))


def test_an_adviser_counts_as_available_only_when_they_said_so_and_are_signed_in(store):
    ann, bob, sue = people(store)
    assert store.available_advisers() == []  # nobody has said they are available
    store.set_available(ann.id, True)
    assert store.available_advisers() == []  # available, but not signed in
    token, _ = store.start_session(store.adviser(ann.id))
    store.start_session(store.adviser(bob.id))  # signed in, but has not said so
    assert [a.name for a in store.available_advisers()] == ["Ann Adviser"]
    assert store.session(token).adviser.available is True
    store.test_clock.now += store.session_seconds + 1  # the session has run out: away again
    assert store.available_advisers() == []
    store.start_session(store.adviser(ann.id))
    assert [a.name for a in store.available_advisers()] == ["Ann Adviser"]
    assert store.set_available(ann.id, False).available is False
    assert store.available_advisers() == []
    assert [(a["action"], a["adviser"]) for a in store.audit_trail(None)] == [  # audited, outside any case
        ("available", "Ann Adviser"),
        ("away", "Ann Adviser"),
    ]


def test_the_likely_wait_is_the_median_of_recent_waits_and_unsaid_with_too_few(store):
    ann, _, _ = people(store)
    clock = store.test_clock
    for i, wait in enumerate([60, 600, 180]):
        case = store.open_case(f"conv-{i}", "socketio", "q")
        clock.now += wait
        store.claim(case.id, ann)
        if i == 1:
            assert store.likely_wait() is None  # two claimed cases are too few to say
    assert store.likely_wait() == 180.0
    case = store.open_case("conv-3", "socketio", "q")
    clock.now += 300
    store.claim(case.id, ann)
    assert store.likely_wait() == (180 + 300) / 2
    clock.now += 15 * 86400  # a fortnight on, those waits say nothing about today
    assert store.likely_wait() is None


def test_a_reply_keeps_the_guidance_sources_it_used_until_the_case_is_erased(store):
    ann, _, _ = people(store)
    case = store.open_case("conv-src", "socketio", "Do pensions transfer?")
    source = {
        "slug": "pensions-when-spinning-out",
        "anchor": "the-lgps",
        "title": "Pensions › The LGPS",
        "url": "http://web/guidance/pensions-when-spinning-out#the-lgps",
        "extra": "dropped",
    }
    store.record_reply(case.id, ann, chars=42, sources=[source])
    store.record_reply(case.id, ann, chars=7)
    replies = store.replies(case.id)
    assert replies == [
        {
            "adviser": "Ann Adviser",
            "at": store.test_clock.now,
            "chars": 42,
            "sources": [{k: v for k, v in source.items() if k != "extra"}],
        },
        {"adviser": "Ann Adviser", "at": store.test_clock.now, "chars": 7, "sources": []},
    ]
    assert [(a["action"], a["detail"]) for a in store.audit_trail(case.id)][-2:] == [
        ("replied", "using pensions-when-spinning-out#the-lgps"),
        ("replied", ""),
    ]
    assert store.delete_conversation("conv-src") == 1
    assert store.replies(case.id) == []
