"""Telegram front-end tests: ``async def`` tests run in a fresh event loop each (no plugin
needed), with a time limit so a hang fails instead of stalling the suite."""

from __future__ import annotations

import asyncio
import inspect
import logging

import pytest

ASYNC_TEST_TIMEOUT = 60.0


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    test = pyfuncitem.obj
    if not inspect.iscoroutinefunction(test):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    timeout = getattr(test, "timeout", ASYNC_TEST_TIMEOUT)
    asyncio.run(asyncio.wait_for(test(**arguments), timeout))
    return True


@pytest.fixture(autouse=True)
def _telegram_logs(caplog):
    caplog.set_level(logging.INFO, logger="bot.telegram")
