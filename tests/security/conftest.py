"""Fixtures of the fuzzing tests: ``loop``, an event loop in a thread of its own for the async
clients (one per module), and ``adviser``, a console adviser signed in to the running stack."""

from __future__ import annotations

import uuid

import pytest

from tests.support.background_loop import BackgroundLoop


@pytest.fixture(scope="module")
def loop():
    background = BackgroundLoop()
    yield background
    background.close()


@pytest.fixture(scope="module")
def adviser(running_stack, loop):
    from tests.support.person_and_adviser import ConsoleAdviser, signed_in_adviser

    email, password = f"fuzz-{uuid.uuid4().hex[:6]}@example.org", "a long enough password"
    ConsoleAdviser.create(running_stack.settings.handoff_store, "Fuzz Adviser", email, password)
    console = loop.run(signed_in_adviser(running_stack.settings.web_url, email, password))
    yield console
    loop.run(console.close())
