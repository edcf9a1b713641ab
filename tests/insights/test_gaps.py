"""Grouping missed questions: a new question joins the nearest group or starts one, groups stay
put as more arrive, a question can be moved, and the list is largest (or fastest-growing) first."""

import contextlib

import numpy as np
import pytest

from bot.insights._gaps import assign_groups, gap_summaries, move
from bot.insights._misses import MissStore

DAY = 86400.0
NOW = 1_900_000_000.0


def unit(*xs):
    v = np.zeros(8, dtype=np.float32)
    v[: len(xs)] = xs
    return v / np.linalg.norm(v)


def add(store, question, vector, at=NOW, nearest="co-operative-society#register", score=0.9, **kw):
    miss_id = store.record(kw.pop("conversation", question), kw.pop("kind", "declined"), question, at=at, **kw)
    store.set_embeddings([(miss_id, vector, nearest, score)])
    return miss_id


@contextlib.contextmanager
def database(kind, tmp_path):
    if kind == "sqlite":
        yield f"sqlite:///{tmp_path / 'h.db'}"
    else:
        from tests.support.servers import postgres_server

        with postgres_server() as url:
            yield url


@pytest.mark.parametrize("kind", ["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def test_questions_alike_form_one_group_that_stays_and_grows(tmp_path, kind):
    with database(kind, tmp_path) as url:
        store = MissStore(url, clock=lambda: NOW)
        try:
            grouped_as_they_come(store)
        finally:
            store.dispose()


def grouped_as_they_come(store):
    a = add(store, "can a parish council run our pub", unit(1, 0.1, 0), answer="I'm not sure")
    b = add(store, "parish council taking over the village pub?", unit(1, 0.15, 0.05))
    c = add(store, "what is the capital of France", unit(0, 0, 1), nearest="about-this-assistant", score=0.2)
    assert assign_groups(store, 0.8) == {"joined": 0, "new_groups": 2}
    groups = {m.id: m.group_id for m in store.misses()}
    assert groups[a] == groups[b] != groups[c]

    d = add(store, "pub run by the parish council", unit(1, 0.05, 0.02), at=NOW - DAY)
    add(store, "how tall is Everest", unit(0, 1, 0), at=NOW - 10 * DAY)
    assert assign_groups(store, 0.8) == {"joined": 1, "new_groups": 1}
    after = {m.id: m.group_id for m in store.misses()}
    assert after[d] == groups[a] and {k: after[k] for k in groups} == groups  # nobody else moved

    listed = gap_summaries(store)
    assert [g["size"] for g in listed] == [3, 1, 1]
    pub = listed[0]
    assert pub["examples"][-1] == "pub run by the parish council"  # the oldest last
    assert (
        set(pub["examples"])
        == {
            "can a parish council run our pub",
            "parish council taking over the village pub?",
            "pub run by the parish council",
        }
        and pub["nearest"] == "co-operative-society#register"
    )
    assert pub["assistant_said"] == ["I'm not sure"] and pub["last_7_days"] == 3
    growth = gap_summaries(store, sort="growth")
    assert growth[-1]["examples"] == ["how tall is Everest"]  # 0 this week, 1 the week before

    mine = move(store, c, after[a])  # a supervisor knows better
    assert store.miss(c).group_id == mine == after[a]
    alone = move(store, c, None)
    assert alone not in after.values() and gap_summaries(store)[0]["size"] == 3
