"""Fixtures of the console's tests: ``console``, the console's routes on a store of the test's own
with Rasa stood in for; ``stack_console``, the running stack's console with advisers of a module's
own; ``web``, the whole web app with a knowledge-gap page to show; ``axe_console``, a supervisor
and a browser for the accessibility checks."""

from __future__ import annotations

import shutil
import uuid
from types import SimpleNamespace

import numpy as np
import pytest
from aiohttp import web as aioweb

from bot.handoff import HandoffStore
from bot.settings import ROOT, Settings
from bot.stack import free_port
from tests.support.case_store import Clock
from tests.support.console_desk import GAP_SECTION, ConversationDesk
from tests.support.console_pages import PASSWORD


@pytest.fixture
def console(tmp_path):
    from bot.channels._handoff import HandoffGate
    from bot.console import add_console

    clock = Clock()
    store = HandoffStore(f"sqlite:///{tmp_path / 'handoffs.db'}", clock=clock)
    desk = ConversationDesk(store)
    gate = HandoffGate()
    gate._store = store  # the channels' gate, on this store (in the Rasa server it opens the same database)
    app = aioweb.Application()
    add_console(app, store, desk)

    class Console:
        pass

    c = Console()
    c.store, c.desk, c.gate, c.app, c.clock = store, desk, gate, app, clock
    c.ann = store.add_adviser("Ann Adviser", "ann@example.org", "adviser", "h1")
    c.sue = store.add_adviser("Sue Supervisor", "sue@example.org", "supervisor", "h2")
    return c


@pytest.fixture(scope="module")
def stack_console(running_stack):
    """The store of the running stack, with an adviser and a supervisor of this module's own."""
    from bot.console import hash_password

    store = HandoffStore(running_stack.settings.handoff_store)
    suffix = uuid.uuid4().hex[:8]
    adviser = store.add_adviser(
        "Ada Lovelace", f"ada-{suffix}@advisers.example.org", "adviser", hash_password(PASSWORD)
    )
    supervisor = store.add_adviser(
        "Sam Okafor", f"sam-{suffix}@advisers.example.org", "supervisor", hash_password(PASSWORD)
    )

    class Console:
        pass

    c = Console()
    c.stack, c.settings, c.store, c.adviser, c.supervisor = (
        running_stack,
        running_stack.settings,
        store,
        adviser,
        supervisor,
    )
    yield c
    store.dispose()


@pytest.fixture
def web(tmp_path):
    """The web app on (a copy of) knowledge/, with three declined questions grouped near GAP_SECTION
    and one hand-over far from everything; sessions for an adviser (``ann``) and a supervisor (``sue``)."""
    from bot.insights._gaps import assign_groups
    from bot.insights._misses import MissStore
    from bot.web.app import create_app

    knowledge = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", knowledge, ignore=shutil.ignore_patterns("questions"))
    (knowledge / "questions").mkdir()
    settings = Settings.from_env(env={}, var_dir=tmp_path / "var", knowledge_dir=knowledge, actions_port=free_port())
    store = HandoffStore(settings.handoff_store)
    ann = store.add_adviser("Ann Adviser", "ann@example.org", "adviser", "h1")
    sue = store.add_adviser("Sue Supervisor", "sue@example.org", "supervisor", "h2")
    misses = MissStore(engine=store.engine)
    vector = np.ones(4, dtype=np.float32) / 2
    for n, q in enumerate(
        [
            "if we close can members share out the assets",
            "can the members split the money if we wind up",
            "what happens to our assets if the mutual shuts",
        ]
    ):
        miss_id = misses.record(f"c{n}", "declined", q, answer="I'm not sure I have guidance that answers that")
        misses.set_embeddings([(miss_id, vector, GAP_SECTION, 0.9)])
    other = misses.record("c9", "handoff", "can you book me a GP appointment")
    misses.set_embeddings([(other, np.array([0, 0, 0, 1], dtype=np.float32), "about-this-assistant", 0.3)])
    assign_groups(misses)

    class Web:
        pass

    w = Web()
    w.app, w.settings, w.store, w.misses, w.knowledge = create_app(settings), settings, store, misses, knowledge
    w.ann, w.sue = store.start_session(ann), store.start_session(sue)
    return w


@pytest.fixture
def axe_console(running_stack, browser_factory):
    """What each accessibility check of the console starts from: the running stack's store, a
    supervisor of the test's own (password PASSWORD) and a 1280×900 Chromium, not signed in yet."""
    from bot.console import hash_password

    store = HandoffStore(running_stack.settings.handoff_store)
    suffix = uuid.uuid4().hex[:8]
    supervisor = store.add_adviser(
        "Rae Axe", f"rae-{suffix}@advisers.example.org", "supervisor", hash_password(PASSWORD)
    )
    try:
        yield SimpleNamespace(
            stack=running_stack,
            settings=running_stack.settings,
            store=store,
            supervisor=supervisor,
            suffix=suffix,
            driver=browser_factory(1280, 900),
        )
    finally:
        store.dispose()
