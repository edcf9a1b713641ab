"""Fast unit tests: markdown to Telegram HTML, splitting, button payloads, pacing and retries,
the relay's failure answers, repeated webhook updates."""

from __future__ import annotations

import asyncio
import time

import pytest
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut

from tests.support.assistant_stand_in import AssistantStandIn
from bot.guidance import topic_payload
from bot.stack import free_port
from bot.telegram import (
    CALLBACK_DATA_LIMIT,
    TROUBLE,
    AssistantRelay,
    ButtonPayloads,
    RecentUpdates,
    TelegramPacing,
    TokenBucket,
    message_parts,
    plain_text,
    telegram_html,
    telegram_size,
)
from tests.support.bot_api_stand_in import TelegramHTMLError, parse_telegram_html


# ---- markdown to Telegram HTML -------------------------------------------------------


def test_bold_links_headings_and_bullets_become_telegram_html():
    text = (
        "## Registering\n\nUse **the FCA's** form; see [its *guide*](https://www.fca.org.uk/a_(b)?x=1&y=2).\n\n"
        "- one `rule`\n- two"
    )
    assert telegram_html(text) == (
        "<b>Registering</b>\n\nUse <b>the FCA's</b> form; see "
        '<a href="https://www.fca.org.uk/a_(b)?x=1&amp;y=2">its <i>guide</i></a>.\n\n'
        "• one <code>rule</code>\n• two"
    )
    assert plain_text(text) == (
        "Registering\n\nUse the FCA's form; see its guide (https://www.fca.org.uk/a_(b)?x=1&y=2).\n\n• one rule\n• two"
    )


@pytest.mark.parametrize(
    "text, shown",
    [
        ("<script>alert(1)</script> & <b>not bold</b>", "<script>alert(1)</script> & <b>not bold</b>"),
        ("a < b > c && d; 5 * 3 * 2 = 30; snake_case_name", "a < b > c && d; 5 * 3 * 2 = 30; snake_case_name"),
        ("[click](javascript:alert(1)) and [x](https://e.org/\"><b>)", "click and x"),
        ("**unclosed bold and [unclosed link](", "**unclosed bold and [unclosed link]("),
    ],
)
def test_any_text_is_escaped_into_html_telegram_accepts(text, shown):
    visible, links = parse_telegram_html(telegram_html(text))
    assert visible == shown
    assert links == ([] if "e.org" not in text else ['https://e.org/"><b>'])


def test_only_web_mail_and_telegram_links_are_made():
    assert telegram_html("[x](javascript:alert(1))") == "x"
    assert telegram_html("[x](/guidance/relative)") == "x"
    assert telegram_html("[x](mailto:help@example.org)") == '<a href="mailto:help@example.org">x</a>'


def test_a_short_reply_is_one_part():
    [part] = message_parts("Hello **there**.")
    assert part.html == "Hello <b>there</b>." and part.plain == "Hello there."
    assert message_parts("") == [] and message_parts(" \n\n ") == []


def test_long_replies_are_split_at_paragraphs_then_sentences_never_inside_a_link():
    paragraphs = [
        f"Paragraph {n}. " + "A sentence about mutuals with [a link](https://e.org/x). " * 40 for n in range(6)
    ]
    parts = message_parts("\n\n".join(paragraphs))
    assert len(parts) > 1
    for part in parts:
        assert telegram_size(part.html) <= 4096 and telegram_size(part.plain) <= 4096
        parse_telegram_html(part.html)  # balanced tags in every part
        assert part.html.count("<a ") == part.html.count("</a>")
    joined = " ".join(p.plain for p in parts)
    assert joined.count("A sentence about mutuals") == 240
    sentences = message_parts("One sentence that goes on. " * 400)
    assert all(p.plain.endswith("goes on.") for p in sentences)


def test_a_giant_word_and_escaping_growth_still_fit():
    for text in ("x" * 10_000, "&" * 5_000, "😀" * 3_000):
        parts = message_parts(text)
        assert all(telegram_size(p.html) <= 4096 for p in parts)
        assert "".join(p.plain for p in parts) == text


def test_the_html_checker_refuses_what_telegram_refuses():
    for bad in ("<p>x</p>", "<b>x", "a & b", "1 < 2", "<b><i>x</b></i>"):
        with pytest.raises(TelegramHTMLError):
            parse_telegram_html(bad)


# ---- buttons ---------------------------------------------------------------------------


def test_payloads_fit_in_callback_data_and_come_back():
    payloads = ButtonPayloads()
    short, topic = "/request_human", topic_payload("when-a-contract-ends-or-the-organisation-fails")
    other = '/feedback{"text":"' + "é" * 40 + '"}'
    for payload in (short, topic, other):
        data = payloads.callback_data(payload)
        assert 0 < len(data.encode()) <= CALLBACK_DATA_LIMIT
        assert payloads.payload(data) == payload
    assert payloads.callback_data(short) == short
    assert payloads.callback_data(topic) == "#t:when-a-contract-ends-or-the-organisation-fails"
    assert ButtonPayloads().payload(payloads.callback_data(topic)) == topic, "topics survive a restart"
    assert ButtonPayloads().payload(payloads.callback_data(other)) is None, "keys are per process"
    assert payloads.payload(payloads.callback_data("#t:looks-like-ours")) == "#t:looks-like-ours"


def test_remembered_payloads_are_bounded():
    payloads = ButtonPayloads(capacity=2)
    keys = [payloads.callback_data("/x" + "y" * 70 + str(n)) for n in range(3)]
    assert payloads.payload(keys[0]) is None and payloads.payload(keys[2]) is not None


# ---- pacing and retries -----------------------------------------------------------------


def test_a_token_bucket_allows_a_burst_then_spaces_calls():
    now = [0.0]
    bucket = TokenBucket(rate=1.0, burst=3, clock=lambda: now[0])
    assert [bucket.reserve() for _ in range(5)] == [0, 0, 0, 1.0, 2.0]
    now[0] = 10.0
    assert bucket.reserve() == 0 and bucket.idle is False


async def _pace(pacing: TelegramPacing, failures: list, endpoint: str = "sendMessage", chat_id=1):
    calls = []

    async def callback():
        calls.append(time.monotonic())
        if failures:
            raise failures.pop(0)
        return {"ok": True}

    result = await pacing.process_request(callback, (), {}, endpoint, {"chat_id": chat_id}, None)
    return result, calls


async def test_a_429_is_waited_out_and_network_errors_are_retried():
    pacing = TelegramPacing(network_backoff=(0.01, 0.02, 0.04))
    result, calls = await _pace(pacing, [RetryAfter(1), TimedOut(), NetworkError("Bad Gateway")])
    assert result == {"ok": True} and len(calls) == 4
    assert calls[1] - calls[0] >= 1.0
    assert pacing.retries == 3


async def test_bad_requests_are_not_retried_and_retries_end():
    pacing = TelegramPacing(network_backoff=(0.01,))
    with pytest.raises(BadRequest):
        await _pace(pacing, [BadRequest("chat not found")])
    with pytest.raises(NetworkError):
        await _pace(pacing, [NetworkError("x"), NetworkError("y")])


async def test_messages_to_one_chat_are_spaced_after_a_burst():
    pacing = TelegramPacing(chat_per_second=20.0, chat_burst=2)
    start = time.monotonic()
    done = await asyncio.gather(*[_pace(pacing, []) for _ in range(4)])
    assert len(done) == 4 and time.monotonic() - start >= 0.09  # two at once, then 1/20 s apart
    start = time.monotonic()
    await asyncio.gather(*[_pace(pacing, [], chat_id=n) for n in range(100, 110)])
    assert time.monotonic() - start < 0.05, "other chats are not held up"


# ---- the relay ------------------------------------------------------------------------


async def test_the_relay_answers_trouble_when_the_assistant_fails():
    closed = AssistantRelay(f"http://127.0.0.1:{free_port()}", "t", timeout=2, connect_retry_delay=0.01)
    assert [m.text for m in await closed.turn(1, "hi")] == [TROUBLE]
    await closed.close()
    async with AssistantStandIn() as assistant:
        wrong_token = AssistantRelay(assistant.url, "wrong", timeout=2)
        assert [m.text for m in await wrong_token.turn(1, "hi")] == [TROUBLE]
        assert assistant.refused == 1
        await wrong_token.close()
    async with AssistantStandIn(delay=1.0) as slow:
        relay = AssistantRelay(slow.url, slow.token, timeout=0.3)
        assert [m.text for m in await relay.turn(1, "hi")] == [TROUBLE]
        await relay.close()


async def test_a_turn_with_an_id_is_sent_again_when_the_balancer_says_its_server_failed():
    async with AssistantStandIn(bad_gateway=1) as assistant:
        relay = AssistantRelay(assistant.url, assistant.token, timeout=2, connect_retry_delay=0.01)
        replies = await relay.turn(1, "What is a co-operative?", message_id="telegram-update-41")
        assert replies and replies[0].text != TROUBLE
        # the same id both times: the assistant answers a repeat from the stored turn
        assert [t.get("message_id") for t in assistant.turns] == ["telegram-update-41"] * 2
        await relay.close()
    async with AssistantStandIn(bad_gateway=1) as assistant:  # without an id, sending again could double it
        relay = AssistantRelay(assistant.url, assistant.token, timeout=2, connect_retry_delay=0.01)
        assert [m.text for m in await relay.turn(1, "What is a co-operative?")] == [TROUBLE]
        assert len(assistant.turns) == 1
        await relay.close()
    async with AssistantStandIn(bad_gateway=5) as assistant:  # it gives up, politely
        relay = AssistantRelay(assistant.url, assistant.token, timeout=2, connect_retry_delay=0.01)
        assert [m.text for m in await relay.turn(1, "hi", message_id="telegram-update-42")] == [TROUBLE]
        assert len(assistant.turns) == 3
        await relay.close()


def test_repeated_update_ids_are_recognised_within_memory():
    recent = RecentUpdates(capacity=3)
    assert [recent.first_time(i) for i in (1, 2, 1, 3, 4, 1)] == [True, True, False, True, True, True]
