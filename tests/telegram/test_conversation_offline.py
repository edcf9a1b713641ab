"""Offline unit tests in python-telegram-bot's own style: updates from small factories fed to
``application.process_update``; the bot's requests go to :class:`OfflineRequest` (no network,
fails loudly on anything unexpected) and the assistant is a recording stand-in object."""

from __future__ import annotations

import contextlib
import json
from typing import AsyncIterator, List, Tuple

from telegram import Update

from bot.settings import Settings
from bot.telegram import BotMessage, TelegramFrontEnd
from bot.telegram._wording import BUTTON_EXPIRED, RESTARTED, TEXT_ONLY, UNKNOWN_COMMAND
from tests.support.offline_request import OFFLINE_BASE_URL, OfflineRequest
from tests.support.telegram_updates import (
    BOT_TOKEN,
    BOT_USERNAME,
    bot_message,
    callback_update,
    message,
    message_update,
)

CHAT = 5150
GROUP = -100200300
TOPIC = '/ask_question{"guidance_slug":"when-a-contract-ends-or-the-organisation-fails"}'


class RecordingAssistant:
    """Stands in for :class:`AssistantRelay`: records turns and answers from a script."""

    def __init__(self) -> None:
        self.turns: List[Tuple[int, str, str]] = []
        self.message_ids: List[str] = []
        self.erased: List[int] = []

    async def erase(self, chat_id: int) -> bool:
        self.erased.append(chat_id)
        return True

    async def turn(self, chat_id: int, text: str, user_name: str = "", message_id: str = None) -> List[BotMessage]:
        self.turns.append((chat_id, text, user_name))
        self.message_ids.append(message_id)
        if text == "/restart":
            return []
        if text == "suggest":
            return [
                BotMessage(
                    "Not sure. These topics may be close.",
                    (
                        {"title": "When a contract ends", "payload": TOPIC},
                        {"title": "Talk to an adviser", "payload": "/request_human"},
                    ),
                )
            ]
        return [BotMessage(f"You said: {text}\n\nSource: [A page](https://guidance.test/guidance/a-page)")]

    async def close(self) -> None:
        pass


@contextlib.asynccontextmanager
async def offline_front_end() -> AsyncIterator[Tuple[TelegramFrontEnd, OfflineRequest, RecordingAssistant]]:
    request, assistant = OfflineRequest(), RecordingAssistant()
    settings = Settings.from_env(env={}, telegram_bot_token=BOT_TOKEN, telegram_api_base_url=OFFLINE_BASE_URL)
    front_end = TelegramFrontEnd(settings, relay=assistant, request=request, get_updates_request=OfflineRequest())
    async with front_end.application:  # initialize (getMe) and shutdown; no polling
        yield front_end, request, assistant


async def feed(front_end: TelegramFrontEnd, update: dict) -> None:
    await front_end.application.process_update(Update.de_json(update, front_end.bot))


def texts(request: OfflineRequest) -> List[str]:
    return [params["text"] for params in request.sent()]


async def test_a_private_question_is_relayed_and_answered_in_html():
    async with offline_front_end() as (front_end, request, assistant):
        await feed(front_end, message_update(1, CHAT, "Can a mutual borrow <money> & grow?"))
        assert assistant.turns == [(CHAT, "Can a mutual borrow <money> & grow?", "Ada Lovelace")]
        assert assistant.message_ids == ["telegram-update-1"]  # so the relay may safely send it again
        [sent] = request.sent()
        assert sent["chat_id"] == CHAT and sent["parse_mode"] == "HTML"
        assert sent["text"] == (
            'You said: Can a mutual borrow &lt;money&gt; &amp; grow?\n\n'
            'Source: <a href="https://guidance.test/guidance/a-page">A page</a>'
        )
        assert sent["link_preview_options"] == {"is_disabled": True}
        assert "reply_parameters" not in sent  # private chats need no quoting


async def test_start_and_help_explain_what_it_does():
    async with offline_front_end() as (front_end, request, assistant):
        await feed(front_end, message_update(1, CHAT, "/start"))
        await feed(front_end, message_update(2, CHAT, "/help"))
        welcome, help_text = texts(request)
        assert "Mutuals Assistant" in welcome and "/human" in welcome
        assert f"@{BOT_USERNAME}" in help_text and "/delete_my_data" in help_text
        assert assistant.turns == []


async def test_human_and_restart_speak_to_the_assistant():
    async with offline_front_end() as (front_end, request, assistant):
        await feed(front_end, message_update(1, CHAT, "/human"))
        await feed(front_end, message_update(2, CHAT, "/restart"))
        assert [t[1] for t in assistant.turns] == ["/request_human", "/restart"]
        assert texts(request)[-1] == RESTARTED


async def test_delete_my_data_asks_to_confirm_then_erases_the_chat():
    async with offline_front_end() as (front_end, request, assistant):
        await feed(front_end, message_update(1, CHAT, "/delete_my_data"))
        [asked] = request.sent()
        assert "<b>Deleting your data</b>" in asked["text"] and "30 days" in asked["text"]
        rows = (
            json.loads(asked["reply_markup"])["inline_keyboard"]
            if isinstance(asked["reply_markup"], str)
            else asked["reply_markup"]["inline_keyboard"]
        )
        [confirm], [keep] = rows
        assert confirm["text"] == "Yes, delete my data" and keep["text"] == "No, keep it"
        assert assistant.erased == [] and assistant.turns == []

        await feed(front_end, callback_update(2, CHAT, keep["callback_data"]))
        assert assistant.erased == [] and "nothing has been deleted" in texts(request)[-1]
        someone_else = {"id": 999, "is_bot": False, "first_name": "Eve"}
        await feed(front_end, callback_update(3, CHAT, confirm["callback_data"], from_user=someone_else))
        assert assistant.erased == []
        await feed(front_end, callback_update(4, CHAT, confirm["callback_data"]))
        assert assistant.erased == [CHAT] and "have been deleted" in texts(request)[-1]
        assert assistant.turns == []


async def test_an_unknown_command_and_a_photo_get_a_short_answer():
    async with offline_front_end() as (front_end, request, assistant):
        await feed(front_end, message_update(1, CHAT, "/frobnicate"))
        await feed(
            front_end,
            {
                "update_id": 2,
                "message": message(CHAT, photo=[{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]),
            },
        )
        assert texts(request) == [UNKNOWN_COMMAND, TEXT_ONLY]
        assert assistant.turns == []


async def test_buttons_become_an_inline_keyboard_and_a_press_is_relayed():
    async with offline_front_end() as (front_end, request, assistant):
        await feed(front_end, message_update(1, CHAT, "suggest"))
        [offer] = request.sent()
        rows = offer["reply_markup"]["inline_keyboard"]
        data = [row[0]["callback_data"] for row in rows]
        assert data == ["#t:when-a-contract-ends-or-the-organisation-fails", "/request_human"]
        await feed(front_end, callback_update(2, CHAT, data[0], on_message=bot_message(CHAT, "Not sure.")))
        [answered] = request.sent("answerCallbackQuery")
        assert "text" not in answered
        assert assistant.turns[-1][:2] == (CHAT, TOPIC)


async def test_an_expired_button_says_so_and_relays_nothing():
    async with offline_front_end() as (front_end, request, assistant):
        await feed(front_end, callback_update(1, CHAT, "#k:AAAAAAAAAAAAAAAA"))
        [answered] = request.sent("answerCallbackQuery")
        assert answered["text"] == BUTTON_EXPIRED and answered["show_alert"] is True
        assert assistant.turns == []


async def test_in_a_group_only_messages_addressed_to_the_bot_are_answered():
    async with offline_front_end() as (front_end, request, assistant):
        await feed(front_end, message_update(1, GROUP, "Anyone know about CICs?"))
        await feed(front_end, message_update(2, GROUP, "@someone_else what about CICs?"))
        await feed(front_end, message_update(3, GROUP, "/help@some_other_bot"))
        await feed(front_end, message_update(4, GROUP, "/frobnicate"))
        assert request.sent() == [] and assistant.turns == []

        await feed(front_end, message_update(5, GROUP, f"@{BOT_USERNAME.upper()} what is a CIC?", message_id=77))
        await feed(front_end, message_update(6, GROUP, "And a co-op?", reply_to=bot_message(GROUP, "A CIC is...")))
        await feed(front_end, message_update(7, GROUP, f"/help@{BOT_USERNAME}"))
        assert [t[1] for t in assistant.turns] == ["what is a CIC?", "And a co-op?"]
        assert all(t[0] == GROUP for t in assistant.turns)
        first, second, help_text = request.sent()
        assert first["reply_parameters"]["message_id"] == 77
        assert "How to use me" in help_text["text"]


async def test_edited_messages_are_ignored():
    async with offline_front_end() as (front_end, request, assistant):
        await feed(front_end, {"update_id": 1, "edited_message": dict(message(CHAT, "typo"), edit_date=1)})
        assert request.sent() == [] and assistant.turns == []


async def test_the_offline_request_fails_loudly_on_a_real_host():
    request = OfflineRequest()
    try:
        await request.do_request("https://api.telegram.org/botX/getMe", "POST")
    except AssertionError as exc:
        assert "offline" in str(exc)
    else:
        raise AssertionError("OfflineRequest let a real host through")
