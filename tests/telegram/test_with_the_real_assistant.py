"""End to end with the real assistant (Rasa, the action server and the web server from the
``running_stack`` fixture): a Telegram user's question goes through the Bot API stand-in and the
front end to Rasa and back."""

from __future__ import annotations

import time

import pytest

from tests.support.bot_api_stand_in import BotApiStandIn
from tests.support.front_end_harness import front_end_for, settings_for
from tests.support.telegram_updates import message_update

CHAT = 8080808


@pytest.mark.slow
async def test_how_to_register_a_co_operative_is_answered_with_a_guidance_link(running_stack):
    stack_settings = running_stack.settings
    async with BotApiStandIn() as api:
        settings = settings_for(
            api, stack_settings.rasa_url, relay_token=stack_settings.relay_token, telegram_relay_timeout_seconds=30.0
        )
        async with front_end_for(settings) as front_end:
            asked = time.monotonic()
            api.inject(message_update(api.next_update_id(), CHAT, "How do I register a co-operative?"))
            replies = await api.wait_for_messages(CHAT, timeout=60)
            took = time.monotonic() - asked
            links = [link for reply in replies for link in reply.params["links"]]
            assert any("/guidance/" in link for link in links), [r.params["text"] for r in replies]
            assert any(link.startswith(stack_settings.web_url) for link in links)
            assert "Source:" in replies[-1].params["visible_text"]
            assert front_end.relay.url.startswith(stack_settings.rasa_url)

            asked = time.monotonic()
            api.inject(message_update(api.next_update_id(), CHAT, "What is an asset lock?"))
            await api.wait_for_messages(CHAT, len(replies) + 1, timeout=60)
            warm = time.monotonic() - asked
            assert any("/guidance/asset-locks" in link for link in api.sent(CHAT)[-1].params["links"])
    print(f"\nquestion to reply through Telegram and Rasa: first {took * 1000:.0f} ms, second {warm * 1000:.0f} ms")
    print(replies[-1].params["text"])
