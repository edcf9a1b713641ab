"""The Telegram webhook (bot/telegram/_webhook.py): the secret is required, an update Telegram
sends twice is handled once, and arbitrary requests (fuzzed) get 403 or 400, never a crash."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tests.support.background_loop import BackgroundLoop
from bot.telegram._webhook import SECRET_HEADER, TelegramWebhook
from tests.support.fuzz_inputs import JSON, dumps, nested

SECRET = "s3cret-for-tests"


class FakeApplication:
    bot = None

    def __init__(self):
        self.update_queue = asyncio.Queue()


@pytest.fixture(scope="module")
def webhook():
    loop = BackgroundLoop()

    async def start():
        hook = TelegramWebhook(FakeApplication(), SECRET, "/telegram")
        await hook.start("127.0.0.1", 0)
        return hook

    hook = loop.run(start())
    yield hook
    loop.run(hook.stop())
    loop.close()


def deliver(hook, body: bytes, secret=SECRET):
    headers = {"Content-Type": "application/json"}
    if secret is not None:
        headers[SECRET_HEADER] = secret
    request = urllib.request.Request(
        f"http://127.0.0.1:{hook.port}/telegram", data=body, headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def message(update_id, text="hello"):
    return dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": 1,
                "date": 1700000000,
                "text": text,
                "chat": {"id": 42, "type": "private"},
                "from": {"id": 42, "is_bot": False, "first_name": "A"},
            },
        }
    )


def test_a_webhook_needs_a_secret():
    with pytest.raises(ValueError):
        TelegramWebhook(FakeApplication(), "")


def test_requests_without_the_right_secret_are_refused(webhook):
    before = webhook.application.update_queue.qsize()
    for secret in (None, "", "wrong", SECRET + "x", SECRET.upper()):
        assert deliver(webhook, message(1001), secret)[0] == 403
    assert webhook.application.update_queue.qsize() == before
    assert deliver(webhook, message(1001))[0] == 200, "the refused attempts did not mark the update as seen"


def test_an_update_sent_twice_is_queued_once(webhook):
    queue = webhook.application.update_queue
    before, duplicates = queue.qsize(), webhook.duplicates
    assert deliver(webhook, message(2002)) == (200, {"ok": True})
    assert deliver(webhook, message(2002, "changed")) == (200, {"ok": True, "duplicate": True})
    assert queue.qsize() == before + 1 and webhook.duplicates == duplicates + 1


UPDATES = st.one_of(
    JSON.map(dumps),
    st.binary(max_size=300),
    st.fixed_dictionaries(
        {"update_id": st.integers() | JSON},
        optional={"message": JSON, "callback_query": JSON, "edited_message": JSON, "my_chat_member": JSON},
    ).map(dumps),
    st.sampled_from(
        [
            b"",
            b"null",
            b"[]",
            nested(5000),
            b'{"update_id": 1.5}',
            b'{"update_id": true}',
            b'{"update_id": 7, "message": "text"}',
            b'{"update_id": 8, "message": {"chat": 5}}',
        ]
    ),
)


@pytest.mark.slow
@settings(max_examples=80, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
@given(UPDATES, st.sampled_from([SECRET, None, "wrong"]))
def test_fuzzed_requests_get_403_or_a_clear_answer_never_a_crash(webhook, body, secret):
    status, answer = deliver(webhook, body, secret)
    if secret != SECRET:
        assert status == 403
    else:
        assert status in (200, 400), (status, answer, body[:200])


def test_the_webhook_still_answers_after_fuzzing(webhook):
    assert deliver(webhook, message(3003))[0] == 200
