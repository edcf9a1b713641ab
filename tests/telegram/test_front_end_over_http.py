"""The front end over real HTTP: python-telegram-bot talks to the Bot API stand-in, the relay
talks to the assistant stand-in. Nothing here reaches api.telegram.org or needs Rasa."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time

from tests.support.assistant_stand_in import LONG_PAYLOAD, LONG_TOPIC, AssistantStandIn
from bot.settings import ROOT
from bot.stack import free_port
from bot.telegram import TROUBLE, push_to_chat
from tests.support.bot_api_stand_in import BotApiStandIn
from tests.support.front_end_harness import front_end_for, settings_for, stand_ins_and_front_end
from tests.support.telegram_updates import BOT_TOKEN, BOT_USERNAME, bot_message, callback_update, message_update

CHAT = 424242
GROUP = -100777


async def test_a_question_gets_its_answer_with_the_source_link():
    async with stand_ins_and_front_end() as (api, assistant, _):
        update_id = api.next_update_id()
        api.inject(message_update(update_id, CHAT, "How do I register a co-operative?"))
        [reply] = await api.wait_for_messages(CHAT)
        assert assistant.turns == [
            {
                "sender": f"tg-{CHAT}",
                "message": "How do I register a co-operative?",
                "metadata": {"channel": "telegram", "chat_id": CHAT, "user_name": "Ada Lovelace"},
                "message_id": f"telegram-update-{update_id}",
            }
        ]
        assert reply.params["parse_mode"] == "HTML"
        assert "<b>Registering a co-operative</b>" in reply.params["text"]
        assert "(FCA) &amp; pay a fee; &lt;your rules&gt; must" in reply.params["text"]
        assert reply.params["links"] == ["http://guidance.test/guidance/co-operative-society#registering"]
        assert "Source: Co-operative societies" in reply.params["visible_text"]
        assert api.calls_to("sendChatAction", chat_id=CHAT), "the user sees 'typing…' while waiting"


async def test_a_button_press_is_answered_and_its_payload_relayed():
    async with stand_ins_and_front_end() as (api, assistant, _):
        api.inject(message_update(api.next_update_id(), CHAT, "I'm unsure what to ask"))
        [offer] = await api.wait_for_messages(CHAT)
        rows = offer.params["reply_markup"]["inline_keyboard"]
        assert [row[0]["text"] for row in rows] == ["When a contract ends", "That didn't help", "Talk to an adviser"]
        assert all(len(row[0]["callback_data"].encode()) <= 64 for row in rows)
        assert len(LONG_TOPIC.encode()) > 64 and len(LONG_PAYLOAD.encode()) > 64

        pressed = bot_message(CHAT, "I'm not sure", message_id=123)
        update = api.inject(
            callback_update(api.next_update_id(), CHAT, rows[0][0]["callback_data"], on_message=pressed)
        )
        await api.wait_for_messages(CHAT, 2)
        assert api.calls_to("answerCallbackQuery", callback_query_id=update["callback_query"]["id"])
        assert assistant.turns[-1]["message"] == LONG_TOPIC
        assert "staff may transfer again" in api.sent(CHAT)[-1].params["visible_text"]

        api.inject(callback_update(api.next_update_id(), CHAT, rows[1][0]["callback_data"], on_message=pressed))
        await api.wait_for_messages(CHAT, 3)
        assert assistant.turns[-1]["message"] == LONG_PAYLOAD


async def test_a_long_answer_is_split_at_paragraphs_and_keeps_its_link():
    async with stand_ins_and_front_end() as (api, assistant, _):
        api.inject(message_update(api.next_update_id(), CHAT, "Give me the long version"))
        await api.wait_for(lambda: any("Source" in c.params["visible_text"] for c in api.sent(CHAT)))
        parts = api.sent(CHAT)
        texts = [p.params["visible_text"] for p in parts]
        assert all(len(t) <= 4096 for t in texts) and len(texts) >= 2
        assert all(t.startswith("Part ") or t.startswith("Source") for t in texts)
        assert "".join(texts).count("Co-operatives are owned") == 120
        assert parts[-1].params["links"] == ["http://guidance.test/guidance/co-operative-society"]


async def test_a_429_is_waited_out_and_the_reply_still_arrives():
    async with stand_ins_and_front_end() as (api, assistant, front_end):
        api.misbehave("sendMessage", retry_after=1)
        api.inject(message_update(api.next_update_id(), CHAT, "How do I register a co-operative?"))
        [reply] = await api.wait_for_messages(CHAT)
        [refused] = api.calls_to("sendMessage", outcome="429")
        assert reply.at - refused.at >= 1.0
        assert "Registering a co-operative" in reply.params["visible_text"]
        assert front_end.pacing.waited_for_retry_after >= 1.0


async def test_a_stalled_call_and_a_502_are_tried_again():
    async with stand_ins_and_front_end(read_timeout=0.5) as (api, assistant, _):
        api.misbehave("sendMessage", stall=2)
        api.misbehave("sendMessage", status=502)
        api.inject(message_update(api.next_update_id(), CHAT, "How do I register a co-operative?"))
        [reply] = await api.wait_for_messages(CHAT)
        outcomes = [c.outcome for c in api.calls_to("sendMessage", outcome=None)]
        assert outcomes == ["stalled", "502", "ok"]
        assert "Registering a co-operative" in reply.params["visible_text"]


async def test_an_unreachable_assistant_gets_a_polite_reply():
    async with BotApiStandIn() as api:
        settings = settings_for(api, f"http://127.0.0.1:{free_port()}")
        async with front_end_for(settings) as front_end:
            front_end.relay.connect_retry_delay = 0.05
            api.inject(message_update(api.next_update_id(), CHAT, "Hello?"))
            [reply] = await api.wait_for_messages(CHAT)
            assert reply.params["visible_text"] == TROUBLE


async def test_in_a_group_it_answers_only_when_addressed():
    async with stand_ins_and_front_end() as (api, assistant, _):
        api.inject(message_update(api.next_update_id(), GROUP, "How do I register a co-operative?"))
        api.inject(message_update(api.next_update_id(), GROUP, "/help@some_other_bot"))
        mention = api.inject(
            message_update(api.next_update_id(), GROUP, f"@{BOT_USERNAME} how do I register a co-operative?")
        )
        [reply] = await api.wait_for_messages(GROUP)
        await asyncio.sleep(0.3)
        assert len(api.sent(GROUP)) == 1
        assert [t["message"] for t in assistant.turns] == ["how do I register a co-operative?"]
        assert assistant.turns[0]["sender"] == f"tg-{GROUP}"
        assert reply.params["reply_parameters"]["message_id"] == mention["message"]["message_id"]


async def test_webhook_mode_refuses_requests_without_the_secret_and_drops_repeats():
    async with stand_ins_and_front_end(webhook=True) as (api, assistant, front_end):
        assert api.webhook["url"].startswith("http://127.0.0.1:") and api.webhook["secret_token"]
        assert not api.calls_to("getUpdates"), "no polling in webhook mode"
        update = message_update(9001, CHAT, "How do I register a co-operative?")
        assert await api.deliver(update, secret=None) == 403
        assert await api.deliver(update, secret="wrong") == 403
        assert await api.deliver(update) == 200
        assert await api.deliver(update) == 200  # Telegram sending it again
        await api.wait_for_messages(CHAT)
        await asyncio.sleep(0.3)
        assert len(assistant.turns) == 1 and len(api.sent(CHAT)) == 1
        assert front_end.webhook.duplicates == 1


async def test_push_to_chat_formats_splits_and_names_the_sender():
    async with BotApiStandIn() as api:
        settings = settings_for(api, "")
        text = "Hello, I can help with **asset locks**.\n\n" + ("More detail here. " * 300)
        sent = await push_to_chat(settings, CHAT, text, sender_name="Sam <Adviser>")
        messages = api.sent(CHAT)
        assert len(sent) == len(messages) == 3  # the short first paragraph, then the long one in two
        assert messages[0].params["text"] == "<b>Sam &lt;Adviser&gt;</b>\nHello, I can help with <b>asset locks</b>."
        assert all(len(m.params["visible_text"]) <= 4096 for m in messages)
        assert not any("Sam" in m.params["visible_text"] for m in messages[1:])
        assert " ".join(m.params["visible_text"] for m in messages[1:]).count("More detail here.") == 300


async def test_python_m_bot_telegram_relays_and_stops_on_sigterm(tmp_path):
    async with BotApiStandIn() as api, AssistantStandIn() as assistant:
        env = dict(
            os.environ,
            TELEGRAM_BOT_TOKEN=BOT_TOKEN,
            TELEGRAM_API_BASE_URL=api.base_url,
            MUTUALS_RASA_PORT=str(assistant.port),
            MUTUALS_RELAY_TOKEN=assistant.token,
            MUTUALS_VAR_DIR=str(tmp_path),
            TELEGRAM_WEBHOOK_URL="",
        )
        started = time.monotonic()
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot.telegram",
            cwd=ROOT,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
        )
        try:
            await api.wait_for(lambda: api.calls_to("getUpdates"), timeout=20)
            polling_after = time.monotonic() - started
            api.inject(message_update(api.next_update_id(), CHAT, "How do I register a co-operative?"))
            await api.wait_for_messages(CHAT, timeout=10)
            process.send_signal(signal.SIGTERM)
            code = await asyncio.wait_for(process.wait(), 10)
        finally:
            if process.returncode is None:
                process.kill()
                await process.wait()
        log = (await process.stdout.read()).decode()
        assert code == 0, log
        assert BOT_TOKEN not in log, "the token must never be logged"
        assert "is polling" in log
        print(f"python -m bot.telegram was polling {polling_after:.2f} s after it started")
