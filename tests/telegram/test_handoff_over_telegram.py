"""The handoff loop for a Telegram user: /human, the intake, an adviser's reply pushed to the chat
through python-telegram-bot (to the Bot API stand-in), the person's answer reaching the adviser,
and the hand-back. The adviser's side is the AdviserDesk the console's API calls, in this process,
on the same case store and Rasa server as the running stack."""
from __future__ import annotations

import asyncio

import pytest

from bot.handoff import AdviserDesk, HandoffStore
from bot.telegram import push_to_chat
from bot_api_stand_in import BotApiStandIn
from front_end_harness import front_end_for, settings_for
from telegram_updates import message_update

CHAT = 7070707


def visible(calls):
    return [c.params["visible_text"] for c in calls]


async def say(api, text, expect_replies=1, timeout=60):
    before = len(api.sent(CHAT))
    api.inject(message_update(api.next_update_id(), CHAT, text))
    if expect_replies:
        await api.wait_for_messages(CHAT, before + expect_replies, timeout=timeout)
    return visible(api.sent(CHAT)[before:])


@pytest.mark.slow
async def test_a_telegram_user_is_handed_to_an_adviser_and_back(running_stack):
    stack = running_stack.settings
    store = HandoffStore(stack.handoff_store)
    adviser = store.credentials("tessa@example.org")
    adviser = adviser[0] if adviser else store.add_adviser("Tessa Adviser", "tessa@example.org", "adviser", "x")
    async with BotApiStandIn() as api:
        settings = settings_for(api, stack.rasa_url, relay_token=stack.relay_token,
                                telegram_relay_timeout_seconds=30.0, rasa_token=stack.rasa_token)

        async def push(settings_, chat_id, text, sender_name=None, buttons=None):
            await push_to_chat(settings_, chat_id, text, sender_name=sender_name)

        desk = AdviserDesk(settings, store, telegram_push=push)
        async with front_end_for(settings):
            intake = await say(api, "/human", expect_replies=2)
            assert "adviser" in intake[0].lower()
            await say(api, "How does TUPE protect my pay when we leave the NHS?")
            await say(api, "Priya")
            queued = await say(api, "skip")
            assert "in the queue" in queued[-1], queued

            case = store.open_case_for(f"tg-{CHAT}")
            assert case.channel == "telegram" and case.chat_id == str(CHAT)
            assert case.question == "How does TUPE protect my pay when we leave the NHS?"

            before = len(api.sent(CHAT))
            await desk.reply(case.id, adviser, "Hello Priya: under TUPE your pay transfers unchanged.")
            await api.wait_for_messages(CHAT, before + 2, timeout=30)  # "joined", then the reply
            pushed = visible(api.sent(CHAT)[before:])
            assert any("has joined" in t for t in pushed)
            assert any("Tessa Adviser" in t and "pay transfers unchanged" in t for t in pushed)

            assert await say(api, "Great, and my holidays?", expect_replies=0) == []
            for _ in range(60):
                transcript = await desk.transcript(store.case(case.id))
                if any(t["text"] == "Great, and my holidays?" for t in transcript):
                    break
                await asyncio.sleep(0.25)
            assert ("user", "Great, and my holidays?") in [(t["kind"], t["text"]) for t in transcript]
            await asyncio.sleep(1.0)
            assert len(api.sent(CHAT)) == before + 2  # the bot stayed silent

            await desk.close(case.id, adviser, "answered", ["tupe"])
            await api.wait_for_messages(CHAT, before + 3, timeout=30)
            assert "back with the assistant" in visible(api.sent(CHAT))[-1]
            answered = await say(api, "What is a community interest company?")
            assert any("Source:" in t for t in answered)
        await desk.aclose()
    store.dispose()

test_a_telegram_user_is_handed_to_an_adviser_and_back.timeout = 240
