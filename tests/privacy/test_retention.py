"""``mutuals retention`` on SQLite and PostgreSQL, with a clock of the test's own: conversations
idle too long and cases closed too long ago go, with their notes and their conversations' events;
everything newer, and every conversation with a case still kept, stays."""

import asyncio
import contextlib

import pytest
import sqlalchemy as sa

from bot.cli import main as mutuals
from bot.handoff import HandoffStore
from bot.privacy import ConversationEraser
from bot.settings import Settings
from bot.trackers import UrlSQLTrackerStore
from tests.support.servers import postgres_server

DAY = 86400.0
NOW = 1_900_000_000.0


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def add_conversation(url: str, sender: str, at: float, text: str = "hello") -> None:
    from rasa.shared.core.events import ActionExecuted, BotUttered, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = UrlSQLTrackerStore(url=url)
    tracker = DialogueStateTracker(sender, [])
    for event in (
        ActionExecuted("action_listen", timestamp=at - 60),
        UserUttered(text, timestamp=at - 30),
        BotUttered("an answer", timestamp=at),
    ):
        tracker.update(event)
    asyncio.run(store.save(tracker))
    store.engine.dispose()


def senders(url: str) -> set:
    engine = sa.create_engine(url)
    with engine.connect() as db:
        found = {r[0] for r in db.execute(sa.text("SELECT DISTINCT sender_id FROM events"))}
    engine.dispose()
    return found


@contextlib.contextmanager
def databases(kind, tmp_path):
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'trackers.db'}", f"sqlite:///{tmp_path / 'handoffs.db'}"
    else:
        with postgres_server() as url:
            yield url, url  # one database for both, as an operator may do


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def test_retention_deletes_what_is_older_than_the_periods(kind, tmp_path, capsys):
    with databases(kind, tmp_path) as (trackers, handoffs):
        clock = Clock(NOW - 400 * DAY)
        store = HandoffStore(handoffs, clock=clock)
        adviser = store.add_adviser("Alex", "alex@example.org", "adviser", "x")

        add_conversation(trackers, "old-chat", NOW - 31 * DAY, "my email is old@example.org")
        add_conversation(trackers, "recent-chat", NOW - 29 * DAY)
        add_conversation(trackers, "old-case-chat", NOW - 200 * DAY)
        add_conversation(trackers, "kept-case-chat", NOW - 100 * DAY)
        add_conversation(trackers, "open-case-chat", NOW - 90 * DAY)
        add_conversation(trackers, "old-case-active-chat", NOW - 1 * DAY)

        clock.now = NOW - 200 * DAY
        old = store.open_case("old-case-chat", "socketio", "an old question", "Sam", "sam@example.org")
        store.add_note(old.id, adviser, "called Sam back")
        store.close(old.id, adviser, "answered")
        active = store.open_case("old-case-active-chat", "socketio", "another old question")
        store.close(active.id, adviser, "answered")
        clock.now = NOW - 100 * DAY
        kept = store.open_case("kept-case-chat", "socketio", "a newer question", "Kim", "kim@example.org")
        store.add_note(kept.id, adviser, "a note")
        store.close(kept.id, adviser, "answered")
        clock.now = NOW - 90 * DAY
        still_open = store.open_case("open-case-chat", "telegram", "waiting a long time")
        clock.now = NOW

        from bot.insights._misses import MissStore

        misses = MissStore(engine=store.engine, clock=clock)  # the gap page's questions follow their conversations
        misses.record("old-chat", "declined", "my email is old@example.org, can we spin out?", at=NOW - 31 * DAY)
        misses.record("recent-chat", "declined", "a recent question", at=NOW - 29 * DAY)
        misses.record("kept-case-chat", "handoff", "a newer question", case_id=kept.id, at=NOW - 100 * DAY)
        misses.record("gone-chat", "unhelpful", "a conversation deleted already", at=NOW - 40 * DAY)

        settings = Settings.from_env(env={}, tracker_store_url=trackers, handoff_store_url=handoffs, var_dir=tmp_path)
        before = senders(trackers)
        from bot.privacy._retention import main as retention

        assert retention(settings, dry_run=True, clock=clock) == 0
        dry = capsys.readouterr().out
        assert "would delete: 3 conversation(s) (9 event(s))" in dry and "2 case(s)" in dry, dry
        assert senders(trackers) == before and len(store.cases("closed")) == 3

        assert retention(settings, clock=clock) == 0
        done = capsys.readouterr().out
        assert "deleted: 3 conversation(s) (9 event(s))" in done and "2 case(s)" in done, done
        assert senders(trackers) == {"recent-chat", "kept-case-chat", "open-case-chat"}
        assert [c.id for c in store.cases("closed")] == [kept.id]
        assert store.open_case_for("open-case-chat").id == still_open.id
        assert store.notes(kept.id) and store.notes(old.id) == [] and store.audit_trail(old.id) == []
        assert sorted(m.conversation_id for m in misses.misses()) == ["kept-case-chat", "recent-chat"]

        assert retention(settings, clock=clock) == 0  # nothing more to do
        assert "deleted: 0 conversation(s) (0 event(s))" in capsys.readouterr().out
        store.dispose()


def test_the_command_line_reads_the_periods_from_the_settings(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MUTUALS_VAR_DIR", str(tmp_path))
    monkeypatch.setenv("MUTUALS_CONVERSATION_RETENTION_DAYS", "7")
    monkeypatch.setenv("MUTUALS_CASE_RETENTION_DAYS", "90")
    assert mutuals(["retention", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "would delete: 0 conversation(s)" in out and "more than 7 days" in out and "90 days" in out


def test_erase_deletes_one_conversation_and_its_cases_only(tmp_path):
    trackers, handoffs = f"sqlite:///{tmp_path / 't.db'}", f"sqlite:///{tmp_path / 'h.db'}"
    add_conversation(trackers, "mine", NOW, "I'm at M1 1AE")
    add_conversation(trackers, "theirs", NOW)
    store = HandoffStore(handoffs)
    supervisor = store.add_adviser("Sue", "sue@example.org", "supervisor", "x")
    case = store.open_case("mine", "socketio", "my question", "Sam", "sam@example.org")
    store.add_note(case.id, supervisor, "Sam's note")
    store.open_case("theirs", "socketio", "their question")
    from bot.insights._misses import MissStore

    misses = MissStore(engine=store.engine)
    misses.record("mine", "declined", "I'm at M1 1AE, can we spin out?", answer="I'm not sure")
    misses.record("mine", "handoff", "my question", case_id=case.id)
    misses.record("theirs", "declined", "their question")
    eraser = ConversationEraser(trackers, store)
    erased = eraser.erase("mine", by=supervisor)
    assert (erased.events, erased.cases, erased.misses) == (3, 1, 2)
    assert [m.conversation_id for m in misses.misses()] == ["theirs"]
    assert senders(trackers) == {"theirs"}
    assert [c.conversation_id for c in store.cases("waiting")] == ["theirs"]
    with store.engine.connect() as db:
        audit = " ".join(str(tuple(r)) for r in db.execute(sa.text("SELECT * FROM audit")))
        notes = list(db.execute(sa.text("SELECT * FROM case_notes")))
    assert "Sam" not in audit and "sam@example.org" not in audit and notes == []
    assert eraser.erase("mine").as_json() == {"erased": True, "events": 0, "cases": 0}
    assert ConversationEraser(f"sqlite:///{tmp_path / 'empty.db'}", store).erase("x").events == 0
    eraser.dispose()
    store.dispose()
