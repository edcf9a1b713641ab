"""Shared fixtures. The expensive things (the embedding model, the guidance index, the running
stack) are made once per test session."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("RASA_TELEMETRY_ENABLED", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from bot.settings import Settings  # noqa: E402
from tests.support.assistant_stack import stack_settings  # noqa: E402
from bot.stack import Stack  # noqa: E402


# fixtures that load the real embedding model or start the stack: a test using any of them, even
# through another fixture, is slow (still run in CI; `make check` leaves it out)
SLOW_FIXTURES = frozenset({"embedder", "guidance_index", "desk", "running_stack"})


@pytest.hookimpl(tryfirst=True)  # before `-m "not slow"` deselects
def pytest_collection_modifyitems(items):
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session", autouse=True)
def misses_kept_apart(tmp_path_factory):
    """Custom actions run in a test record their misses (bot/insights/) in a store of the session's
    own, not in the handoff store under the project's var/."""
    from bot.insights._misses import MissStore
    from bot.insights._record import use_miss_store

    store = MissStore(f"sqlite:///{tmp_path_factory.mktemp('misses') / 'handoffs.db'}")
    use_miss_store(store)
    yield store
    use_miss_store(None)
    store.dispose()


@pytest.fixture(scope="session")
def embedder():
    """The embedder the product uses (bot/guidance/_embedder.py): the tuned model `mutuals setup`
    made under var/ (never tuned again here), through its ONNX export; the base model, with a
    warning, when there is none or MUTUALS_EMBEDDING_MODEL=base."""
    from bot.guidance import shared_embedder

    return shared_embedder()


@pytest.fixture(scope="session")
def base_embedder(embedder):
    """The untuned model, for checks about wording rather than this domain (near-copies)."""
    if getattr(embedder, "kind", "base") == "base":
        return embedder
    from bot.guidance._embedder import make_embedder

    return make_embedder(kind="base")


@pytest.fixture(scope="session")
def guidance_index(embedder, tmp_path_factory):
    from bot.guidance import GuidanceIndex

    pages = Settings.from_env().knowledge_dir / "pages"  # MUTUALS_KNOWLEDGE_DIR, else the project's knowledge/
    return GuidanceIndex.build(pages, tmp_path_factory.mktemp("index"), embedder)


@pytest.fixture(scope="session")
def desk(guidance_index):
    from bot.guidance import GuidanceDesk

    return GuidanceDesk(guidance_index, "http://guidance.test")


@pytest.fixture(scope="session")
def running_stack(tmp_path_factory):
    """The whole assistant (Rasa, actions, web) on free loopback ports, once per session."""
    var_dir = tmp_path_factory.mktemp("var")
    settings = stack_settings(var_dir)
    if not settings.model_file.exists():
        pytest.fail(f"no trained model at {settings.model_file}: the test command runs 'mutuals setup' first")
    with Stack(settings, log_dir=var_dir / "logs") as stack:
        yield stack


# ---- browsers (tests/support/widget_page.py): the widget's, the console's and the dashboard's tests


@pytest.fixture
def browser_factory(tmp_path):
    """``browser_factory(width=, height=)``: a fresh headless Chromium (own profile), quit afterwards."""
    from tests.support.widget_page import Browsers

    browsers = Browsers(tmp_path)
    yield browsers
    browsers.quit_all()


@pytest.fixture
def browser(browser_factory):
    return browser_factory()


@pytest.fixture(scope="session")
def other_site(tmp_path_factory):
    """A static site on another loopback origin, with no CSP: ``other_site.add(name, html)`` returns
    the page's URL (tests/support/widget_page.py, OtherSite)."""
    from tests.support.widget_page import OtherSite

    site = OtherSite(tmp_path_factory.mktemp("other-site"))
    yield site
    site.stop()
