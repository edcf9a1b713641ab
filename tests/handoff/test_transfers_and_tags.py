"""Handovers and tags in the case store (SQLite and PostgreSQL): what is kept, and that erasing a
person's cases (or retention) takes their handover notes with them."""

import pytest

from bot.handoff import HandoffError
from bot.handoff._store import transfers_table
from tests.support.case_store import people


def test_a_handover_is_kept_with_the_case_and_erased_with_it(store):
    ann, bob, sue = people(store)
    case = store.open_case("conv-1", "socketio", "Can we keep the LGPS?", person_name="Priya")
    store.claim(case.id, ann)
    with pytest.raises(HandoffError, match="note"):
        store.transfer(case.id, ann, bob, "   ")
    with pytest.raises(HandoffError, match="another adviser"):
        store.transfer(case.id, bob, sue, "not mine to give")
    moved = store.transfer(case.id, ann, bob, "Pension question; sent the LGPS page.")
    assert (moved.status, moved.adviser_id) == ("assigned", bob.id)
    assert store.transfers_for(bob) == {
        case.id: {"from": ann.name, "note": "Pension question; sent the LGPS page.", "at": moved.updated_at}
    }
    assert store.transfers_for(ann) == {}
    store.mark_transfer_seen(case.id, bob)
    assert store.transfers_for(bob) == {}
    back = store.transfer(case.id, bob, None, "Needs a specialist.")
    assert (back.status, back.adviser_id) == ("waiting", None) and store.queue_position(back) == 1
    assert store.last_transfer(case.id)["to"] is None and store.last_transfer(case.id)["from"] == bob.name
    assert [n["text"] for n in store.notes(case.id)] == [
        f"Handed to {bob.name}: Pension question; sent the LGPS page.",
        "Handed back to the queue: Needs a specialist.",
    ]

    assert store.delete_conversation("conv-1", sue) == 1  # the person's erasure: handovers go too
    with store.engine.connect() as db:
        assert db.execute(transfers_table.select()).fetchall() == []


def test_tags_are_kept_by_supervisors_and_checked(store):
    ann, _, sue = people(store)
    with pytest.raises(HandoffError, match="only a supervisor"):
        store.add_tag(ann, "pensions")
    for name in ("  Staff   Pensions ", "tupe"):
        store.add_tag(sue, name)
    assert [t["name"] for t in store.tag_list()] == ["staff pensions", "tupe"]
    with pytest.raises(HandoffError, match="already"):
        store.add_tag(sue, "TUPE")
    for bad in ("", "x" * 41, "<b>", "-dash-first"):
        with pytest.raises(HandoffError, match="1 to 40"):
            store.add_tag(sue, bad)
    assert store.check_tags(["TUPE", "staff  pensions", "tupe"]) == ["staff pensions", "tupe"]
    with pytest.raises(HandoffError, match="not one of the tags"):
        store.check_tags(["holidays"])
