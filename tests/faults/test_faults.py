"""Faults a public service meets: a slow or dead action server, a database that is down."""

import os
import signal
import time
import uuid

import pytest

from tests.support.assistant_stack import say_rest, stack_settings
from bot.databases import DatabaseUnreachable, describe, require
from bot.stack import Stack, StackError
from tests.support.servers import PostgresServer

pytestmark = pytest.mark.slow
TROUBLE = "having trouble"


def texts(replies):
    return " ".join(r.get("text", "") for r in replies)


def test_a_slow_then_dead_action_server_gives_a_polite_reply_within_seconds(running_stack):
    sender = f"fault-{uuid.uuid4().hex[:8]}"
    actions = running_stack.part("actions").process
    os.killpg(actions.pid, signal.SIGSTOP)  # the action server hangs: slow beyond any timeout
    try:
        started = time.monotonic()
        replies = say_rest(running_stack, sender, "What is a community interest company?")
        took = time.monotonic() - started
    finally:
        os.killpg(actions.pid, signal.SIGCONT)
    assert TROUBLE in texts(replies) and took < running_stack.settings.action_timeout_seconds + 5

    os.killpg(actions.pid, signal.SIGTERM)  # now down altogether
    actions.wait(30)
    started = time.monotonic()
    replies = say_rest(running_stack, sender, "What is a community interest company?")
    assert TROUBLE in texts(replies) and time.monotonic() - started < 5

    running_stack.restart("actions")  # back again: the same conversation carries on
    replies = say_rest(running_stack, sender, "What is a community interest company?")
    assert "/guidance/community-interest-company" in texts(replies)
    assert "mutuals" in texts(say_rest(running_stack, sender, "hello")).lower()


def test_an_unreachable_database_is_named_clearly_and_hides_its_password(tmp_path):
    with pytest.raises(DatabaseUnreachable) as refused:
        require("postgresql://mutuals:s3cret@127.0.0.1:1/rasa", "conversation")
    message = str(refused.value)
    assert "conversation database" in message and "127.0.0.1:1/rasa" in message and "s3cret" not in message
    assert "s3cret" not in describe("postgresql://mutuals:s3cret@db/rasa")
    settings = stack_settings(tmp_path, tracker_store_url="postgresql://mutuals:s3cret@127.0.0.1:1/rasa")
    with pytest.raises(StackError, match="conversation .*database at postgresql://mutuals:\\*\\*\\*@127.0.0.1:1/rasa"):
        Stack(settings, log_dir=tmp_path / "logs").start()


def test_the_database_going_away_during_a_run_fails_cleanly_and_recovers(tmp_path):
    with PostgresServer() as database:
        settings = stack_settings(tmp_path, tracker_store_url=database.url)
        with Stack(settings, log_dir=tmp_path / "logs") as stack:
            sender = f"db-{uuid.uuid4().hex[:8]}"
            assert "/guidance/" in texts(say_rest(stack, sender, "what is an asset lock"))
            database.stop()
            try:
                replies = say_rest(stack, sender, "what is a community benefit society")
                assert TROUBLE in texts(replies)
            finally:
                database.start()
            for _ in range(10):  # the next turns work again, on the same conversation
                replies = say_rest(stack, sender, "what is a community benefit society")
                if "/guidance/community-benefit-society" in texts(replies):
                    break
                time.sleep(1)
            assert "/guidance/community-benefit-society" in texts(replies)
