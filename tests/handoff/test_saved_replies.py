"""Saved replies in the case store (SQLite and PostgreSQL): kept by supervisors, used by advisers."""

import pytest

from bot.handoff import HandoffError
from bot.handoff._store import fill_placeholders
from tests.support.case_store import people


def test_supervisors_keep_saved_replies_and_advisers_use_them_counted(store):
    ann, _, sue = people(store)
    with pytest.raises(HandoffError, match="only a supervisor"):
        store.add_saved_reply(ann, "Hello", "Hello {name}")
    pensions = store.add_saved_reply(
        sue,
        "  Pensions:   LGPS  ",
        "Hello {name}, staff usually stay in the LGPS.",
        "lgps-admitted-body-status",
        "can-council-staff-stay",
    )
    welcome = store.add_saved_reply(sue, "A welcome", "Hello {name}, thank you for waiting.")
    assert pensions["title"] == "Pensions: LGPS" and pensions["uses"] == 0 and pensions["active"] is True
    assert [r["title"] for r in store.saved_replies()] == ["A welcome", "Pensions: LGPS"]  # by title

    case = store.open_case("conv-1", "socketio", "q", person_name="Priya")
    used = store.use_saved_reply(welcome["id"], case)
    assert used["filled"] == "Hello Priya, thank you for waiting." and used["uses"] == 1
    nameless = store.open_case("conv-2", "socketio", "q")
    assert store.use_saved_reply(welcome["id"], nameless)["filled"] == "Hello, thank you for waiting."
    assert store.saved_reply(welcome["id"])["uses"] == 2

    changed = store.update_saved_reply(welcome["id"], sue, "A welcome", "Hi {name}! Thanks for waiting.")
    assert changed["text"] == "Hi {name}! Thanks for waiting." and changed["uses"] == 2  # the count stays
    store.update_saved_reply(welcome["id"], sue, "A welcome", changed["text"], active=False)
    assert [r["title"] for r in store.saved_replies()] == ["Pensions: LGPS"]  # retired: advisers no longer find it
    assert [r["active"] for r in store.saved_replies(include_retired=True)] == [False, True]
    with pytest.raises(HandoffError, match="retired"):
        store.use_saved_reply(welcome["id"], case)
    with pytest.raises(HandoffError, match="only a supervisor"):
        store.update_saved_reply(pensions["id"], ann, "x", "y")
    with pytest.raises(HandoffError, match="title and some text"):
        store.add_saved_reply(sue, "   ", "text")
    with pytest.raises(HandoffError, match="no saved reply"):
        store.saved_reply(999)
    assert ("saved reply retired", f"#{welcome['id']} A welcome") in [
        (a["action"], a["detail"]) for a in store.audit_trail(None)
    ]


@pytest.mark.parametrize(
    "text,name,expected",
    [
        ("Hello {name}, thanks.", "Sam", "Hello Sam, thanks."),
        ("Hello {name}, thanks.", "", "Hello, thanks."),
        ("{name}, the short answer is yes.", "", "the short answer is yes."),
        ("Thanks {name}.", "  Ann   Lee ", "Thanks Ann Lee."),
        ("No placeholder here.", "Sam", "No placeholder here."),
    ],
)
def test_the_name_placeholder(text, name, expected):
    assert fill_placeholders(text, name) == expected
