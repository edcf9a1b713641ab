"""How the stack watches its parts (bot/stack.py), with parts that are tiny Python processes:
one that keeps dying is started again after growing pauses while the others keep running, and
after GIVE_UP_AFTER failures within the window everything stops, saying why."""

from __future__ import annotations

import sys
import time

import pytest

import bot.stack as stack_module
from tests.support.assistant_stack import stack_settings
from bot.stack import Part, Stack, StackError

pytestmark = pytest.mark.slow  # starts processes and waits out their timings: seconds a test


class TinyStack(Stack):
    def __init__(self, settings, parts, **kwargs):
        self._tiny = parts
        super().__init__(settings, telegram=False, **kwargs)

    def _parts(self):
        return [Part(name, [sys.executable, "-c", code], "") for name, code in self._tiny]


@pytest.fixture
def quick_restarts(monkeypatch):
    monkeypatch.setattr(stack_module, "RESTART_DELAYS", (0.2, 0.4, 0.8))


def settings_for(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    (models / "mutuals.tar.gz").write_bytes(b"not used by these parts")
    return stack_settings(tmp_path / "var", models_dir=models)


def test_a_part_that_keeps_dying_is_restarted_then_given_up_on(tmp_path, quick_restarts, capsys):
    stack = TinyStack(
        settings_for(tmp_path),
        [("steady", "import time; time.sleep(120)"), ("flaky", "import sys; sys.exit(3)")],
        log_dir=tmp_path / "logs",
    )
    stack.start()
    steady = stack.part("steady").process
    started = time.monotonic()
    assert stack.wait() == 1
    took = time.monotonic() - started
    log = (tmp_path / "logs" / "stack.log").read_text()
    assert [line.split(" ", 2)[2].split(";")[0] for line in log.splitlines()][:4] == [
        "The flaky server stopped (exit 3)"
    ] * 4
    assert "starting it again in 0.2 s" in log and "starting it again in 0.4 s" in log
    assert "starting it again in 0.8 s (failure 4 within 120 s; the assistant stops at 5)" in log
    assert log.splitlines()[-1].endswith(
        "Giving up: the flaky server stopped 5 times within 120 s (last: exit 3), so the assistant is stopping; "
        f"see {tmp_path / 'logs' / 'flaky.log'}."
    )
    assert 0.2 + 0.4 + 0.8 + 0.8 <= took < 30
    assert steady.poll() is not None  # stopped on the way out, after serving throughout
    assert "Giving up" in capsys.readouterr().err


def test_a_part_that_dies_once_is_back_and_its_failures_are_forgotten_later(tmp_path, quick_restarts, monkeypatch):
    monkeypatch.setattr(stack_module, "FAILURE_WINDOW_SECONDS", 2.0)
    marker = tmp_path / "died-once"
    code = (
        f"import pathlib, sys, time\np = pathlib.Path({str(marker)!r})\n"
        "if not p.exists():\n    p.write_text('x'); sys.exit(1)\ntime.sleep(120)"
    )
    stack = TinyStack(settings_for(tmp_path), [("once", code)], log_dir=tmp_path / "logs")
    stack.start()
    try:
        first = stack.part("once").process
        first.wait(30)
        log, deadline = tmp_path / "logs" / "stack.log", time.monotonic() + 30
        while not (log.exists() and "The once server is back" in log.read_text()):
            stack.check_parts()
            assert time.monotonic() < deadline, log.read_text() if log.exists() else "no stack.log"
            time.sleep(0.05)
        again = stack.part("once").process
        assert again is not first and again.poll() is None
        time.sleep(2.1)
        again.kill()
        again.wait()
        stack.check_parts()
        assert len(stack.part("once").failures) == 1  # the first failure is outside the window now
    finally:
        stack.stop()


def test_a_second_stack_on_the_same_var_is_refused(tmp_path):
    settings = settings_for(tmp_path)
    first = TinyStack(settings, [("steady", "import time; time.sleep(120)")], log_dir=tmp_path / "logs")
    first.start()
    try:
        with pytest.raises(StackError, match=r"^Mutuals Assistant is already running from .* \(process \d+\)"):
            TinyStack(settings, [("steady", "import time; time.sleep(120)")], log_dir=tmp_path / "logs2").start()
        assert first.part("steady").process.poll() is None
    finally:
        first.stop()
    TinyStack(settings, [("steady", "pass")], log_dir=tmp_path / "logs").start().stop()  # free again after a stop
