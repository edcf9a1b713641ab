"""The handoff loop for a Telegram user: /human, the intake, an adviser's reply pushed to the chat
through python-telegram-bot (to the Bot API stand-in), the person's answer reaching the adviser,
and the hand-back with its rating buttons, one of them pressed. The adviser's side is the
AdviserDesk the web server builds for the console (``create_app``, with the product's Telegram
push), in this process, on the same case store and Rasa server as the running stack."""

from __future__ import annotations

import asyncio

import pytest

from bot.console._routes import DESK_KEY, STORE_KEY
from bot.handoff import HandoffStore
from bot.web.app import create_app
from tests.support.bot_api_stand_in import BotApiStandIn
from tests.support.front_end_harness import front_end_for, settings_for
from tests.support.telegram_updates import callback_update, message_update

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
        settings = settings_for(
            api,
            stack.rasa_url,
            relay_token=stack.relay_token,
            telegram_relay_timeout_seconds=30.0,
            rasa_token=stack.rasa_token,
            handoff_store_url=stack.handoff_store,
        )
        web_app = create_app(settings)  # the console's desk, as the web server makes it
        desk = web_app[DESK_KEY]
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
            hand_back = api.sent(CHAT)[-1].params
            assert "back with the assistant" in hand_back["visible_text"]
            assert "from 1 (not at all) to 5 (very)" in hand_back["visible_text"]
            keyboard = hand_back["reply_markup"]["inline_keyboard"]
            assert [button["text"] for row in keyboard for button in row] == ["1", "2", "3", "4", "5"]

            four = keyboard[3][0]["callback_data"]  # the person presses 4
            before = len(api.sent(CHAT))
            api.inject(callback_update(api.next_update_id(), CHAT, four))
            await api.wait_for_messages(CHAT, before + 1, timeout=60)
            assert "Thank you for rating the help you had" in visible(api.sent(CHAT))[-1]
            assert store.case(case.id).rating == 4

            answered = await say(api, "What is a community interest company?")
            assert any("Source:" in t for t in answered)
        await desk.aclose()
        web_app[STORE_KEY].dispose()
    store.dispose()


test_a_telegram_user_is_handed_to_an_adviser_and_back.timeout = 240
