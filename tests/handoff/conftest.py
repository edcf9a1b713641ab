"""Fixtures of the case store's tests: ``store``, a HandoffStore on SQLite and then on a throwaway
PostgreSQL server (``postgres_url``, one per module), with a clock the test moves (``store.test_clock``)."""

from __future__ import annotations

import pytest

from bot.handoff import HandoffStore
from tests.support.case_store import Clock


@pytest.fixture(scope="module")
def postgres_url():
    from tests.support.servers import postgres_server

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
